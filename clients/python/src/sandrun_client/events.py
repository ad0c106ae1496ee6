"""A task's Server-Sent Events, typed, and the parser that reads them.

The parser is fed one line at a time and knows nothing of I/O, so the sync
and the async client read the same stream through the same code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .decode import decode
from .models import LogLine, Task, TaskStatus


@dataclass(frozen=True)
class StatusEvent:
    """The task moved to `status`."""

    status: TaskStatus
    attempt: int
    #: When it moved; `None` from a server older than this field.
    at: datetime | None = None


@dataclass(frozen=True)
class StdoutEvent:
    text: str


@dataclass(frozen=True)
class StderrEvent:
    text: str


@dataclass(frozen=True)
class LogEvent:
    line: LogLine


@dataclass(frozen=True)
class ProgressEvent:
    value: float


@dataclass(frozen=True)
class EndEvent:
    """Always the last event: the task as it ended."""

    task: Task


@dataclass(frozen=True)
class OtherEvent:
    """An event this client does not know yet (a newer server's), kept as sent."""

    event: str
    data: Any


TaskEvent = StatusEvent | StdoutEvent | StderrEvent | LogEvent | ProgressEvent | EndEvent | OtherEvent

_KINDS: dict[str, type[TaskEvent]] = {
    "status": StatusEvent,
    "stdout": StdoutEvent,
    "stderr": StderrEvent,
    "log": LogEvent,
    "progress": ProgressEvent,
    "end": EndEvent,
}


class EventReader:
    """Turns the lines of an SSE stream into `TaskEvent`s.

    `ended` turns true with the `end` event, so a reader stops there rather
    than waiting for the server to close the connection.
    """

    def __init__(self) -> None:
        self._name = "message"
        self._data: list[str] = []
        self.ended = False

    def feed(self, line: str) -> TaskEvent | None:
        """The event that `line` completes, if it completes one."""
        if line == "":
            return self._dispatch()
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._name = value
        elif name == "data":
            self._data.append(value)
        # Comments (`:` lines, the keep-alives), `id` and `retry` carry nothing here.
        return None

    def _dispatch(self) -> TaskEvent | None:
        name, data = self._name, self._data
        self._name, self._data = "message", []
        if not data:
            return None
        payload = json.loads("\n".join(data))
        self.ended = name == "end"
        kind = _KINDS.get(name)
        if kind is None:
            return OtherEvent(name, payload)
        return decode(kind, payload)
