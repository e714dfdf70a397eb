"""Serving an app for a load benchmark and loading it with wrk: what the wrk benches share.

``gunicorn`` serves a WSGI target on a free port for the length of a ``with`` block, with
the worker class and threads the product is served with (``PRODUCT``, read from
scripts/gunicorn.conf.py, the file ``make run`` and production use) unless a bench asks for
``SYNC``, gunicorn's default, to compare; the number of processes is the bench's.
``run_wrk`` runs wrk with a Lua script whose ``done()`` prints one line starting with
``BENCH `` and a JSON object (see ``WRK_ERRORS`` for the error fields it must carry).
Only the processes started here are ever signalled, by the PIDs they were started with.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PRODUCT_CONFIG = BENCH.parent / "scripts" / "gunicorn.conf.py"
# The kinds of error wrk counts: socket errors, statuses of 400 and above, timeouts.
WRK_ERRORS = ("connect", "read", "write", "status", "timeout")


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Workers:
    """How gunicorn serves: its worker class and the threads of each worker process."""

    worker_class: str
    threads: int

    @property
    def name(self) -> str:
        """The worker class as the benches' options and rows name it."""
        return self.worker_class

    def describe(self, processes: int) -> str:
        """Say how a bench served, e.g. "gunicorn, 2 gthread workers × 4 threads"."""
        threads = f" × {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn, {processes} {self.worker_class} workers{threads}"

    def options(self) -> list[str]:
        """gunicorn's command-line options for this way of serving."""
        return ["--worker-class", self.worker_class, "--threads", str(self.threads)]


def product_workers(config: Path = PRODUCT_CONFIG) -> Workers:
    """Return the worker class and threads the product's gunicorn config file sets."""
    settings = runpy.run_path(str(config))
    return Workers(settings.get("worker_class", "sync"), int(settings.get("threads", 1)))


PRODUCT = product_workers()
SYNC = Workers("sync", 1)  # gunicorn's default: one request at a time a process
WORKERS = {PRODUCT.name: PRODUCT, SYNC.name: SYNC}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Give a wrk bench ``--workers`` and ``--serve`` (read into a list of ways to serve)."""
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--serve",
        type=_serve_option,
        default=[PRODUCT],
        help="gunicorn worker classes to serve with, in turn (bare and app alike), e.g. "
        f"sync,{PRODUCT.name}; default: the product's (scripts/gunicorn.conf.py)",
    )


def _serve_option(value: str) -> list[Workers]:
    try:
        return workers_option(value)
    except ValueError as refused:
        raise argparse.ArgumentTypeError(str(refused)) from None


def workers_option(value: str) -> list[Workers]:
    """Parse a bench's ``--serve`` (e.g. ``sync,gthread``): the ways to serve, in order."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKERS]
    if unknown or not names:
        raise ValueError(f"--serve: {', '.join(unknown) or value!r}; known: {', '.join(WORKERS)}")
    return [WORKERS[name] for name in names]


@contextmanager
def gunicorn(
    target: str,
    workers: int,
    env: dict[str, str],
    ready: str,
    log: Path | None = None,
    serve: Workers = PRODUCT,
) -> Iterator[int]:
    """Serve a WSGI app with gunicorn on a free port; stop that gunicorn (by its PID) after.

    ``workers`` processes, each of ``serve``'s class and threads (the product's unless asked).
    ``log`` takes the server's error output (the app's logged errors), else it is shown.
    """
    port = free_port()
    errors = log.open("w", encoding="utf-8") if log else None
    # A gunicorn config file of one's own (e.g. hooks that profile each worker), if set.
    config = os.environ.get("SURVEY_BENCH_GUNICORN_CONFIG")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), *serve.options(),
         "--bind", f"127.0.0.1:{port}",
         "--chdir", str(BENCH), "--timeout", "60", "--log-level", "warning",
         *(["--config", config] if config else []), target],
        env=env,
        stderr=errors,
    )  # fmt: skip
    try:
        wait_until_ready(server, f"http://127.0.0.1:{port}{ready}")
        yield port
    finally:
        stop(server)
        if errors:
            errors.close()


def stop(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """SIGTERM one process we started (gunicorn's master stops its workers), then wait."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_ready(server: subprocess.Popen[Any], url: str, timeout: float = 60) -> None:
    """Wait until the server answers ``url`` with 200 (and its other workers boot), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    time.sleep(2)  # the other workers boot beside the first
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {timeout:.0f} s")


def run_wrk(
    url: str,
    script: Path,
    env: dict[str, str],
    duration: int,
    connections: int,
    threads: int = 2,
) -> dict[str, Any]:
    """Run wrk for a fixed time; return the JSON its script's ``done()`` printed after BENCH.

    The result gains ``errors``: the sum of wrk's socket errors, timeouts (10 s) and
    statuses of 400 and above.
    """
    command = [
        "wrk", "--threads", str(threads), "--connections", str(connections),
        "--duration", f"{duration}s", "--timeout", "10s", "--script", str(script), url,
    ]  # fmt: skip
    load = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
    try:
        output, _ = load.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        load.kill()
        load.wait()
        raise
    line = next(x for x in output.splitlines() if x.startswith("BENCH "))
    seen: dict[str, Any] = json.loads(line[len("BENCH ") :])
    seen["errors"] = sum(seen[k] for k in WRK_ERRORS)
    return seen
