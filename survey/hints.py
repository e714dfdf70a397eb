"""Hints to the queue that work is due, for the services that the task module calls.

Services import this module instead of ``survey.tasks`` (which imports them),
so no import circle forms. The database stays the truth: when a hint cannot be
given (the queue is down), the periodic sweep finds the work anyway.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def send_soon(invitation_id: int) -> bool:
    """Ask a worker to send an invitation now (after the caller's commit); False if it could not."""
    from survey import tasks

    try:
        tasks.enqueue_send(invitation_id)
    except Exception:
        log.exception("could not enqueue invitation %s; the sweep will send it", invitation_id)
        return False
    return True


def import_soon(job_id: int) -> bool:
    """Ask a worker to run an import job; False if the queue could not take it."""
    from survey import tasks

    try:
        tasks.import_agents(job_id)
    except Exception:
        log.exception("could not enqueue import job %s", job_id)
        return False
    return True


def export_soon(job_id: int) -> bool:
    """Ask a worker to write an export job; False if the queue could not take it."""
    from survey import tasks

    try:
        tasks.export_responses(job_id)
    except Exception:
        log.exception("could not enqueue export job %s; the sweep will take it up", job_id)
        return False
    return True


def restamp_soon() -> bool:
    """Ask a worker to stamp complaint cases again under the new settings; False if it could not."""
    from survey import tasks

    try:
        tasks.restamp_complaints()
    except Exception:
        log.exception("could not enqueue the complaint restamp; the sweep will start it")
        return False
    return True
