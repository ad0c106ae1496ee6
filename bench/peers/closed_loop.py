"""The closed loop every Python peer driver runs, as sandrun-bench's own
`load.rs` does for sandrun, so every system is measured alike.

A driver reads one job as JSON on stdin, with at least

    {"concurrency": 4, "min_tasks": 10, "seconds": 3.0, "max_seconds": 20.0,
     "warmup": 1}

and hands `measure` a function that starts one client: given an ExitStack for
what the client must close at the end, it answers a callable that runs one
task and answers its latency in seconds, or raises if the task did not
answer as expected. `measure` starts `concurrency` clients (uncounted), runs
`warmup` tasks on the first, then keeps every client busy on its own thread
until `seconds` passed and either `min_tasks` ran or `max_seconds` passed,
and prints one JSON object on stdout: {"latencies_s": [...], "elapsed_s": ...}.
The first failing task stops the run with its error.
"""

import contextlib
import json
import sys
import threading
import time


def measure(job, start_client):
    with contextlib.ExitStack() as stack:
        clients = [start_client(stack) for _ in range(job["concurrency"])]
        for _ in range(job["warmup"]):
            clients[0]()
        return _loop(job, clients)


def _loop(job, clients):
    latencies = []
    errors = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + job["seconds"]
    cap = started + job["max_seconds"]

    def worker(run_one):
        while True:
            with lock:
                now = time.perf_counter()
                if errors or (now >= deadline and (len(latencies) >= job["min_tasks"] or now >= cap)):
                    return
            try:
                latency = run_one()
            except Exception as error:  # reported to the harness, which stops
                with lock:
                    errors.append(repr(error))
                return
            with lock:
                latencies.append(latency)

    threads = [threading.Thread(target=worker, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    return {"latencies_s": latencies, "elapsed_s": time.perf_counter() - started}


def main(start_client):
    """Reads the job, measures it with `start_client(job, stack)`, prints the answer."""
    job = json.load(sys.stdin)
    json.dump(measure(job, lambda stack: start_client(job, stack)), sys.stdout)
