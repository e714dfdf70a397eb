"""What every background job shares: one worker claims it, its heartbeat says it is alive.

A job row (an import, an export) is the truth about the work; the queue message that
starts it is a hint. A worker claims the job with one conditional UPDATE, so only one
caller wins; a job whose queue message was lost, or whose worker stopped beating, is
found by the periodic sweep and enqueued again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from survey import clock
from survey.extensions import db


def claim(model: Any, heartbeat: Any, job_id: int, stalled_after: timedelta, **values: Any) -> bool:
    """Take a queued or stalled job for this worker, setting ``values`` too; commit.

    :param model: the job's model (its ``id`` and ``state`` columns are used).
    :param heartbeat: the column each committed batch touches.
    """
    now = clock.now()
    result = db.session.execute(
        sa.update(model)
        .where(
            model.id == job_id,
            sa.or_(
                model.state == "queued",
                sa.and_(model.state == "running", heartbeat <= now - stalled_after),
            ),
        )
        .values(state="running", **{heartbeat.key: now}, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def unfinished_ids(
    model: Any, heartbeat: Any, unclaimed_after: timedelta, stalled_after: timedelta
) -> list[int]:
    """Return jobs a worker should take up: queue messages lost, or workers interrupted."""
    now = clock.now()
    lost = sa.and_(model.state == "queued", model.created_at <= now - unclaimed_after)
    stalled = sa.and_(model.state == "running", heartbeat <= now - stalled_after)
    return list(db.session.scalars(sa.select(model.id).where(sa.or_(lost, stalled))))
