"""The survey page bench's open-loop client: a fixed rate, each request timed from when it was due.

wrk2 is not available here, so ``open_loop`` sends at a fixed rate whatever the answers'
pace, from several processes sharing one schedule, over persistent connections (no
coordinated omission). ``Run`` is one measured run, of wrk or of this client.
"""

from __future__ import annotations

import http.client
import multiprocessing
import queue
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Run:
    """One measured run: at the most wrk could get, or at a fixed rate."""

    label: str
    requests: int
    seconds: float
    p50: float
    p99: float
    errors: int
    answered: int = 0  # statuses below 400
    wrapped: int = 0  # requests that came back to a token already used
    offered: float | None = None  # the fixed rate asked for (open-loop runs)

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds


def open_loop(
    port: int,
    lines: list[str],
    method: str,
    part: tuple[int, int],
    rate: float,
    duration: int,
    processes: int = 4,
    clients: int = 8,
) -> Run:
    """Send at a fixed rate whatever the answers' pace; time each request from when it was due.

    ``processes`` senders (each with ``clients`` connections) share the schedule: request n
    is due at ``start + n / rate`` and goes to sender ``n % processes``, so the whole is one
    steady stream at ``rate`` of the pool's requests in order, and no sender's interpreter
    lock paces the rest. Each request is timed from when it was due (no coordinated omission).
    """
    first, count = part
    bodies = bodies_for(lines, first, count, method)
    total = int(rate * duration)
    start = time.time() + 1.0  # every sender ready before the first request is due
    jobs = [
        (port, method, bodies, rate, total, start, k, processes, clients) for k in range(processes)
    ]
    with multiprocessing.get_context("fork").Pool(processes) as senders:
        results = senders.map(paced_sender, jobs)
    latencies = sorted(latency for result in results for latency in result[0])
    answered = sum(result[1] for result in results)
    failures = sum(result[2] for result in results)
    elapsed = max(result[3] for result in results) - start
    run = Run(
        label=f"open loop {method}",
        requests=len(latencies),
        seconds=elapsed,
        p50=statistics.median(latencies) if latencies else 0.0,
        p99=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0,
        errors=failures,
        answered=answered,
        wrapped=max(0, total - count),
        offered=rate,
    )
    print(f"  {method} at {rate:.1f}/s: p99 {run.p99 * 1000:.1f} ms", flush=True)
    return run


def paced_sender(job: tuple[Any, ...]) -> tuple[list[float], int, int, float]:
    """One sender of the open-loop schedule: requests k, k + P, k + 2P, … each at its due time.

    Returns the latencies (from due time to the end of the answer), the answers below 400,
    the failures and when the last answer came.
    """
    port, method, bodies, rate, total, start, k, processes, clients = job
    due: queue.Queue[tuple[float, str, str] | None] = queue.Queue()
    latencies: list[float] = []
    counts = [0, 0]  # answered, failed
    lock = threading.Lock()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while (item := due.get()) is not None:
            at, path, body = item
            try:
                if method == "GET":
                    connection.request("GET", path)
                else:
                    connection.request("POST", path, body=body, headers=headers)
                reply = connection.getresponse()
                reply.read()
                ok = reply.status < 400
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            took = time.time() - at
            with lock:
                latencies.append(took)
                counts[0 if ok else 1] += 1
        connection.close()

    workers = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for n in range(k, total, processes):
        at = start + n / rate
        pause = at - time.time()
        if pause > 0:
            time.sleep(pause)
        path, body = bodies[n % len(bodies)]
        due.put((at, path, body))
    for _ in workers:
        due.put(None)
    for worker in workers:
        worker.join(timeout=30)
    return latencies, counts[0], counts[1], time.time()


def bodies_for(lines: list[str], first: int, count: int, method: str) -> list[tuple[str, str]]:
    """The (path, body) of each request the open-loop client sends, in the pool's order."""
    chosen = [line.split(" ", 1) for line in lines[first : first + count]]
    return [(f"/s/{token}?lang=zh", body if method == "POST" else "") for token, body in chosen]
