"""The development outbox: what the outbox channel "sent", shown as the customer would see it."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user
from markupsafe import Markup, escape

from survey import settings
from survey.auth.service import role_required
from survey.extensions import db
from survey.models import OutboxMessage
from survey.paging import requested_page

# DESIGN.md puts the outbox at /dev/outbox, outside the /admin prefix; admins only all the same.
dev_bp = Blueprint("dev", __name__)

PER_PAGE = 20
# A link ends at whitespace or at the CJK punctuation that often follows it in an SMS.
LINK = re.compile(r"https?://[^\s<>\"'，。；！？、）】]+")


def linkify(text: str) -> Markup:
    """Escape a message and make its links clickable (Jinja's urlize misses links glued to Chinese)."""
    parts: list[str] = []
    last = 0
    for match in LINK.finditer(text):
        url = match.group(0)
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<a href="{0}" target="_blank" rel="noopener">{0}</a>').format(url))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def _viewer_time(at: datetime) -> str:
    """Show an instant in the viewer's zone, else the bank's."""
    zone = getattr(current_user, "timezone", None) or settings.bank_zone()
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


@dev_bp.route("/dev/outbox")
@role_required("admin")
def outbox():
    """Show what the outbox channel sent, newest first."""
    page = db.paginate(
        sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()),
        page=requested_page(),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template("admin/outbox.html", page=page, local_time=_viewer_time, linkify=linkify)
