"""A typed client for the sandrun server's HTTP API, sync (`Client`) and
async (`AsyncClient`), with the same methods on both.

    from sandrun_client import Client

    with Client("http://127.0.0.1:8080") as sandrun:
        task = sandrun.run(code="print(6 * 7)")
        print(task.result.stdout)
"""

from .client import AsyncClient, Client
from .decode import DecodeError
from .errors import (
    BodyTimeout,
    Conflict,
    Gone,
    InternalError,
    MalformedRequest,
    NotFound,
    QueueFull,
    RangeNotSatisfiable,
    SandrunError,
    TooLarge,
    TooMany,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
    ValidationError,
)
from .events import (
    EndEvent,
    LogEvent,
    OtherEvent,
    ProgressEvent,
    StatusEvent,
    StderrEvent,
    StdoutEvent,
    TaskEvent,
)
from .models import (
    ArtifactInfo,
    Limits,
    LogLevel,
    LogLine,
    ModuleInfo,
    Node,
    NodeStatus,
    Outcome,
    Readiness,
    RuntimeInfo,
    Session,
    SessionPage,
    SessionStart,
    SessionStatus,
    Task,
    TaskPage,
    TaskResult,
    TaskStatus,
)
from .payloads import Base64, Blob, RunOptions, SessionQuery, SessionRequest, TaskQuery, TaskRequest

__all__ = [
    "ArtifactInfo",
    "AsyncClient",
    "Base64",
    "Blob",
    "Client",
    "Conflict",
    "DecodeError",
    "BodyTimeout",
    "EndEvent",
    "Gone",
    "InternalError",
    "Limits",
    "LogEvent",
    "LogLevel",
    "LogLine",
    "MalformedRequest",
    "ModuleInfo",
    "Node",
    "NodeStatus",
    "NotFound",
    "OtherEvent",
    "Outcome",
    "ProgressEvent",
    "QueueFull",
    "RangeNotSatisfiable",
    "Readiness",
    "RuntimeInfo",
    "RunOptions",
    "SandrunError",
    "Session",
    "SessionPage",
    "SessionQuery",
    "SessionRequest",
    "SessionStart",
    "SessionStatus",
    "StatusEvent",
    "StderrEvent",
    "StdoutEvent",
    "Task",
    "TaskEvent",
    "TaskPage",
    "TaskQuery",
    "TaskRequest",
    "TaskResult",
    "TaskStatus",
    "TooLarge",
    "TooMany",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "ValidationError",
]
