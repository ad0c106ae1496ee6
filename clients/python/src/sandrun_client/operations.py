"""Every endpoint of the API, written once, as a plan (see `plan`) that
`Client` and `AsyncClient` both drive.

The plans take `self` only to be methods: they need nothing from the client.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Unpack
from urllib.parse import quote

import httpx

from .decode import decode
from .errors import error_for
from .models import ModuleInfo, Node, Readiness, RuntimeInfo, Task, TaskPage
from .payloads import TaskQuery, TaskRequest, encode_query, encode_task
from .plan import Call, Plan, answer, operation

RUN_WAIT = 60.0
"""What `run` asks each `?wait=` for: the server's default cap. A server
with a lower cap answers sooner and `run` asks again."""


def _task(task_id: str, *rest: str) -> str:
    return "/".join(["/v1/tasks", quote(task_id, safe=""), *rest])


def _submit(body: dict[str, object], wait: float | None) -> Call:
    params = {} if wait is None else {"wait": wait}
    return Call("POST", "/v1/tasks", params=params, json=body, hold=wait or 0.0)


def next_query(query: TaskQuery, page: TaskPage) -> TaskQuery | None:
    """The query for the page after `page`, None after the last."""
    return None if page.next_cursor is None else {**query, "cursor": page.next_cursor}


def events_call(task_id: str) -> Call:
    """The request for a task's event stream, which the clients read line by line."""
    return Call("GET", _task(task_id, "events"), headers={"accept": "text/event-stream"})


class Operations:
    """The API, endpoint by endpoint. (`list` comes last: after it, `list` in
    this class's annotations would mean the method.)"""

    @operation
    def submit(self, *, wait: float | None = None, **request: Unpack[TaskRequest]) -> Plan[Task]:
        """Queue a task. With `wait`, the server answers once the task ends or
        `wait` seconds pass (capped by its `--max-wait`), whichever is first."""
        return answer(Task, (yield _submit(encode_task(request), wait)))

    @operation
    def run(self, **request: Unpack[TaskRequest]) -> Plan[Task]:
        """Submit and wait until the task ends, however long that is.

        Each wait the server cuts short at its cap is asked again with the same
        request under the same idempotency key, which answers the task already
        submitted rather than a new one.
        """
        body = encode_task({"idempotency_key": f"run-{uuid.uuid4()}", **request})
        while True:
            task = answer(Task, (yield _submit(body, RUN_WAIT)))
            if task.status.is_terminal:
                return task

    @operation
    def submit_batch(self, tasks: Iterable[TaskRequest]) -> Plan[list[Task]]:
        """Queue tasks in one transaction: all of them, or (with an error) none."""
        body = {"tasks": [encode_task(t) for t in tasks]}
        return answer(list[Task], (yield Call("POST", "/v1/batches", json=body)), "tasks")

    @operation
    def get(self, task_id: str) -> Plan[Task]:
        return answer(Task, (yield Call("GET", _task(task_id))))

    @operation
    def cancel(self, task_id: str) -> Plan[Task]:
        """Cancel a task: a queued one ends at once, a running one is being
        stopped (its status says which). An ended task raises `Conflict`."""
        return answer(Task, (yield Call("POST", _task(task_id, "cancel"))))

    @operation
    def delete(self, task_id: str) -> Plan[None]:
        """Delete an ended task and its output; one not ended raises `Conflict`."""
        response = yield Call("DELETE", _task(task_id))
        if response.is_error:
            raise error_for(response)

    @operation
    def upload_module(
        self, wasm: bytes, *, name: str | None = None, version: str | None = None
    ) -> Plan[ModuleInfo]:
        """Upload a wasm32-wasip1 module, validated and linked by the server now;
        with `name` and `version`, also name it `name@version`."""
        params = {k: v for k, v in (("name", name), ("version", version)) if v is not None}
        headers = {"content-type": "application/wasm"}
        call = Call("POST", "/v1/modules", params=params, content=wasm, headers=headers)
        return answer(ModuleInfo, (yield call))

    @operation
    def modules(self) -> Plan[list[ModuleInfo]]:
        return answer(list[ModuleInfo], (yield Call("GET", "/v1/modules")), "modules")

    @operation
    def module(self, hash: str) -> Plan[ModuleInfo]:
        return answer(ModuleInfo, (yield Call("GET", f"/v1/modules/{quote(hash, safe='')}")))

    @operation
    def runtimes(self) -> Plan[list[RuntimeInfo]]:
        return answer(list[RuntimeInfo], (yield Call("GET", "/v1/runtimes")), "runtimes")

    @operation
    def nodes(self) -> Plan[list[Node]]:
        """The nodes sharing the server's queue, oldest first."""
        return answer(list[Node], (yield Call("GET", "/v1/nodes")), "nodes")

    @operation
    def health(self) -> Plan[Readiness]:
        """Whether the database answers and the runtimes are loaded. A server
        that is not ready answers 503 with the same body, which is no error here."""
        response = yield Call("GET", "/readyz")
        not_ready = response.status_code == httpx.codes.SERVICE_UNAVAILABLE
        if not_ready and response.headers.get("content-type") == "application/json":
            return decode(Readiness, response.json())
        return answer(Readiness, response)

    @operation
    def list(self, **query: Unpack[TaskQuery]) -> Plan[TaskPage]:
        """One page of tasks, newest first; pass its `next_cursor` as `cursor`
        for the next (or use `iter_tasks`, which does)."""
        return answer(TaskPage, (yield Call("GET", "/v1/tasks", params=encode_query(query))))
