"""What a caller sends: task, session and run requests and list filters, as
TypedDicts.

TypedDicts rather than classes because a request is written as keyword
arguments (`client.run(code="print(1)")`) or a dict literal (one per task of
a batch) and sent as the JSON it already is. The encoders only add what the
wire needs: the default runtime, bytes as text or base64, times in UTC.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict, cast

from .models import Limits, SessionStatus, TaskStatus


class Base64(TypedDict):
    base64: str


Blob = str | bytes | Base64
"""Bytes for the guest: text as it is, `bytes` sent as text when they are
UTF-8 and as base64 otherwise, or base64 already encoded."""


class TaskRequest(TypedDict, total=False):
    """A task, as the server's `TaskRequest`; `runtime` defaults to `wasm`
    when a `module` is given and to `python` otherwise."""

    runtime: Literal["python", "wasm"] | str
    code: str
    module: str
    stdin: Blob
    args: Sequence[str]
    env: Mapping[str, str]
    files: Mapping[str, Blob]
    input: Any
    kv_namespace: str
    limits: Limits
    priority: int
    labels: Mapping[str, str]
    idempotency_key: str
    max_attempts: int


class TaskQuery(TypedDict, total=False):
    """Filters for listing tasks; `label` is `key=value`."""

    status: TaskStatus | str
    runtime: str
    label: str
    #: Only the tasks of this batch (their `batch_id`).
    batch: str
    created_after: datetime | str
    created_before: datetime | str
    limit: int
    cursor: str


class SessionRequest(TypedDict, total=False):
    """A session to open, as the server's `SessionRequest`. `limits` are each
    run's defaults (without `memory_bytes`: that is the session's own
    `memory_bytes`); `idle_timeout` and `ttl` are in seconds."""

    runtime: Literal["python"] | str
    env: Mapping[str, str]
    files: Mapping[str, Blob]
    kv_namespace: str
    labels: Mapping[str, str]
    limits: Limits
    memory_bytes: int
    max_state_bytes: int
    idle_timeout: int
    ttl: int


class RunOptions(TypedDict, total=False):
    """A session run's fields beside its code (the server's `RunRequest`):
    `limits` over the session's (not `memory_bytes`)."""

    input: Any
    limits: Limits
    idempotency_key: str


class SessionQuery(TypedDict, total=False):
    """Filters for listing sessions; `label` is `key=value`."""

    status: SessionStatus | str
    label: str
    limit: int
    cursor: str


def encode_task(request: TaskRequest) -> dict[str, Any]:
    """`request` as the JSON body the server takes."""
    return _encode({"runtime": "wasm" if "module" in request else "python", **request})


def encode_session(request: SessionRequest) -> dict[str, Any]:
    """`request` as the JSON body the server takes."""
    return _encode({**request})


def _encode(body: dict[str, Any]) -> dict[str, Any]:
    """A request's fields as JSON: blobs as text or base64, and any sequence
    or mapping as JSON's arrays and objects."""
    if "stdin" in body:
        body["stdin"] = encode_blob(body["stdin"])
    if "files" in body:
        body["files"] = {name: encode_blob(blob) for name, blob in body["files"].items()}
    for key, convert in (("args", list), ("env", dict), ("labels", dict)):
        if key in body:
            body[key] = convert(body[key])
    return body


def encode_blob(blob: Blob) -> str | Base64:
    if not isinstance(blob, bytes):
        return blob
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(blob).decode("ascii")}


def encode_query(query: TaskQuery | SessionQuery) -> dict[str, str | int]:
    """`query` as URL parameters, times as the server reads them: RFC 3339 in UTC."""
    return {k: _utc(v) if isinstance(v, datetime) else cast(str | int, v) for k, v in query.items()}


def _utc(time: datetime) -> str:
    return time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
