"""sandrun's host calls for Python tasks.

    import sandrun
    data = sandrun.input()             # the task's JSON input (None if none)
    sandrun.log("info", "starting")    # or sandrun.log("starting")
    sandrun.progress(0.5)
    n = sandrun.kv.get("count", 0)
    sandrun.kv.put("count", n + 1)
    sandrun.kv.delete("count")
    sandrun.output({"answer": 42})     # the task's structured result

A refused call raises `sandrun.HostCallError` with the host's `code` and
message. The wire format is documented in guest-sdk/README.md.

A session's run makes the same calls as a task: `input()` is that run's
input and `output()` that run's result, while this module, like all the
session's code imported, is kept from run to run with the rest of its state.
"""

import json as _json

import _host

__all__ = ["HostCallError", "input", "output", "log", "progress", "kv"]

_LEVELS = ("debug", "info", "warn", "error")


class HostCallError(Exception):
    """The host refused a call; `code` says why (e.g. "too_large")."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def call(name, **fields):
    """Make the host call `name` and return its value."""
    request = _json.dumps({"call": name, **fields}, allow_nan=False).encode()
    reply = _json.loads(_host.call(request))
    if "error" in reply:
        raise HostCallError(reply["error"]["code"], reply["error"]["message"])
    return reply["ok"]


def input():
    """The task's JSON input, or None when it was given none."""
    return call("input")


def output(value):
    """Set the task's structured result (replacing any earlier one)."""
    call("output", value=value)


def log(level_or_message, message=None):
    """`log(message)` logs at info; `log(level, message)` at debug, info, warn or error."""
    if message is None:
        level, message = "info", level_or_message
    else:
        level = level_or_message
    if level not in _LEVELS:
        raise ValueError(f"log level must be one of {', '.join(_LEVELS)}, not {level!r}")
    call("log", level=level, message=str(message))


def progress(fraction):
    """Report progress from 0 to 1."""
    call("progress", value=float(fraction))


class _Kv:
    """The task's key-value namespace; values are any JSON."""

    def get(self, key, default=None):
        value = call("kv_get", key=key)
        return default if value is None else value

    def put(self, key, value):
        call("kv_put", key=key, value=value)

    def delete(self, key):
        """Whether the key existed."""
        return call("kv_delete", key=key)


kv = _Kv()
