"""Every endpoint of the API, written once, as a plan (see `plan`) that
`Client` and `AsyncClient` both drive.

The plans take `self` only to be methods: they need nothing from the client.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Unpack
from urllib.parse import quote

import httpx

from .decode import decode
from .errors import error_for
from .models import ArtifactInfo, ModuleInfo, Node, Readiness, RuntimeInfo, Session, SessionPage, Task, TaskPage
from .payloads import (
    RunOptions,
    SessionQuery,
    SessionRequest,
    TaskQuery,
    TaskRequest,
    encode_query,
    encode_session,
    encode_task,
)
from .plan import Call, Plan, answer, operation, pages

RUN_WAIT = 60.0
"""What `run` asks each `?wait=` for: the server's default cap. A server
with a lower cap answers sooner and `run` asks again."""


def _at(root: str, id: str, *rest: str) -> str:
    return "/".join([root, quote(id, safe=""), *rest])


def _task(task_id: str, *rest: str) -> str:
    return _at("/v1/tasks", task_id, *rest)


def _session(session_id: str, *rest: str) -> str:
    return _at("/v1/sessions", session_id, *rest)


def _submit(path: str, body: dict[str, Any], wait: float | None) -> Call:
    params = {} if wait is None else {"wait": wait}
    return Call("POST", path, params=params, json=body, hold=wait or 0.0)


def _until_ended(path: str, body: dict[str, Any]) -> Plan[Task]:
    """Submit `body` to `path` and wait until the task it queues ends, however
    long that is.

    Each wait the server cuts short at its cap is asked again with the same
    body under the same idempotency key, which answers the task already
    submitted rather than a new one.
    """
    body = {"idempotency_key": f"run-{uuid.uuid4()}", **body}
    while True:
        task = answer(Task, (yield _submit(path, body, RUN_WAIT)))
        if task.status.is_terminal:
            return task


def events_call(task_id: str) -> Call:
    """The request for a task's event stream, which the clients read line by line."""
    return Call("GET", _task(task_id, "events"), headers={"accept": "text/event-stream"})


class Operations:
    """The API, endpoint by endpoint. (`list` comes last, with only
    `iter_tasks` after it: after it, `list` in this class's annotations
    would mean the method.)"""

    @operation
    def submit(self, *, wait: float | None = None, **request: Unpack[TaskRequest]) -> Plan[Task]:
        """Queue a task. With `wait`, the server answers once the task ends or
        `wait` seconds pass (capped by its `--max-wait`), whichever is first."""
        return answer(Task, (yield _submit("/v1/tasks", encode_task(request), wait)))

    @operation
    def run(self, **request: Unpack[TaskRequest]) -> Plan[Task]:
        """Submit and wait until the task ends, however long that is, asking
        again (for the same task) whenever the server cuts a wait short."""
        return (yield from _until_ended("/v1/tasks", encode_task(request)))

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
    def artifacts(self, task_id: str) -> Plan[list[ArtifactInfo]]:
        """The files the task's run left under `/output`, by path."""
        call = Call("GET", _task(task_id, "artifacts"))
        return answer(list[ArtifactInfo], (yield call), "artifacts")

    @operation
    def artifact(self, task_id: str, path: str, *, range: str | None = None) -> Plan[bytes]:
        """The bytes of the task's artifact at `path`; with `range` (an HTTP
        byte range such as `bytes=0-99`), only those bytes."""
        headers = {} if range is None else {"range": range}
        at = _task(task_id, "artifacts", quote(path, safe="/"))
        response = yield Call("GET", at, headers=headers)
        if response.is_error:
            raise error_for(response)
        return response.content

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
    def open_session(self, **request: Unpack[SessionRequest]) -> Plan[Session]:
        """Open a session: Python whose variables, imports and `/tmp` files
        outlive each run. A server at its most open sessions raises `TooMany`."""
        return answer(Session, (yield Call("POST", "/v1/sessions", json=encode_session(request))))

    @operation
    def session(self, session_id: str) -> Plan[Session]:
        return answer(Session, (yield Call("GET", _session(session_id))))

    @operation
    def sessions(self, **query: Unpack[SessionQuery]) -> Plan[SessionPage]:
        """One page of sessions, newest first; pass its `next_cursor` as
        `cursor` for the next (or use `iter_sessions`, which does)."""
        return answer(SessionPage, (yield Call("GET", "/v1/sessions", params=encode_query(query))))

    @operation
    def delete_session(self, session_id: str) -> Plan[Session]:
        """Delete a session, open or ended, and its state (a queued run is
        cancelled, a running one stopped; its runs stay readable as tasks),
        answering it as it was, ended; afterwards it is `NotFound`."""
        return answer(Session, (yield Call("DELETE", _session(session_id))))

    @operation
    def fork_session(self, session_id: str) -> Plan[Session]:
        """A new session with a copy of this one's settings and state (as its
        last run that ended well left it); the two share nothing from then on."""
        return answer(Session, (yield Call("POST", _session(session_id, "fork"))))

    @operation
    def restart_session(self, session_id: str) -> Plan[Session]:
        """Forget the session's state: its next run starts from a fresh
        interpreter and an empty `/tmp`, with the same settings."""
        return answer(Session, (yield Call("POST", _session(session_id, "restart"))))

    @operation
    def submit_run(
        self, session_id: str, code: str, *, wait: float | None = None, **options: Unpack[RunOptions]
    ) -> Plan[Task]:
        """Queue a run of `code` in the session, after the runs queued before
        it; `wait` as for `submit`. The run is a task: `get`, `events` and
        `cancel` take its id. An ended session raises `Gone`."""
        body = {"code": code, **options}
        return answer(Task, (yield _submit(_session(session_id, "runs"), body, wait)))

    @operation
    def run_in_session(self, session_id: str, code: str, **options: Unpack[RunOptions]) -> Plan[Task]:
        """`submit_run`, waiting until the run ends as `run` waits for a task.
        The result's `value` is the `repr` of the code's trailing expression;
        `rolled_back` says a limit left the session as it was before the run."""
        return (yield from _until_ended(_session(session_id, "runs"), {"code": code, **options}))

    @operation
    def session_runs(self, session_id: str, **query: Unpack[TaskQuery]) -> Plan[TaskPage]:
        """One page of the session's runs, newest first, filtered as `list`
        filters tasks (or use `iter_session_runs`)."""
        params = encode_query(query)
        return answer(TaskPage, (yield Call("GET", _session(session_id, "runs"), params=params)))

    iter_sessions = pages(sessions, "Every session the filters match, newest first, page after page.")
    iter_session_runs = pages(session_runs, "Every run of the session the filters match, newest first.")

    @operation
    def list(self, **query: Unpack[TaskQuery]) -> Plan[TaskPage]:
        """One page of tasks, newest first; pass its `next_cursor` as `cursor`
        for the next (or use `iter_tasks`, which does)."""
        return answer(TaskPage, (yield Call("GET", "/v1/tasks", params=encode_query(query))))

    iter_tasks = pages(list, "Every task the filters match, newest first, page after page.")
