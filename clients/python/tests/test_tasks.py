"""Submitting, waiting, reading, cancelling and deleting tasks, with the sync client."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from sandrun_client import Client, Conflict, NotFound, Outcome, RangeNotSatisfiable, Task, TaskStatus

GUEST = """
import os, sys, sandrun
data = open('/input/data.bin', 'rb').read()
print(sys.argv[1:], os.environ['GREETING'], sys.stdin.read(), list(data))
sandrun.output({'doubled': sandrun.input()['n'] * 2})
sandrun.display('shown')
"""


def test_run_sends_every_part_of_a_request_and_returns_the_result(client: Client, unique: str) -> None:
    task = client.run(
        code=GUEST,
        args=["a", "b"],
        env={"GREETING": "hello"},
        stdin=b"piped",
        files={"data.bin": bytes([0, 255, 7])},
        input={"n": 21},
        labels={"case": unique},
        priority=3,
        max_attempts=2,
        limits={"timeout_ms": 10_000, "disk_bytes": 1 << 20},
    )
    assert task.status is TaskStatus.SUCCEEDED, task
    assert task.runtime == "python"
    assert (task.labels, task.priority, task.max_attempts, task.attempt) == ({"case": unique}, 3, 2, 1)
    assert task.result is not None
    assert task.result.stdout == "['a', 'b'] hello piped [0, 255, 7]\n"
    assert task.result.output == {"doubled": 42}
    assert task.result.outcome is Outcome.SUCCEEDED and task.result.exit_code == 0
    assert task.result.limits["timeout_ms"] == 10_000
    assert task.result.limits["disk_bytes"] == 1 << 20
    assert task.result.results == [{"text/plain": "'shown'"}]
    assert not task.result.results_truncated and not task.result.disk_exceeded
    assert task.started_at is not None and task.finished_at is not None
    assert task.created_at <= task.started_at <= task.finished_at
    assert client.get(task.id) == task


def test_run_waits_again_past_the_servers_cap_and_submit_does_not(client: Client) -> None:
    slow = "import time\ntime.sleep(2.5)\nprint('late')"
    started = time.monotonic()
    cut_short = client.submit(code=slow, wait=30)
    assert time.monotonic() - started < 2.0, "the server caps a wait at 1 s"
    assert cut_short.status is TaskStatus.RUNNING, cut_short
    task = client.run(code=slow)
    assert task.status is TaskStatus.SUCCEEDED, task
    assert task.result is not None and task.result.stdout == "late\n"


def test_a_failing_guest_is_a_result(client: Client) -> None:
    task = client.run(code="import sys\nprint('bye', file=sys.stderr)\nsys.exit(3)")
    assert task.status is TaskStatus.FAILED
    assert task.result is not None
    assert (task.result.outcome, task.result.exit_code, task.result.stderr) == (Outcome.EXITED, 3, "bye\n")


def test_cancel_stops_a_running_task_and_an_ended_one_conflicts(
    client: Client, ended: Callable[[str], Task]
) -> None:
    task = client.submit(code="while True:\n    pass")
    while client.get(task.id).status is TaskStatus.QUEUED:
        time.sleep(0.02)
    stopping = client.cancel(task.id)
    assert stopping.id == task.id and stopping.status is TaskStatus.RUNNING
    assert ended(task.id).status is TaskStatus.CANCELLED
    with pytest.raises(Conflict) as refused:
        client.cancel(task.id)
    assert (refused.value.status, refused.value.type) == (409, "urn:sandrun:problem:conflict")
    assert "already ended" in refused.value.detail


def test_delete_removes_an_ended_task_but_not_a_running_one(client: Client) -> None:
    done = client.run(code="print(1)")
    assert client.delete(done.id) is None
    with pytest.raises(NotFound):
        client.get(done.id)
    with pytest.raises(NotFound):
        client.delete(done.id)
    running = client.submit(code="import time\ntime.sleep(30)")
    with pytest.raises(Conflict):
        client.delete(running.id)
    client.cancel(running.id)


def test_artifacts_are_listed_and_downloaded_whole_or_by_range(client: Client) -> None:
    code = "import os\nos.makedirs('/output/out dir')\nopen('/output/out dir/n.txt', 'w').write('0123456789')"
    task = client.run(code=code)
    assert task.result is not None and not task.result.artifacts_truncated
    (listed,) = client.artifacts(task.id)
    assert listed == task.result.artifacts[0]
    assert (listed.path, listed.size, listed.media_type) == ("out dir/n.txt", 10, "text/plain")
    assert client.artifact(task.id, "out dir/n.txt") == b"0123456789"
    assert client.artifact(task.id, "out dir/n.txt", range="bytes=2-4") == b"234"
    with pytest.raises(RangeNotSatisfiable):
        client.artifact(task.id, "out dir/n.txt", range="bytes=20-")
    with pytest.raises(NotFound):
        client.artifact(task.id, "missing.txt")
