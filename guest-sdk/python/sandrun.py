"""sandrun's host calls for Python tasks.

    import sandrun
    data = sandrun.input()             # the task's JSON input (None if none)
    sandrun.log("info", "starting")    # or sandrun.log("starting")
    sandrun.progress(0.5)
    n = sandrun.kv.get("count", 0)
    sandrun.kv.put("count", n + 1)
    sandrun.kv.delete("count")
    sandrun.output({"answer": 42})     # the task's structured result
    sandrun.display(df, fig, "<b>hi</b>")  # rich results (tables, charts)

A refused call raises `sandrun.HostCallError` with the host's `code` and
message. The wire format is documented in guest-sdk/README.md.

A session's run makes the same calls as a task: `input()` is that run's
input and `output()` that run's result, while this module, like all the
session's code imported, is kept from run to run with the rest of its state.
"""

import base64 as _base64
import io as _io
import json as _json
import sys as _sys

import _host

__all__ = ["HostCallError", "input", "output", "log", "progress", "kv", "display"]

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


# The methods an object may show itself with, as IPython names them.
_REPRS = (
    ("_repr_html_", "text/html"),
    ("_repr_markdown_", "text/markdown"),
    ("_repr_svg_", "image/svg+xml"),
    ("_repr_png_", "image/png"),
    ("_repr_jpeg_", "image/jpeg"),
    ("_repr_json_", "application/json"),
    ("_repr_latex_", "text/latex"),
)
_BINARY = ("image/png", "image/jpeg")


def display(*objs):
    """Show each object as a rich result of the run (`result.results`), as a
    notebook would: its `_repr_mimebundle_`, or each of its `_repr_html_`,
    `_repr_markdown_`, `_repr_svg_`, `_repr_png_`, `_repr_jpeg_`,
    `_repr_json_` and `_repr_latex_` that gives something, always with its
    `repr` as text/plain; a matplotlib figure as a PNG. Past the run's cap on
    results nothing more is kept, and the result says `results_truncated`."""
    for obj in objs:
        try:
            call("display", data=_bundle(obj))
        except HostCallError as e:
            if e.code != "limit_reached":
                raise


def _bundle(obj):
    data = {}
    if hasattr(obj, "_repr_mimebundle_"):
        given = obj._repr_mimebundle_(include=None, exclude=None)
        if isinstance(given, tuple):
            given = given[0]
        data.update(given or {})
    else:
        for method, mime in _REPRS:
            shown = _shown(obj, method)
            if shown is not None:
                data[mime] = shown
        png = _figure_png(obj)
        if png is not None:
            data["image/png"] = png
    for mime in _BINARY:
        if isinstance(data.get(mime), (bytes, bytearray)):
            data[mime] = _base64.b64encode(data[mime]).decode()
    data.setdefault("text/plain", repr(obj))
    return data


def _shown(obj, method):
    """What `obj.method()` gives, None when it has no such method or gives
    nothing; a `(data, metadata)` pair counts as its data."""
    repr_method = getattr(obj, method, None)
    if not callable(repr_method) or isinstance(obj, type):
        return None
    shown = repr_method()
    return shown[0] if isinstance(shown, tuple) else shown


def _figure_png(obj):
    """A matplotlib figure's PNG, for figures only (matplotlib is not
    imported here when the task did not import it)."""
    figure = _sys.modules.get("matplotlib.figure")
    if figure is None or not isinstance(obj, figure.Figure):
        return None
    out = _io.BytesIO()
    obj.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()


def _show_open_figures():
    """The matplotlib figures still open, displayed and closed, as a
    notebook's inline backend does at the end of a cell; the run's own
    call, at its end."""
    pyplot = _sys.modules.get("matplotlib.pyplot")
    # pyplot is in the snapshot: a run that drew nothing leaves it alone
    # (closing "all" would run a garbage collection every time).
    numbers = pyplot.get_fignums() if pyplot is not None else []
    if not numbers:
        return
    for number in numbers:
        _display_run_end(pyplot.figure(number))
    pyplot.close("all")


def _display_run_end(obj):
    """`display(obj)` for the runner at a run's end, where a refusal (a
    result larger than a host call carries) is told on stderr instead of
    failing code that already ran."""
    try:
        display(obj)
    except HostCallError as e:
        print(f"sandrun: a result was not kept: {e}", file=_sys.stderr)
