"""Trying a channel again when the provider certainly did not take the message.

HTTP 429, Twilio 20429, a connection refused before the request left, an SMTP 4xx
before the server took the message: the same channel is tried again after a
growing, jittered pause, at most ``MAX_ATTEMPTS`` times in all, every try within
``WINDOW`` of the first. A failure that may have reached the customer (a read
timeout, a 5xx) is never retried: it is ``unknown``.

Why the schedule fits: the pause after try ``k`` is at most ``1.5 · BASE · 2^(k-1)``,
so the four pauses between five tries add up to at most ``1.5 · 60 s · 15`` = 22.5
minutes; the sweep that picks a due try up runs every minute, adding at most a
minute a try: 26.5 minutes. A try that would still land past ``WINDOW`` (a
queue that was down, a deferral) is not scheduled: the next channel is tried instead.
A provider that asks for a longer wait (HTTP Retry-After) gets it, within the same window.

``SURVEY_RETRY_BASE_SECONDS`` changes ``BASE`` (the fault tests run real workers with a
base of a second, so five tries take seconds, not minutes); production keeps 60.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app, has_app_context

from survey.models import Delivery, Invitation

MAX_ATTEMPTS = 5
WINDOW = timedelta(minutes=30)
BASE = timedelta(seconds=60)
# How late the minute sweep can pick up a try that fell due.
SWEEP_LAG = timedelta(minutes=1)


def base() -> timedelta:
    """The first pause before jitter (``SURVEY_RETRY_BASE_SECONDS``, default ``BASE``)."""
    seconds = current_app.config.get("SURVEY_RETRY_BASE_SECONDS") if has_app_context() else None
    return timedelta(seconds=float(seconds)) if seconds else BASE


def pause(attempt: int, jitter: float) -> timedelta:
    """Return the pause after try ``attempt`` (1-based); ``jitter`` in [0, 1] spreads retries.

    Jitter keeps the customers a rate limit refused together from coming back together.
    """
    return base() * (2 ** (attempt - 1)) * (1 + jitter / 2)


def tries(invitation: Invitation, channel: str) -> list[Delivery]:
    """Return the tries of the invitation (not its reminder) on a channel, oldest first."""
    return [
        d
        for d in invitation.deliveries
        if d.channel == channel and d.purpose == "invitation" and d.state != "held"
    ]


def next_attempt(invitation: Invitation, channel: str) -> int:
    """Return the number the next try on this channel gets (1 for the first)."""
    return sum(1 for d in tries(invitation, channel) if d.state == "retrying") + 1


def retry_at(
    first_try: datetime, attempt: int, now: datetime, asked: float | None = None
) -> datetime | None:
    """Return when to try again after try ``attempt`` failed at ``now``, or None: no more tries.

    :param asked: the seconds the provider asked us to wait (Retry-After); never less.
    """
    if attempt >= MAX_ATTEMPTS:
        return None
    at = now + max(pause(attempt, random.random()), timedelta(seconds=asked or 0))
    if at + SWEEP_LAG > first_try + WINDOW:
        return None
    return at
