"""The Huey queue and thin task wrappers that call services.

Only this module knows Huey. The queue is a hint that something is due; the
database is the truth, and ``sweep_due`` re-derives the hints every minute.
Tasks run inside the app context of the app that bound the queue (the web
process enqueues, ``survey worker`` consumes); no app is built at import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qs, urlparse

from flask import Flask
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

P = ParamSpec("P")
R = TypeVar("R")

REQUEST_ID = "_request_id"


class SurveyHuey(Huey):
    """Huey that hands the enqueuing request's id to the task, for the worker's log lines."""

    def enqueue(self, task: Any) -> Any:
        from survey import logs

        request_id = logs.current_request_id()
        kwargs = getattr(task, "kwargs", None)
        if request_id and isinstance(kwargs, dict) and REQUEST_ID not in kwargs:
            kwargs[REQUEST_ID] = request_id
        return super().enqueue(task)


# Storage is replaced by init_app; until then nothing can be enqueued by accident
# into a shared queue.
huey = SurveyHuey("survey", storage_class=MemoryStorage, utc=True)
_app: Flask | None = None


class QueueFile(SqliteStorage):
    """Huey's SQLite storage in WAL with ``synchronous=NORMAL``: no fsync at each enqueue.

    The queue holds hints (DESIGN.md rule 1): the database is the truth and the minute
    sweep enqueues again whatever is due. Huey's default (``FULL``) syncs the file at every
    commit, a wait of a millisecond or more in each post that hints a send; ``NORMAL`` in
    WAL keeps every commit across a crash of the process and is never corrupted by a
    power cut, which may at worst lose the last hints (found again by the next sweep).
    """

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn


def storage_for(url: str, name: str = "survey") -> Any:
    """Build Huey storage from SURVEY_QUEUE_URL: ``sqlite:///path`` or ``redis://host:port/db``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        return QueueFile(name, filename=path, timeout=10)
    if parsed.scheme in ("redis", "rediss"):
        prefix = parse_qs(parsed.query).get("prefix", [name])[0]
        clean = url.split("?", 1)[0]
        from redis import ConnectionPool

        # Every Redis call has a timeout; it must outlast the blocking dequeue (read_timeout=1).
        pool = ConnectionPool.from_url(clean, socket_timeout=5, socket_connect_timeout=5)
        return RedisStorage(prefix, connection_pool=pool, read_timeout=1)
    if parsed.scheme == "memory":
        return MemoryStorage(name)
    raise ValueError(f"unsupported SURVEY_QUEUE_URL scheme {parsed.scheme!r}")


def init_app(app: Flask) -> None:
    """Bind the queue to this app's storage and app context."""
    global _app
    _app = app
    huey.storage = storage_for(app.config["SURVEY_QUEUE_URL"])


def in_app_context(func: Callable[P, R]) -> Callable[P, R]:
    """Run a task inside the bound app's context, with a fresh database session."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if _app is None:
            raise RuntimeError("the queue is not bound to an app: call tasks.init_app(app)")
        from survey import logs
        from survey.extensions import db

        request_id = kwargs.pop(REQUEST_ID, None)
        token = logs.bind_request_id(str(request_id) if request_id else logs.current_request_id())
        with _app.app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()
                logs.reset_request_id(token)

    return wrapper


@huey.task(name="send_invitation")
@in_app_context
def send_invitation(invitation_id: int) -> str:
    """Send one invitation that is due (the service decides whether it still is)."""
    from survey.dispatch import sending

    return sending.send_invitation(invitation_id)


# Batch senders the sweep starts at most: enough to keep every worker thread of a few
# processes busy; each one that comes back with a full batch starts the next itself.
SENDERS = 16


@huey.periodic_task(crontab(minute="*"), name="sweep_due")
@in_app_context
def sweep_due() -> int:
    """Enqueue again what the database says is due: invitations, unfinished imports and exports.

    Invitations whose link lapsed unanswered are marked expired on the way, partial
    responses idle past the closing hours are closed and counted, the owners of new and
    overdue follow-up cases are told, due reminders are handed out one by one, and export
    files past their expiry are deleted.
    Due invitations are not handed out one by one: the sweep starts senders
    (``send_due``), each of which claims a batch and sends it; invitations stuck
    mid-send (a lost task, a crash) are reconciled one by one. Complaint cases counted
    under other settings than today's are handed to ``restamp_complaints``.
    """
    from survey.admin.services import agent_import
    from survey.dispatch import claims, leader, reminders, sending
    from survey.exports import jobs as export_jobs
    from survey.followup import notify
    from survey.responses import partials

    if not leader.hold("sweep"):
        # Another worker runs the periodic jobs; this one takes over if that one dies.
        return 0
    sending.expire_overdue()
    partials.close_due()
    notify.send_due()  # the owners of new and newly overdue follow-up cases
    due_reminders = reminders.due_invitation_ids()
    for invitation_id in due_reminders:
        send_reminder(invitation_id)
    stuck = claims.stuck_invitation_ids()
    for invitation_id in stuck:
        send_invitation(invitation_id)
    limit = int(_app.config.get("SURVEY_SENDERS", SENDERS)) if _app else SENDERS
    senders = min(-(-claims.due_count() // claims.BATCH), limit)
    for _ in range(senders):
        send_due()
    jobs = agent_import.unfinished_job_ids()
    for job_id in jobs:
        import_agents(job_id)
    exports = export_jobs.unfinished_job_ids()
    for job_id in exports:
        export_responses(job_id)
    export_jobs.remove_expired()
    restamping = complaint_restamp_due()
    if restamping:
        restamp_complaints()
    return len(stuck) + len(due_reminders) + senders + len(jobs) + len(exports) + restamping


def complaint_restamp_due() -> bool:
    """Whether complaint cases wait to be stamped under the current settings (a few probes)."""
    from survey import workcal
    from survey.extensions import db
    from survey.scoring import complaint_cases, complaint_outcomes

    return complaint_outcomes.restamp_due(
        db.session, complaint_cases.limits(), workcal.from_settings()
    )


@huey.task(name="send_due")
@in_app_context
def send_due() -> int:
    """Claim a batch of due invitations and send it; while batches come full, go on.

    The follow-on task keeps a backlog draining between sweeps; a sender that finds
    less than a full batch stops, and the next sweep starts senders again.
    """
    from survey.dispatch import claims

    outcomes = claims.send_due()
    if outcomes["claimed"] == claims.BATCH:
        send_due()
    return outcomes["claimed"]


@huey.task(name="send_reminder")
@in_app_context
def send_reminder(invitation_id: int) -> str:
    """Send an invitation's one reminder, if it is due and still wanted."""
    from survey.dispatch import reminders

    return reminders.send_reminder(invitation_id)


@huey.task(name="import_agents")
@in_app_context
def import_agents(job_id: int) -> str:
    """Import an uploaded CSV file of agents, batch by batch, recording progress on its job."""
    from survey.admin.services import agent_import

    job = agent_import.run(job_id)
    return job.state if job else "missing"


@huey.task(name="export_responses")
@in_app_context
def export_responses(job_id: int) -> str:
    """Write a responses export file, batch by batch, recording progress on its job."""
    from survey.exports import jobs as export_jobs

    job = export_jobs.run(job_id)
    return job.state if job else "missing"


@huey.task(name="restamp_complaints")
@in_app_context
def restamp_complaints() -> int:
    """Stamp complaint cases again under the current settings, batch by batch (one at a time)."""
    from survey import workcal
    from survey.dispatch import leader
    from survey.extensions import db
    from survey.scoring import complaint_cases, complaint_outcomes

    # One worker at a time (two would only wait for each other's locks); the lease is
    # renewed after every batch, so a worker that dies leaves it to the next sweep.
    if not leader.hold("restamp"):
        return 0
    try:
        return complaint_outcomes.restamp(
            db.session,
            complaint_cases.limits(),
            workcal.from_settings(),
            progress=lambda done: leader.hold("restamp"),
        )
    finally:
        leader.release("restamp")


# Daily at 19:30 UTC: 03:30 in the bank's default zone, when hardly anyone is surveyed.
@huey.periodic_task(crontab(hour="19", minute="30"), name="apply_retention")
@in_app_context
def apply_retention() -> int:
    """Remove personal data older than the organisation's retention setting (when set)."""
    from survey import retention
    from survey.dispatch import leader

    if not leader.hold("sweep"):
        return 0
    return retention.run_nightly()


def enqueue_send(invitation_id: int) -> None:
    """Ask a worker to send an invitation now (after the caller's commit)."""
    send_invitation(invitation_id)


def queue_depth() -> int:
    """Return how many tasks wait in the queue (for /metrics)."""
    return int(huey.pending_count())


def queue_reachable() -> None:
    """Ask the queue's storage one cheap question; raise when it cannot answer (for /readyz)."""
    huey.pending_count()


def consumer(workers: int = 2, periodic: bool = True) -> Any:
    """Return a Huey consumer for the bound queue (threads; the work is I/O-bound)."""
    return huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        initial_delay=0.1,
        max_delay=1.0,
        backoff=1.15,
        check_worker_health=True,
    )
