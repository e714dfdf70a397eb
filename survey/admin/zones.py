"""Times on admin pages are shown in the viewer's zone: their own, or the bank's."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_login import current_user

from survey import settings
from survey.admin import bp


def viewer_zone() -> ZoneInfo:
    """Return the signed-in user's zone if they set one, else the bank's."""
    name = getattr(current_user, "timezone", None) if current_user else None
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a zone that no longer exists falls back to the bank's
    return ZoneInfo(settings.bank_zone())


@bp.app_template_filter("viewer_time")
def viewer_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an instant in the viewer's zone."""
    if value is None:
        return ""
    return value.astimezone(viewer_zone()).strftime(fmt)
