"""Record and edit improvement actions (checked, audited), name their targets, find chart marks.

Who may record and edit actions: admins, managers and quality staff (every change is in the
audit trail under ``action.create`` / ``action.update``, with what changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from survey import audit
from survey.extensions import db
from survey.models import Agent, BusinessLine, ImprovementAction, Team, User
from survey.models.action import ACTION_KINDS, MAX_WINDOW_DAYS, TARGET_KINDS
from survey.models.interaction import CATEGORIES
from survey.scoring import queries

KIND_LABELS = {
    "training": _l("Training"),
    "process_change": _l("Process change"),
    "system_fix": _l("System fix"),
    "product_change": _l("Product change"),
}
TARGET_KIND_LABELS = {
    "business_line": _l("Business line"),
    "team": _l("Team"),
    "agent": _l("Agent"),
    "category": _l("Category"),
    "dimension": _l("Dimension"),
}
# A dimension action is compared with the other rated dimensions; overall blends them all.
RATED_DIMENSIONS = ("attitude", "wait_time", "products", "complaint_handling")
# How far ahead an action may be planned, so its windows stay ordinary days.
PLAN_AHEAD_DAYS = 366
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
CODED = {"business_line": BusinessLine, "team": Team, "agent": Agent}
FIELDS = (
    "title_zh",
    "title_en",
    "kind",
    "started_on",
    "target_kind",
    "target_code",
    "window_days",
    "description_zh",
    "description_en",
)


class ActionError(ValueError):
    """An action that cannot be saved: each bad field and why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Draft:
    """What a person asked an action to be, before it is checked."""

    title_zh: str
    title_en: str
    kind: str
    started_on: date | None
    target_kind: str
    target_code: str
    window_days: int | None = 30
    description_zh: str = ""
    description_en: str = ""


def _checked(draft: Draft, today: date) -> dict[str, Any]:
    """Return the draft's fields cleaned, or raise ActionError naming every bad one."""
    errors: dict[str, str] = {}
    titles = {"title_zh": draft.title_zh.strip(), "title_en": draft.title_en.strip()}
    for name, missing in (
        ("title_zh", _l("Enter the title in Chinese.")),
        ("title_en", _l("Enter the title in English.")),
    ):
        if not titles[name]:
            errors[name] = str(missing)
        elif len(titles[name]) > TITLE_MAX:
            errors[name] = str(_l("A title has at most %(n)d characters.", n=TITLE_MAX))
    descriptions = {
        "description_zh": (draft.description_zh or "").strip(),
        "description_en": (draft.description_en or "").strip(),
    }
    for name, text in descriptions.items():
        if len(text) > DESCRIPTION_MAX:
            errors[name] = str(_l("A description has at most %(n)d characters.", n=DESCRIPTION_MAX))
    if draft.kind not in ACTION_KINDS:
        errors["kind"] = str(_l("Choose what kind of action this is."))
    days = draft.window_days
    if days is None or not 1 <= days <= MAX_WINDOW_DAYS:
        errors["window_days"] = str(
            _l("Use a whole number of days from 1 to %(n)d.", n=MAX_WINDOW_DAYS)
        )
    started = draft.started_on
    if started is None:
        errors["started_on"] = str(_l("Use a date like 2026-11-29."))
    else:
        earliest = queries.EARLIEST_DAY + timedelta(days=MAX_WINDOW_DAYS)
        latest = today + timedelta(days=PLAN_AHEAD_DAYS)
        if not earliest <= started <= latest:
            errors["started_on"] = str(
                _l(
                    "Use a day from %(first)s to %(last)s.",
                    first=earliest.isoformat(),
                    last=latest.isoformat(),
                )
            )
    target_error = _target_error(draft.target_kind, draft.target_code)
    if target_error:
        errors["target"] = target_error
    if errors:
        raise ActionError(errors)
    return {
        **titles,
        **descriptions,
        "kind": draft.kind,
        "started_on": started,
        "target_kind": draft.target_kind,
        "target_code": draft.target_code,
        "window_days": days,
    }


def _target_error(kind: str, code: str) -> str | None:
    if kind not in TARGET_KINDS or not code:
        return str(_l("Choose the business line, team, agent, category or dimension it aims at."))
    if kind in CODED:
        model = CODED[kind]
        if db.session.scalar(sa.select(model.id).where(model.code == code)) is None:
            return str(_l("Choose a target from the list: this one does not exist."))
    elif kind == "category" and code not in CATEGORIES:
        return str(_l("Choose a target from the list: this one does not exist."))
    elif kind == "dimension" and code not in RATED_DIMENSIONS:
        return str(_l("Choose one of the four rated dimensions."))
    return None


def _state(action: ImprovementAction) -> dict[str, Any]:
    values = {name: getattr(action, name) for name in FIELDS}
    values["started_on"] = action.started_on.isoformat() if action.started_on else None
    return values


def create(actor: User | None, draft: Draft, today: date) -> ImprovementAction:
    """Record an action (the caller commits); raise ActionError when a field is wrong."""
    fields = _checked(draft, today)
    action = ImprovementAction(**fields, created_by_id=actor.id if actor else None)
    db.session.add(action)
    db.session.flush()
    audit.record(actor, "action.create", "action", action.id, after=_state(action))
    return action


def update(
    actor: User | None, action: ImprovementAction, draft: Draft, today: date
) -> ImprovementAction:
    """Change an action (the caller commits); the trail keeps the fields that changed."""
    fields = _checked(draft, today)
    before = _state(action)
    for name, value in fields.items():
        setattr(action, name, value)
    before, after = audit.changes(before, _state(action))
    if after:
        db.session.flush()
        audit.record(actor, "action.update", "action", action.id, before=before, after=after)
    return action


def all_actions() -> list[ImprovementAction]:
    """Every action, the most recent start first."""
    return list(
        db.session.scalars(
            sa.select(ImprovementAction).order_by(
                ImprovementAction.started_on.desc(), ImprovementAction.id.desc()
            )
        )
    )


def target_choices(locale: str) -> dict[str, list[tuple[str, str]]]:
    """The targets a form offers, grouped by kind: value ``kind:code`` and a name."""
    from survey.dashboard.filters import CATEGORY_LABELS, DIMENSION_LABELS

    lines = db.session.scalars(sa.select(BusinessLine).order_by(BusinessLine.code)).all()
    teams = db.session.scalars(sa.select(Team).order_by(Team.code)).all()
    agents = db.session.scalars(sa.select(Agent).order_by(Agent.code)).all()
    return {
        "business_line": [(f"business_line:{x.code}", x.name(locale)) for x in lines],
        "team": [(f"team:{x.code}", x.name(locale)) for x in teams],
        "agent": [(f"agent:{x.code}", f"{x.name(locale)} ({x.code})") for x in agents],
        "category": [(f"category:{c}", str(CATEGORY_LABELS[c])) for c in CATEGORIES],
        "dimension": [(f"dimension:{d}", str(DIMENSION_LABELS[d])) for d in RATED_DIMENSIONS],
    }


def target_name(action: ImprovementAction, locale: str) -> str:
    """The target's name in the viewer's language (its code when it is gone)."""
    from survey.dashboard.filters import CATEGORY_LABELS, DIMENSION_LABELS

    kind, code = action.target_kind, action.target_code
    if kind in CODED:
        model = CODED[kind]
        found = db.session.scalar(sa.select(model).where(model.code == code))
        return found.name(locale) if found else code
    labels = CATEGORY_LABELS if kind == "category" else DIMENSION_LABELS
    return str(labels.get(code, code))


# --- which actions a trend chart marks ------------------------------------------------------

Path = tuple[str | None, str | None, str | None]


def _path(kind: str, code: str) -> Path | None:
    """An organisation segment as (business line, team, agent) codes, None below its level."""
    if kind == "business_line":
        return (code, None, None)
    if kind == "team":
        team = db.session.scalar(sa.select(Team).where(Team.code == code))
        return (team.business_line.code, code, None) if team else None
    if kind == "agent":
        agent = db.session.scalar(sa.select(Agent).where(Agent.code == code))
        return (agent.team.business_line.code, agent.team.code, code) if agent else None
    return None


def _overlaps(a: Path, b: Path) -> bool:
    """Whether two segments share answers: one contains the other (no level disagrees)."""
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


def marked(
    date_from: date, date_to: date, filters: Mapping[str, tuple[str, ...]]
) -> list[ImprovementAction]:
    """The actions a trend chart of these days and filters marks, oldest first.

    Every action started in the days shown whose target shares answers with what the
    filters show: with no filter, all of them; a team's view marks the team's actions, its
    agents' and its business line's (which contains the team), not another team's. Category
    actions are hidden only by a category filter that leaves their category out, and
    dimension actions (about one question across the bank) are never hidden by filters.
    """
    found = db.session.scalars(
        sa.select(ImprovementAction)
        .where(ImprovementAction.started_on.between(date_from, date_to))
        .order_by(ImprovementAction.started_on, ImprovementAction.id)
    ).all()
    if not found:
        return []
    views = [
        [p for p in (_path(field, code) for code in filters[field]) if p]
        for field in CODED
        if field in filters
    ]
    shown = []
    for action in found:
        if action.target_kind == "category":
            if "category" in filters and action.target_code not in filters["category"]:
                continue
        elif action.target_kind in CODED:
            path = _path(action.target_kind, action.target_code)
            if path is None or not all(any(_overlaps(path, v) for v in view) for view in views):
                continue
        shown.append(action)
    return shown
