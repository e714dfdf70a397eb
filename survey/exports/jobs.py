"""Large exports prepared in the background, with progress, kept a day for who asked for them.

A quality analyst asks for the raw responses of some filters; an ``ExportJob`` records the
request and a worker writes the file in batches (``tables.response_rows``), beating the
job's heartbeat and counting its rows as it goes. The file is written under a temporary
name of its own attempt and renamed when complete, so a half file is never served. A job
whose worker died is found by the periodic sweep (its heartbeat stops) and written again
from the start; the sweep also deletes files past their expiry.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from survey import audit, clock, hints, jobs, settings
from survey.exports import tables, writers
from survey.extensions import db
from survey.models import ExportJob, User
from survey.scoring import queries
from survey.scoring.queries import ScoreQuery

log = logging.getLogger(__name__)

# How long a finished file is kept for download.
KEEP_HOURS = 24
KEEP = timedelta(hours=KEEP_HOURS)
# Rows written between two heartbeats (a second or two of work, whatever the format).
PROGRESS_ROWS = 5000
# Longer than the slowest step without a heartbeat: zipping a million-row XLSX at the end.
STALLED_AFTER = timedelta(minutes=10)
# A queued job no worker has picked up in this long may have lost its queue message.
UNCLAIMED_AFTER = timedelta(minutes=1)
SHEET = "responses"


class Superseded(Exception):
    """Another worker took the job over (this one was thought dead); this one stops."""


def folder() -> Path:
    """Return the folder the finished files live in (created when missing)."""
    configured = current_app.config.get("SURVEY_EXPORT_FOLDER")
    path = Path(configured or os.path.join(current_app.instance_path, "exports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepare(actor: User, query: ScoreQuery, fmt: str, language: str) -> ExportJob:
    """Record an export of the query's responses for a worker to write; audit and commit it."""
    stamp = clock.now().astimezone(ZoneInfo(settings.bank_zone())).strftime("%Y%m%d%H%M")
    job = ExportJob(
        kind="responses",
        format=fmt,
        filters=tables.as_args(query),
        language=language,
        created_by_id=actor.id,
        download_name=f"responses-{query.date_from}-{query.date_to}-{stamp}.{fmt}",
    )
    db.session.add(job)
    db.session.flush()
    audit.record(
        actor,
        "export.prepare",
        "export_job",
        job.id,
        after={"format": fmt, **tables.describe(query)},
    )
    db.session.commit()
    # If the queue cannot take the hint, the sweep finds the queued job within minutes.
    hints.export_soon(job.id)
    return job


def run(job_id: int, progress: Callable[[int], None] | None = None) -> ExportJob | None:
    """Write the job's file from the start, one batch at a time; mark it done or failed.

    :param progress: called with the rows written so far at each heartbeat, and at the end.
    """
    won = jobs.claim(
        ExportJob,
        ExportJob.heartbeat_at,
        job_id,
        STALLED_AFTER,
        attempt=ExportJob.attempt + 1,
        rows_done=0,
        failure=None,
    )
    if not won:
        # Finished, missing, or another worker is on it right now.
        return db.session.get(ExportJob, job_id)
    job = db.session.get_one(ExportJob, job_id)
    attempt, fmt, place = job.attempt, job.format, folder()
    _remove_parts(place, job_id, keep=attempt)
    part = place / f".{job_id}-{attempt}.part"
    try:
        with force_locale(job.language):
            query = queries.parse(job.filters)
            header, keys = tables.response_header(query)
            _beat(job_id, attempt, rows_total=tables.response_count(query))
            counter = _Counter(job_id, attempt, progress)
            _write(fmt, header, counter.rows(tables.response_rows(query, keys)), str(part))
        final = place / f"{job_id}-{attempt}.{fmt}"
        os.replace(part, final)
        now = clock.now()
        finished = _update(
            job_id,
            attempt,
            state="done",
            rows_done=counter.done,
            rows_total=counter.done,  # responses counted while it ran are in the file too
            file_name=final.name,
            size_bytes=final.stat().st_size,
            finished_at=now,
            expires_at=now + KEEP,
        )
        if not finished:
            final.unlink(missing_ok=True)
            raise Superseded
        if progress:
            progress(counter.done)
    except Superseded:
        db.session.rollback()
        part.unlink(missing_ok=True)
        log.warning("export job %s: attempt %s was taken over by another worker", job_id, attempt)
    except Exception as error:
        db.session.rollback()
        part.unlink(missing_ok=True)
        log.exception("export job %s failed", job_id)
        _update(job_id, attempt, state="failed", failure=str(error)[:2000], finished_at=clock.now())
    db.session.expire_all()
    return db.session.get(ExportJob, job_id)


def _write(fmt: str, header: Sequence[str], rows: Iterable[Sequence[object]], path: str) -> None:
    if fmt == "csv":
        writers.csv_file(header, rows, path)
    else:
        # Read at call time, so that a test can lower the limit.
        writers.xlsx_file(header, rows, SHEET, sheet_rows=writers.SHEET_ROWS, path=path)


class _Counter:
    """Pass rows through, beating the job's heartbeat with its count every PROGRESS_ROWS."""

    def __init__(self, job_id: int, attempt: int, progress: Callable[[int], None] | None):
        self.job_id, self.attempt, self.progress = job_id, attempt, progress
        self.done = 0

    def rows(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        for row in rows:
            yield row
            self.done += 1
            if self.done % PROGRESS_ROWS == 0:
                _beat(self.job_id, self.attempt, rows_done=self.done)
                if self.progress:
                    self.progress(self.done)


def _beat(job_id: int, attempt: int, **values: Any) -> None:
    """Record progress and that this attempt is alive; raise Superseded if it is not the job's."""
    if not _update(job_id, attempt, heartbeat_at=clock.now(), **values):
        raise Superseded


def _update(job_id: int, attempt: int, **values: Any) -> bool:
    """Change the job if this attempt still holds it; commit. False if it does not."""
    result = db.session.execute(
        sa.update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.attempt == attempt, ExportJob.state == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _remove_parts(place: Path, job_id: int, keep: int) -> None:
    """Delete half-written files a dead worker left for this job."""
    for stale in place.glob(f".{job_id}-*.part"):
        if stale.name != f".{job_id}-{keep}.part":
            stale.unlink(missing_ok=True)


def unfinished_job_ids() -> list[int]:
    """Return jobs a worker should take up: queue messages lost, or workers that died."""
    return jobs.unfinished_ids(ExportJob, ExportJob.heartbeat_at, UNCLAIMED_AFTER, STALLED_AFTER)


def remove_expired() -> int:
    """Delete the files of exports past their expiry and mark them expired; return how many."""
    expired = db.session.scalars(
        sa.select(ExportJob).where(ExportJob.state == "done", ExportJob.expires_at <= clock.now())
    ).all()
    place = folder() if expired else None
    for job in expired:
        if place is not None and job.file_name:
            (place / job.file_name).unlink(missing_ok=True)
        job.state, job.file_name = "expired", None
    db.session.commit()
    return len(expired)


def visible_to(user: User, job: ExportJob) -> bool:
    """Whether a person may see a job and download its file: who asked for it, or an admin."""
    return user.role == "admin" or job.created_by_id == user.id


def download_path(job: ExportJob) -> Path | None:
    """Return the finished file while it may be downloaded, else None (not ready, expired)."""
    if job.state != "done" or not job.file_name or job.expires_at is None:
        return None
    if job.expires_at <= clock.now():
        return None
    path = folder() / job.file_name
    return path if path.is_file() else None


def record_download(actor: User, job: ExportJob) -> None:
    """Put a download in the audit trail (who, which job, which filters); commit."""
    audit.record(
        actor,
        "export.download",
        "export_job",
        job.id,
        after={"format": job.format, "rows": job.rows_done, "filters": job.filters},
    )
    db.session.commit()


def recent_jobs(user: User, limit: int = 10) -> list[ExportJob]:
    """Return the exports a person asked for, newest first."""
    return list(
        db.session.scalars(
            sa.select(ExportJob)
            .where(ExportJob.created_by_id == user.id)
            .order_by(ExportJob.created_at.desc(), ExportJob.id.desc())
            .limit(limit)
        )
    )


def progress_of(job: ExportJob) -> dict[str, object]:
    """Return what the job page's bar shows, as JSON-able values."""
    # The keys of the import job's progress, so that one script moves both bars.
    return {
        "state": job.state,
        "finished": job.finished,
        "total_rows": job.rows_total,
        "done_rows": job.rows_done,
    }
