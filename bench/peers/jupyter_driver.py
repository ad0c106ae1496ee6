"""Runs a live session's turns in a native Jupyter kernel, for sandrun-bench.

The harness compares a sandrun session with what it stands in for: an
IPython kernel (ipykernel) per client, unsandboxed, holding its variables in
a live process, driven through jupyter_client as a notebook front end does.
Besides the closed loop's fields (see `closed_loop.py`) the job names the
code run once per kernel, uncounted, and the code each task runs:

    {"setup": "x = 0", "code": "x += 1\\nx", ...}

Each task is one `execute` round trip: the request on the shell channel, its
reply there, and its `execute_result` on iopub, which must show the next
integer (1, 2, ...). IPython's own files (history and connection files) go
to a temporary directory, not the user's home.
"""

import itertools
import os
import sys
import tempfile
import time

from jupyter_client import KernelManager

from closed_loop import main

# A kernel answering slower than this is broken, not slow.
TIMEOUT_S = 60


def start_client(job, stack):
    """Starts a kernel, runs the setup, and answers a task on it."""
    home = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-jupyter-"))
    os.environ["IPYTHONDIR"] = os.path.join(home, "ipython")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(home, "runtime")
    manager = KernelManager()
    # The kernel's own prints must not mix with this driver's answer on stdout.
    manager.start_kernel(stdout=sys.stderr)
    stack.callback(manager.shutdown_kernel, now=True)
    client = manager.blocking_client()
    client.start_channels()
    stack.callback(client.stop_channels)
    client.wait_for_ready(timeout=TIMEOUT_S)
    execute(client, job["setup"])
    values = itertools.count(1)

    def run_one():
        expect = repr(next(values))
        start = time.perf_counter()
        value = execute(client, job["code"])
        latency = time.perf_counter() - start
        if value != expect:
            raise RuntimeError(f"the kernel answered {value!r}, not {expect!r}")
        return latency

    return run_one


def execute(client, code):
    """Runs `code` and answers its execute_result's text (None without one)."""
    request = client.execute(code, allow_stdin=False)
    reply = answer(client.get_shell_msg, request)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"the kernel's reply: {reply['content']}")
    while True:
        message = answer(client.get_iopub_msg, request)
        if message["msg_type"] == "execute_result":
            return message["content"]["data"]["text/plain"]
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return None


def answer(receive, request):
    """The next message from `receive` that answers `request` (the others,
    such as the previous request's idle status, are passed over)."""
    while True:
        message = receive(timeout=TIMEOUT_S)
        if message["parent_header"].get("msg_id") == request:
            return message


if __name__ == "__main__":
    main(start_client)
