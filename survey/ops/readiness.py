"""Readiness: can this process reach its database and its queue, each within a bound?

A check runs in a thread of its own and is abandoned after the timeout, so a
hung server makes the probe answer 503 in time instead of hanging with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from survey.extensions import db

DEFAULT_TIMEOUT_SECONDS = 2.0
# Checks that outlive their timeout finish here, away from the request's thread.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


@dataclass(frozen=True)
class Check:
    """The outcome of one readiness check."""

    name: str
    ok: bool
    seconds: float
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "seconds": round(self.seconds, 4), "error": self.error}


def check_all(config: Mapping[str, Any]) -> list[Check]:
    """Run every readiness check; each gets ``SURVEY_READY_TIMEOUT_SECONDS`` (default 2)."""
    timeout = float(config.get("SURVEY_READY_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def database() -> None:
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def queue() -> None:
        from survey import tasks

        tasks.queue_reachable()

    return [_timed("database", database, timeout), _timed("queue", queue, timeout)]


def _timed(name: str, probe: Callable[[], None], timeout: float) -> Check:
    started = time.monotonic()
    future = _pool.submit(probe)
    try:
        future.result(timeout=timeout)
    except FutureTimeout:
        return Check(name, False, time.monotonic() - started, f"no answer within {timeout:g} s")
    except Exception as error:  # noqa: BLE001 — any failure means "not ready", said plainly
        return Check(name, False, time.monotonic() - started, f"{type(error).__name__}: {error}")
    return Check(name, True, time.monotonic() - started)
