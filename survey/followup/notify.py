"""Tell a case's owner about it: when it is given to them, and when it becomes overdue.

The periodic sweep (survey/tasks.py) calls ``send_due``. Each notice is marked on the
case before it is sent, in its own committed statement that only one worker can win,
so a crash or a second worker never sends it twice (DESIGN.md rule 1): a crash between
the mark and the send loses that one e-mail, and the queue and the navigation count
still show the case. E-mail goes through the e-mail channel when SMTP is configured,
else to the outbox (/dev/outbox), as every other message.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from survey import audit, clock, settings
from survey.channels import smtp
from survey.extensions import db
from survey.models import FollowUpCase, OutboxMessage, User

log = logging.getLogger(__name__)
BATCH = 100


def _new_pending() -> sa.ColumnElement[bool]:
    return sa.and_(
        FollowUpCase.state == "open",
        FollowUpCase.owner_id.is_not(None),
        sa.or_(
            FollowUpCase.notified_owner_id.is_(None),
            FollowUpCase.notified_owner_id != FollowUpCase.owner_id,
        ),
    )


def _overdue_pending(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        FollowUpCase.state == "open",
        FollowUpCase.owner_id.is_not(None),
        FollowUpCase.due_at <= now,
        FollowUpCase.overdue_notified_at.is_(None),
    )


def send_due(now: datetime | None = None) -> int:
    """Send every notice that is due (new owner, newly overdue); return how many went out."""
    now = now or clock.now()
    sent = 0
    for kind, pending in (("new", _new_pending()), ("overdue", _overdue_pending(now))):
        ids = list(
            db.session.scalars(
                sa.select(FollowUpCase.id).where(pending).order_by(FollowUpCase.id).limit(BATCH)
            )
        )
        db.session.rollback()
        for case_id in ids:
            if _claim(case_id, kind, now):
                sent += _send(case_id, kind)
    return sent


def _claim(case_id: int, kind: str, now: datetime) -> int | None:
    """Mark the notice as sent before sending it; None when another worker marked it first."""
    if kind == "new":
        claim = (
            sa.update(FollowUpCase)
            .where(FollowUpCase.id == case_id, _new_pending())
            .values(notified_owner_id=FollowUpCase.owner_id)
        )
    else:
        claim = (
            sa.update(FollowUpCase)
            .where(FollowUpCase.id == case_id, _overdue_pending(now))
            .values(overdue_notified_at=now)
        )
    done = db.session.execute(claim.execution_options(synchronize_session=False))
    db.session.commit()
    return done.rowcount == 1


def _send(case_id: int, kind: str) -> int:
    case = db.session.get_one(FollowUpCase, case_id)
    owner = db.session.get(User, case.owner_id) if case.owner_id else None
    if owner is None:
        return 0
    lang = owner.locale if owner.locale in ("zh", "en") else "zh"
    with force_locale(lang):
        subject, text = message(case, owner, kind, lang)
    if smtp.mail_configured():
        result = smtp.send_staff_mail(owner.email, subject, text, lang)
        ok, error = result.ok, result.error
    else:
        db.session.add(OutboxMessage(channel="email", to=owner.email, subject=subject, body=text))
        ok, error = True, None
    if not ok:
        log.warning("follow-up notice for case %s not delivered: %s", case.id, error)
    audit.record(
        "system",
        f"followup.notify_{kind}",
        "followup_case",
        case.id,
        None,
        {"to": owner.email, "delivered": ok, **({"error": error} if error else {})},
    )
    db.session.commit()
    return 1 if ok else 0


def message(case: FollowUpCase, owner: User, kind: str, lang: str) -> tuple[str, str]:
    """The notice's subject and text, in the owner's language (no customer contact details)."""
    bank = settings.get(f"bank_name_{lang}")
    zone = owner.timezone or settings.bank_zone()
    due = f"{case.due_at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"
    link = current_app.config.get("SURVEY_PUBLIC_URL", "").rstrip("/") + f"/followups/{case.id}"
    if kind == "new":
        subject = _("Follow-up case %(id)d is yours", id=case.id)
        opening = _(
            "A customer who gave a very low score agreed to be called back, and the case "
            "is yours. Please call them before it is due."
        )
    else:
        subject = _("Follow-up case %(id)d is overdue", id=case.id)
        opening = _("This follow-up case is past its due time and still open.")
    lines = [
        _("Hello %(name)s,", name=owner.name or owner.email),
        "",
        opening,
        "",
        _("Due: %(time)s", time=due),
        link,
        "",
        bank,
    ]
    return subject, "\n".join(lines)
