"""A file import that runs in the background, with its progress and the rows it refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey import clock
from survey.extensions import db

IMPORT_KINDS = ("agents",)
IMPORT_STATES = ("queued", "running", "done", "failed")


class ImportJob(db.Model):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    # The file itself, in the database so that a worker on another host can read it.
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    total_rows: Mapped[int] = mapped_column(default=0)
    # Rows handled so far; committed with each batch, so a restarted job resumes after them.
    done_rows: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(sa.String(10), default="queued")
    # [{"line", "code", "message"}] for each refused row.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # {"created", "updated", "unchanged"} so far.
    counts: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)
    failure: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    # Touched by every committed batch: a running job whose heartbeat stops was interrupted.
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(IMPORT_KINDS), name="kind"),
        sa.CheckConstraint(sa.column("state").in_(IMPORT_STATES), name="state"),
    )

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")
