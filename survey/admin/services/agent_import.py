"""Import agents from CSV: good rows kept, each bad row reported by its line, progress on record.

The file is checked as a whole first (encoding, header) so that a wrong file is refused
at once and changes nothing. Its rows are then imported as an ``ImportJob`` in batches,
each committed with the job's progress and its own audit record: a large file runs on a
worker while the admin watches the bar; a restarted job resumes after the last batch.

Columns: ``code,name_zh,name_en,team_code``. The older ``code,name,team_code`` still
works, its one name becoming both.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from survey import audit, clock, hints, jobs
from survey.admin.services.org import CODE_PATTERN, agent_state
from survey.csvfiles import FileProblem, decode
from survey.extensions import db
from survey.models import Agent, ImportJob, Team, User

log = logging.getLogger(__name__)

COLUMNS = ("code", "name_zh", "name_en", "team_code")
LEGACY_COLUMNS = ("code", "name", "team_code")
MAX_BYTES = 10 * 1024 * 1024
BATCH_SIZE = 500
# A batch takes well under a second; a running job silent this long was interrupted.
STALLED_AFTER = timedelta(minutes=5)
# A queued job no worker has picked up in this long may have lost its queue message.
UNCLAIMED_AFTER = timedelta(minutes=1)
# Up to this many rows the import runs in the request: the admin sees the result at once.
INLINE_ROWS = 500

Row = tuple[int, dict[str, str]]  # the file's line number, and the row's values by column

# Why a row is refused, by key: a job stores the key and its values, so that each admin
# reads the reason in their own language, whoever (or whichever worker) ran the import.
REASONS = {
    "code_empty": _l("Enter a code."),
    "code_long": _l("A code has at most %(n)d characters."),
    "code_pattern": _l(
        "Use letters, digits, '-', '_' or '.' only, starting with a letter or digit."
    ),
    "duplicate": _l("The code %(code)s is already on line %(line)d."),
    "name_empty": _l("The name is empty."),
    "name_zh_empty": _l("The Chinese name is empty."),
    "name_en_empty": _l("The English name is empty."),
    "name_long": _l("A name has at most %(n)d characters."),
    "team_empty": _l("The team code is empty."),
    "team_unknown": _l("There is no team with the code %(code)s."),
    "team_inactive": _l("The team %(code)s is deactivated."),
}


@dataclass(frozen=True)
class AgentFile:
    rows: list[Row]
    legacy: bool  # one name column, used for both languages


def _columns(header: list[str]) -> tuple[dict[str, int], bool]:
    names = [h.strip().lower() for h in header]
    legacy = "name" in names and "name_zh" not in names and "name_en" not in names
    wanted = LEGACY_COLUMNS if legacy else COLUMNS
    missing = [c for c in wanted if c not in names]
    if missing:
        raise FileProblem(
            _l(
                "The first line must name the columns code, name_zh, name_en, team_code; "
                "missing: %(cols)s.",
                cols=", ".join(missing),
            )
        )
    where = {c: names.index(c) for c in wanted}
    if legacy:
        where["name_zh"] = where["name_en"] = where.pop("name")
    return where, legacy


def read_file(data: bytes) -> AgentFile:
    """Return the file's non-blank rows, or raise FileProblem when it cannot be imported."""
    if len(data) > MAX_BYTES:
        raise FileProblem(_l("The file is larger than 10 MB."))
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    try:
        where, legacy = _columns(next(reader, []))
        rows: list[Row] = []
        for row in reader:
            if any(cell.strip() for cell in row):
                values = {c: (row[i].strip() if i < len(row) else "") for c, i in where.items()}
                rows.append((reader.line_num, values))
    except csv.Error as error:
        raise FileProblem(
            _l("Line %(line)d is not valid CSV: %(reason)s", line=reader.line_num, reason=error)
        ) from error
    return AgentFile(rows, legacy)


def create_job(data: bytes, filename: str, created_by: User | None) -> ImportJob:
    """Check the file and store it as a queued job (committed, so a worker can read it).

    Raises FileProblem, having changed nothing, when the file cannot be imported at all.
    """
    agent_file = read_file(data)
    job = ImportJob(
        kind="agents",
        filename=filename[:255],
        content=data,
        total_rows=len(agent_file.rows),
        created_by_id=created_by.id if created_by else None,
        errors=[],
        counts={},
    )
    db.session.add(job)
    db.session.commit()
    return job


def submit(actor: User, data: bytes, filename: str) -> ImportJob:
    """Check and store the file, then import it: here when small, else on a worker."""
    job = create_job(data, filename, actor)
    if job.total_rows <= INLINE_ROWS:
        return run(job.id, actor)
    if not hints.import_soon(job.id):
        # No queue, no wait: the import is slower in the request, but it happens.
        log.warning("importing job %s in the request instead", job.id)
        return run(job.id, actor)
    return job


def run(
    job_id: int,
    actor: User | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportJob | None:
    """Import the job's rows after those already done, one committed batch at a time.

    :param actor: who the audit trail names; by default whoever uploaded the file.
    :param progress: called with the number of rows done after each batch.
    """
    if not _claim(job_id):
        # Finished, missing, or another worker is on it right now.
        return db.session.get(ImportJob, job_id)
    job = db.session.get_one(ImportJob, job_id)
    if actor is None:
        actor = db.session.get(User, job.created_by_id) if job.created_by_id else "system"
    try:
        agent_file = read_file(job.content)
        first_line: dict[str, int] = {}
        for line, values in agent_file.rows:
            first_line.setdefault(values["code"], line)
        while job.done_rows < len(agent_file.rows):
            batch = agent_file.rows[job.done_rows : job.done_rows + BATCH_SIZE]
            _import_batch(actor, job, batch, first_line, agent_file.legacy)
            job.done_rows += len(batch)
            db.session.commit()
            if progress:
                progress(job.done_rows)
        job.state, job.finished_at = "done", clock.now()
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("import job %s failed", job_id)
        job = db.session.get(ImportJob, job_id)
        job.state, job.finished_at = "failed", clock.now()
        job.failure = str(error)  # the page says, in the reader's language, where it stopped
        db.session.commit()
    return job


def _claim(job_id: int) -> bool:
    """Take a queued or stalled job for this worker; only one caller can win."""
    return jobs.claim(ImportJob, ImportJob.updated_at, job_id, STALLED_AFTER)


def unfinished_job_ids() -> list[int]:
    """Return jobs a worker should take up: queue messages lost, or workers interrupted."""
    return jobs.unfinished_ids(ImportJob, ImportJob.updated_at, UNCLAIMED_AFTER, STALLED_AFTER)


def _import_batch(
    actor: User | str, job: ImportJob, batch: list[Row], first_line: dict[str, int], legacy: bool
) -> None:
    """Create or update an agent for each good row of the batch; note each bad one on the job."""
    # Looked up per batch, so a large file costs a few queries per batch rather than per row.
    teams = {t.code: t for t in db.session.scalars(sa.select(Team))}
    agents = {
        a.code: a
        for a in db.session.scalars(
            sa.select(Agent)
            .where(Agent.code.in_({values["code"] for _line, values in batch}))
            .options(selectinload(Agent.team))
        )
    }
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    errors: list[dict[str, object]] = []
    created_codes: list[str] = []
    for line, values in batch:
        refusal = _check_row(line, values, teams, first_line, legacy)
        if refusal:
            reason, params = refusal
            error = {"line": line, "code": values["code"], "reason": reason, "params": params}
            with force_locale("en"):  # for the command line and anyone reading the JSON
                error["message"] = row_error_text(error)
            errors.append(error)
            continue
        team = teams[values["team_code"]]
        agent = agents.get(values["code"])
        if agent is None:
            agent = Agent(
                code=values["code"],
                name_zh=values["name_zh"],
                name_en=values["name_en"],
                team=team,
                active=True,
            )
            db.session.add(agent)
            created_codes.append(agent.code)
            counts["created"] += 1
            continue
        before = agent_state(agent)
        agent.name_zh, agent.name_en = values["name_zh"], values["name_en"]
        agent.team, agent.active = team, True
        old, new = audit.changes(before, agent_state(agent))
        if not new:
            counts["unchanged"] += 1
            continue
        counts["updated"] += 1
        action = "agent.move" if "team" in new else "agent.update"
        audit.record(actor, action, "agent", agent.id, old, new)
    db.session.flush()
    audit.record(
        actor,
        "agent.import",
        "import_job",
        job.id,
        None,
        {
            "file": job.filename,
            "lines": [batch[0][0], batch[-1][0]],
            **counts,
            "errors": len(errors),
            "created_codes": created_codes,
        },
    )
    # JSON columns are saved when given a new value, not when changed in place.
    job.counts = {k: job.counts.get(k, 0) + n for k, n in counts.items()}
    job.errors = [*job.errors, *errors]


def _check_row(
    line: int,
    values: dict[str, str],
    teams: dict[str, Team],
    first_line: dict[str, int],
    legacy: bool,
) -> tuple[str, dict[str, object]] | None:
    """Return why a row cannot be imported (a key of REASONS and its values), or None."""
    code = values["code"]
    if not code:
        return "code_empty", {}
    if len(code) > 60:
        return "code_long", {"n": 60}
    if not CODE_PATTERN.match(code):
        return "code_pattern", {}
    if first_line[code] != line:
        return "duplicate", {"code": code, "line": first_line[code]}
    for column in ("name_zh", "name_en"):
        if not values[column]:
            return ("name_empty" if legacy else f"{column}_empty"), {}
        if len(values[column]) > 120:
            return "name_long", {"n": 120}
    team = teams.get(values["team_code"])
    if not values["team_code"]:
        return "team_empty", {}
    if team is None:
        return "team_unknown", {"code": values["team_code"]}
    if not team.active:
        return "team_inactive", {"code": team.code}
    return None


def row_error_text(error: dict[str, Any]) -> str:
    """Return why a row of a job was refused, in the current language."""
    return str(REASONS[error["reason"]]) % error["params"]


def recent_jobs(limit: int = 10) -> list[ImportJob]:
    """Return the latest imports, newest first."""
    return list(
        db.session.scalars(
            sa.select(ImportJob)
            .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
            .limit(limit)
        )
    )


def progress_of(job: ImportJob) -> dict[str, object]:
    """Return what the job page's bar shows, as JSON-able values."""
    return {
        "state": job.state,
        "finished": job.finished,
        "total_rows": job.total_rows,
        "done_rows": job.done_rows,
        "counts": {k: job.counts.get(k, 0) for k in ("created", "updated", "unchanged")},
        "errors": len(job.errors),
    }
