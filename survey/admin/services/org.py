"""The bank's organisation as the admin keeps it: business lines, teams, agents.

Moving an agent changes only ``Agent.team_id``: each interaction keeps the
team it was recorded under, so history stays where it happened.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from survey import audit
from survey.extensions import db
from survey.models import Agent, BusinessLine, Team, User
from survey.models.org import TEAM_FUNCTIONS

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
FUNCTION_LABELS = {
    "inquiry": _l("Inquiries"),
    "complaint": _l("Complaints"),
    "outbound": _l("Outbound calls"),
}


class OrgError(ValueError):
    """A change to the organisation that cannot be made: which field, and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_code(code: str, max_length: int) -> str:
    """Return the code stripped, or raise OrgError saying what is wrong with it."""
    code = (code or "").strip()
    if not code:
        raise OrgError("code", _l("Enter a code."))
    if len(code) > max_length:
        raise OrgError("code", _l("A code has at most %(n)d characters.", n=max_length))
    if not CODE_PATTERN.match(code):
        raise OrgError(
            "code",
            _l("Use letters, digits, '-', '_' or '.' only, starting with a letter or digit."),
        )
    return code


def _check_names(name_zh: str, name_en: str) -> tuple[str, str]:
    name_zh, name_en = (name_zh or "").strip(), (name_en or "").strip()
    if not name_zh:
        raise OrgError("name_zh", _l("Enter the Chinese name."))
    if not name_en:
        raise OrgError("name_en", _l("Enter the English name."))
    for field, name in (("name_zh", name_zh), ("name_en", name_en)):
        if len(name) > 120:
            raise OrgError(field, _l("A name has at most %(n)d characters.", n=120))
    return name_zh, name_en


def _line_state(line: BusinessLine) -> dict[str, object]:
    return {
        "code": line.code,
        "name_zh": line.name_zh,
        "name_en": line.name_en,
        "active": line.active,
    }


def _team_state(team: Team) -> dict[str, object]:
    return {
        "code": team.code,
        "business_line": team.business_line.code,
        "function": team.function,
        "name_zh": team.name_zh,
        "name_en": team.name_en,
        "active": team.active,
    }


def agent_state(agent: Agent) -> dict[str, object]:
    return {
        "code": agent.code,
        "name_zh": agent.name_zh,
        "name_en": agent.name_en,
        "team": agent.team.code,
        "active": agent.active,
    }


def business_lines() -> list[BusinessLine]:
    """Return every business line with its teams, by code."""
    return list(
        db.session.scalars(
            sa.select(BusinessLine)
            .options(selectinload(BusinessLine.teams))
            .order_by(BusinessLine.code)
        )
    )


def teams() -> list[Team]:
    """Return every team, by code."""
    return list(db.session.scalars(sa.select(Team).order_by(Team.code)))


def agent_counts() -> dict[int, int]:
    """Return the number of active agents per team id."""
    rows = db.session.execute(
        sa.select(Agent.team_id, sa.func.count())
        .where(Agent.active.is_(True))
        .group_by(Agent.team_id)
    )
    return {team_id: count for team_id, count in rows}


def agents_of(team: Team) -> list[Agent]:
    return list(
        db.session.scalars(sa.select(Agent).where(Agent.team_id == team.id).order_by(Agent.code))
    )


def create_business_line(actor: User, code: str, name_zh: str, name_en: str) -> BusinessLine:
    """Add a business line."""
    code = check_code(code, 40)
    name_zh, name_en = _check_names(name_zh, name_en)
    if db.session.scalar(sa.select(BusinessLine.id).where(BusinessLine.code == code)):
        raise OrgError("code", _l("A business line with this code exists already."))
    line = BusinessLine(code=code, name_zh=name_zh, name_en=name_en, active=True)
    db.session.add(line)
    db.session.flush()
    audit.record(actor, "business_line.create", "business_line", line.id, None, _line_state(line))
    return line


def update_business_line(
    actor: User, line: BusinessLine, name_zh: str, name_en: str, active: bool
) -> None:
    """Rename a business line, or (de)activate it; its code stays, since other systems use it."""
    before = _line_state(line)
    line.name_zh, line.name_en = _check_names(name_zh, name_en)
    line.active = active
    old, new = audit.changes(before, _line_state(line))
    if new:
        audit.record(actor, "business_line.update", "business_line", line.id, old, new)


def create_team(
    actor: User, code: str, line: BusinessLine | None, function: str, name_zh: str, name_en: str
) -> Team:
    """Add a team under a business line."""
    code = check_code(code, 60)
    if line is None:
        raise OrgError("business_line", _l("Choose a business line."))
    if function not in TEAM_FUNCTIONS:
        raise OrgError("function", _l("Choose what the team does."))
    name_zh, name_en = _check_names(name_zh, name_en)
    if db.session.scalar(sa.select(Team.id).where(Team.code == code)):
        raise OrgError("code", _l("A team with this code exists already."))
    team = Team(code=code, business_line=line, function=function, name_zh=name_zh, name_en=name_en)
    db.session.add(team)
    db.session.flush()
    audit.record(actor, "team.create", "team", team.id, None, _team_state(team))
    return team


def update_team(
    actor: User, team: Team, function: str, name_zh: str, name_en: str, active: bool
) -> None:
    """Rename a team, change what it does, or (de)activate it."""
    if function not in TEAM_FUNCTIONS:
        raise OrgError("function", _l("Choose what the team does."))
    before = _team_state(team)
    team.name_zh, team.name_en = _check_names(name_zh, name_en)
    team.function = function
    team.active = active
    old, new = audit.changes(before, _team_state(team))
    if new:
        audit.record(actor, "team.update", "team", team.id, old, new)


def create_agent(
    actor: User | str, code: str, name_zh: str, name_en: str, team: Team | None
) -> Agent:
    """Add an agent to a team."""
    code = check_code(code, 60)
    if team is None:
        raise OrgError("team", _l("Choose a team."))
    if not team.active:
        raise OrgError("team", _l("This team is deactivated."))
    name_zh, name_en = _check_names(name_zh, name_en)
    if db.session.scalar(sa.select(Agent.id).where(Agent.code == code)):
        raise OrgError("code", _l("An agent with this code exists already."))
    agent = Agent(code=code, name_zh=name_zh, name_en=name_en, team=team, active=True)
    db.session.add(agent)
    db.session.flush()
    audit.record(actor, "agent.create", "agent", agent.id, None, agent_state(agent))
    return agent


def update_agent(
    actor: User | str, agent: Agent, name_zh: str, name_en: str, team: Team | None, active: bool
) -> None:
    """Rename an agent, move them to another team, or (de)activate them.

    Interactions already recorded keep the team they happened in.
    """
    if team is None:
        raise OrgError("team", _l("Choose a team."))
    if team.id != agent.team_id and not team.active:
        raise OrgError("team", _l("This team is deactivated."))
    name_zh, name_en = _check_names(name_zh, name_en)
    before = agent_state(agent)
    agent.name_zh, agent.name_en = name_zh, name_en
    agent.team = team
    agent.active = active
    old, new = audit.changes(before, agent_state(agent))
    if new:
        action = "agent.move" if "team" in new else "agent.update"
        audit.record(actor, action, "agent", agent.id, old, new)
