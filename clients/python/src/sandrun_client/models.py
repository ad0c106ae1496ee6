"""What the server answers, as frozen dataclasses.

They mirror the wire types of the server's `api` crate field by field, so
that a field's meaning is documented once, there; `decode` builds them from
JSON, ignoring fields this version does not know yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypedDict, TypeVar

T_co = TypeVar("T_co", covariant=True)


class TaskStatus(StrEnum):
    WAITING = "waiting"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """A task in this status will never change again."""
        return self not in (TaskStatus.WAITING, TaskStatus.QUEUED, TaskStatus.RUNNING)


class Outcome(StrEnum):
    """Why a run stopped."""

    SUCCEEDED = "succeeded"
    EXITED = "exited"
    OUT_OF_FUEL = "out_of_fuel"
    TIMED_OUT = "timed_out"
    MEMORY_EXCEEDED = "memory_exceeded"
    TRAPPED = "trapped"
    CANCELLED = "cancelled"
    INVALID_MODULE = "invalid_module"
    HOST_CALLS_EXCEEDED = "host_calls_exceeded"
    STATE_EXCEEDED = "state_exceeded"


class SessionStatus(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    ENDED = "ended"


class SessionStart(StrEnum):
    """Where a session's run found the session: `NEW` (its first run, or
    the first after a restart), `LIVE` (kept in memory by the node), or
    `STORED` (resumed from the database)."""

    NEW = "new"
    LIVE = "live"
    STORED = "stored"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class NodeStatus(StrEnum):
    ALIVE = "alive"
    DEAD = "dead"


class Limits(TypedDict, total=False):
    """The limits a task asks for (a key left out takes the server's
    default), and in a result the ones it ran under, every key set."""

    fuel: int
    memory_bytes: int
    timeout_ms: int
    stdout_bytes: int
    stderr_bytes: int
    open_files: int
    host_calls: int
    host_call_bytes: int
    disk_bytes: int
    results: int
    result_bytes: int
    artifacts: int
    artifact_bytes: int


@dataclass(frozen=True)
class LogLine:
    level: LogLevel
    message: str
    at_ms: float


@dataclass(frozen=True)
class ArtifactInfo:
    """A file a run left under `/output`; `Client.artifact` downloads it."""

    path: str
    size: int
    sha256: str
    media_type: str


@dataclass(frozen=True)
class TaskResult:
    """Everything recorded about one run of a task."""

    outcome: Outcome
    exit_code: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    fuel_used: int
    wall_time_ms: float
    peak_memory_bytes: int
    limits: Limits
    message: str | None = None
    output: Any = None
    logs: list[LogLine] = field(default_factory=list)
    progress: float | None = None
    value: str | None = None
    rolled_back: bool = False
    session_start: SessionStart | None = None
    disk_exceeded: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)
    results_truncated: bool = False
    artifacts: list[ArtifactInfo] = field(default_factory=list)
    artifacts_truncated: bool = False


@dataclass(frozen=True)
class Task:
    id: str
    status: TaskStatus
    runtime: str
    priority: int
    labels: dict[str, str]
    attempt: int
    max_attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: TaskResult | None = None
    error: str | None = None
    progress: float | None = None
    session_id: str | None = None
    session_run: int | None = None
    #: The batch it was submitted in (`submit_batch`), if any.
    batch_id: str | None = None


class Page(Protocol[T_co]):
    """What `iter_tasks` and the other `iter_` methods page through."""

    @property
    def items(self) -> Sequence[T_co]: ...

    @property
    def next_cursor(self) -> str | None: ...


@dataclass(frozen=True)
class TaskPage:
    """One page of tasks, newest first; `next_cursor` is None on the last."""

    tasks: list[Task]
    next_cursor: str | None = None

    @property
    def items(self) -> list[Task]:
        return self.tasks


@dataclass(frozen=True)
class Session:
    id: str
    status: SessionStatus
    runtime: str
    labels: dict[str, str]
    limits: Limits
    memory_bytes: int
    max_state_bytes: int
    idle_timeout: int
    ttl: int
    created_at: datetime
    expires_at: datetime
    state_bytes: int
    runs: int
    kv_namespace: str | None = None
    last_run_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    forked_from: str | None = None


@dataclass(frozen=True)
class SessionPage:
    """One page of sessions, newest first; `next_cursor` is None on the last."""

    sessions: list[Session]
    next_cursor: str | None = None

    @property
    def items(self) -> list[Session]:
        return self.sessions


@dataclass(frozen=True)
class ModuleInfo:
    hash: str
    size: int
    created_at: datetime
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuntimeInfo:
    name: str
    description: str
    ready: bool


@dataclass(frozen=True)
class Node:
    id: str
    status: NodeStatus
    address: str
    slots: int
    running: int
    started_at: datetime
    last_heartbeat: datetime


@dataclass(frozen=True)
class Readiness:
    database: bool
    runtimes: bool

    @property
    def ready(self) -> bool:
        """What `/readyz` answers 200 for."""
        return self.database and self.runtimes
