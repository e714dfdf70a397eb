"""The admin start page: where each part of the set-up stands, and what to do next."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from survey import settings
from survey.admin import bp
from survey.auth.service import role_required
from survey.extensions import db
from survey.models import Agent, ApiKey, AuditEvent, BusinessLine, Setting, Team, User


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@bp.route("/")
@role_required("admin")
def home():
    """Show the steps of setting up the bank, each with its state and a link to do it."""
    steps = {
        "settings": _count(Setting) > 0,
        "lines": _count(BusinessLine, BusinessLine.active.is_(True)) > 0,
        "teams": _count(Team, Team.active.is_(True)) > 0,
        "agents": _count(Agent, Agent.active.is_(True)) > 0,
        "users": _count(User, User.active.is_(True)) > 1,
        "keys": _count(ApiKey, ApiKey.revoked_at.is_(None)) > 0,
    }
    return render_template(
        "admin/home.html",
        steps=steps,
        bank=(settings.get("bank_name_zh"), settings.get("bank_name_en")),
        events=_count(AuditEvent),
    )
