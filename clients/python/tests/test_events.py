"""A task's event stream, with the sync client, and the SSE parser alone."""

from __future__ import annotations

import pytest

from sandrun_client import (
    Client,
    EndEvent,
    LogEvent,
    LogLevel,
    NotFound,
    OtherEvent,
    ProgressEvent,
    StatusEvent,
    StderrEvent,
    StdoutEvent,
    TaskStatus,
)
from sandrun_client.events import EventReader

STREAMING = """
import sys, time, sandrun
for i in range(6):
    print(i, flush=True)
    time.sleep(0.02)
sandrun.log('warn', 'careful')
sandrun.progress(0.5)
print('oops', file=sys.stderr)
"""


def test_events_stream_output_in_order_and_end_with_the_task(client: Client) -> None:
    task = client.submit(code=STREAMING)
    events = list(client.events(task.id))
    statuses = [e.status for e in events if isinstance(e, StatusEvent)]
    assert statuses == [TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.SUCCEEDED], events
    assert "".join(e.text for e in events if isinstance(e, StdoutEvent)) == "".join(f"{i}\n" for i in range(6))
    assert [e.text for e in events if isinstance(e, StderrEvent)] == ["oops\n"]
    (log,) = [e.line for e in events if isinstance(e, LogEvent)]
    assert (log.level, log.message) == (LogLevel.WARN, "careful")
    assert [e.value for e in events if isinstance(e, ProgressEvent)] == [0.5]
    end = events[-1]
    assert isinstance(end, EndEvent) and isinstance(events[-2], StatusEvent)
    assert end.task.id == task.id and end.task.status is TaskStatus.SUCCEEDED
    assert end.task.result is not None and end.task.result.stderr == "oops\n"
    assert list(client.events(task.id)) == events, "a late subscriber gets the whole history"


def test_events_of_a_missing_task_raise_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as missing:
        next(client.events("no-such-task"))
    assert missing.value.status == 404 and missing.value.field is None


def test_the_reader_skips_comments_joins_data_lines_and_keeps_unknown_events() -> None:
    reader = EventReader()
    lines = [": keep-alive", "", "event: stdout", 'data: {"event": "stdout",', 'data: "text": "hi"}', "id: 7", ""]
    lines += ["event: novel", "data: [1, 2]", "", "data: {}", ""]
    assert [e for line in lines if (e := reader.feed(line)) is not None] == [
        StdoutEvent("hi"),
        OtherEvent("novel", [1, 2]),
        OtherEvent("message", {}),
    ]
