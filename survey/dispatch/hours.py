"""Allowed hours: no message outside them in the customer's own time zone (DESIGN.md, rule 3).

Quiet hours defer a message to the next allowed moment; they never drop it.
Local times are worked out with zoneinfo, so a daylight-saving change moves the
instant in UTC and never the customer's 08:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from survey import settings
from survey.models import Customer


def customer_zone(customer: Customer) -> ZoneInfo:
    """Return the customer's own zone, else the organisation's default, else the bank's."""
    for name in (customer.timezone, settings.get("default_timezone"), settings.bank_zone()):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a zone the system no longer knows: fall back rather than fail a send
    return ZoneInfo("Asia/Shanghai")


def allowed_hours() -> tuple[time, time]:
    """Return the organisation's allowed hours (start inclusive, end exclusive)."""
    return (
        time.fromisoformat(settings.get("allowed_hours_start")),
        time.fromisoformat(settings.get("allowed_hours_end")),
    )


def next_allowed(at: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """Return ``at`` if it falls inside the allowed hours in ``zone``, else the next start.

    Before the start it is today's start, at or after the end tomorrow's; the answer is in UTC.
    """
    local = at.astimezone(zone)
    if start <= local.time() < end:
        return at.astimezone(UTC)
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    # A start inside a daylight-saving gap does not exist; the round trip through UTC
    # lands on the first moment after the gap.
    return datetime.combine(day, start, tzinfo=zone).astimezone(UTC)


def next_allowed_for(customer: Customer, at: datetime) -> datetime:
    """Return the first moment at or after ``at`` when the customer may be contacted."""
    start, end = allowed_hours()
    return next_allowed(at, customer_zone(customer), start, end)
