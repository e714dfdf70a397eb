"""Import agents from CSV (columns code, name, team_code): good rows kept, bad rows reported by line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from survey import audit
from survey.admin.services.org import OrgError, agent_state, check_code
from survey.extensions import db
from survey.models import Agent, Team, User

COLUMNS = ("code", "name", "team_code")
MAX_BYTES = 10 * 1024 * 1024


@dataclass
class RowError:
    line: int
    code: str
    reason: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    problem: str | None = None  # the file as a whole could not be read

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.errors)


def _decode(data: bytes) -> str | None:
    # Excel in China saves CSV as GB18030 unless told otherwise; UTF-8 (with or without BOM) first.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def import_agents(
    actor: User | str,
    data: bytes,
    filename: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create or update an agent for each good row; report each bad row with its line and reason.

    An existing agent code updates that agent's name and team (a move keeps history where it
    was). The caller commits.
    """
    result = ImportResult()
    if len(data) > MAX_BYTES:
        result.problem = str(_l("The file is larger than 10 MB."))
        return result
    text = _decode(data)
    if text is None:
        result.problem = str(_l("The file is not text in UTF-8 or GB18030."))
        return result
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        result.problem = str(
            _l(
                "The first line must name the columns code, name, team_code; missing: %(cols)s.",
                cols=", ".join(missing),
            )
        )
        return result
    where = {c: header.index(c) for c in COLUMNS}
    # Looked up once, so a large file costs one query per table rather than per row.
    teams = {t.code: t for t in db.session.scalars(sa.select(Team))}
    agents = {a.code: a for a in db.session.scalars(sa.select(Agent))}
    seen: dict[str, int] = {}
    created_codes: list[str] = []
    for index, row in enumerate(reader, start=1):
        line = reader.line_num
        if progress and index % 200 == 0:
            progress(index)
        if not any(cell.strip() for cell in row):
            continue
        values = {c: (row[i].strip() if i < len(row) else "") for c, i in where.items()}
        reason = _check_row(values, teams, seen)
        if reason:
            result.errors.append(RowError(line, values["code"], reason))
            continue
        seen[values["code"]] = line
        team = teams[values["team_code"]]
        agent = agents.get(values["code"])
        if agent is None:
            agent = Agent(code=values["code"], name=values["name"], team=team, active=True)
            db.session.add(agent)
            agents[agent.code] = agent
            created_codes.append(agent.code)
            result.created += 1
            continue
        before = agent_state(agent)
        agent.name, agent.team, agent.active = values["name"], team, True
        old, new = audit.changes(before, agent_state(agent))
        if not new:
            result.unchanged += 1
            continue
        result.updated += 1
        action = "agent.move" if "team" in new else "agent.update"
        db.session.flush()
        audit.record(actor, action, "agent", agent.id, old, new)
    db.session.flush()
    audit.record(
        actor,
        "agent.import",
        "agent",
        None,
        None,
        {
            "file": filename,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "errors": len(result.errors),
            # Enough to see what arrived; the agents themselves are the full record.
            "created_codes": created_codes[:500],
        },
    )
    return result


def _check_row(values: dict[str, str], teams: dict[str, Team], seen: dict[str, int]) -> str | None:
    """Return why a row cannot be imported, or None."""
    try:
        check_code(values["code"], 60)
    except OrgError as error:
        return str(error.message)
    if values["code"] in seen:
        return str(
            _l(
                "The code %(code)s is already on line %(line)d.",
                code=values["code"],
                line=seen[values["code"]],
            )
        )
    if not values["name"]:
        return str(_l("The name is empty."))
    if len(values["name"]) > 120:
        return str(_l("A name has at most %(n)d characters.", n=120))
    team = teams.get(values["team_code"])
    if not values["team_code"]:
        return str(_l("The team code is empty."))
    if team is None:
        return str(_l("There is no team with the code %(code)s.", code=values["team_code"]))
    if not team.active:
        return str(_l("The team %(code)s is deactivated.", code=team.code))
    return None
