"""The one clock: every "now" in the product comes from here, so tests can move time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """Return the current time, time-zone aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC) + _offset


def freeze(at: datetime) -> None:
    """Stop the clock at a given instant (tests only)."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("the clock only holds time-zone-aware instants")
    _frozen = at.astimezone(UTC)


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward."""
    global _frozen
    _frozen = now() + delta


def unfreeze() -> None:
    """Let the clock run again (with any offset set by ``run_offset``)."""
    global _frozen
    _frozen = None


def run_offset(delta: timedelta) -> None:
    """Let the running clock run ahead of (or behind) the wall clock (tests only)."""
    global _offset
    _offset = delta


def wall_seconds() -> float:
    """Seconds on the machine's real clock, for pacing sends to a provider.

    A provider's rate is real time: a test that freezes the business clock must
    not freeze it, and every process on a host reads the same value.
    """
    return time.time()


@contextmanager
def backdated(at: datetime) -> Iterator[None]:
    """Run a block as if it were ``at``, then give the clock back as it was.

    For history made after the fact (the demo's survey, published months before the
    demo is loaded), so everything the block stamps — rows and audit events alike —
    says the same time.
    """
    global _frozen
    if at.tzinfo is None:
        raise ValueError("the clock only holds time-zone-aware instants")
    before = _frozen
    _frozen = at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = before
