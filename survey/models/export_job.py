"""An export prepared in the background: who asked, for what, how far it has got, its file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey import clock
from survey.extensions import db

EXPORT_KINDS = ("responses",)
EXPORT_FORMATS = ("csv", "xlsx")
# expired: it was done, and its file has since been deleted.
EXPORT_STATES = ("queued", "running", "done", "failed", "expired")


class ExportJob(db.Model):
    __tablename__ = "export_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="responses")
    format: Mapped[str] = mapped_column(sa.String(4))
    # The query as URL parameters ("from", "to" and each filter, comma-separated), with the
    # days fixed when it was asked for, so a job run tomorrow exports the same days.
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The column titles are written in the language of the person who asked.
    language: Mapped[str] = mapped_column(sa.String(5), default="zh")
    state: Mapped[str] = mapped_column(sa.String(10), default="queued")
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    # Each claim by a worker is a new attempt, writing a temporary file of its own; a worker
    # whose attempt is no longer the job's stops and leaves the file to the one that took over.
    attempt: Mapped[int] = mapped_column(default=0)
    # Touched with each batch written: a running job whose heartbeat stops was interrupted.
    heartbeat_at: Mapped[datetime] = mapped_column(default=clock.now)
    # The finished file, relative to the export folder (instance/exports by default).
    file_name: Mapped[str | None] = mapped_column(sa.String(255))
    download_name: Mapped[str] = mapped_column(sa.String(255), default="")
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    failure: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None]
    # After this the file is deleted by the periodic sweep, and the job says so.
    expires_at: Mapped[datetime | None] = mapped_column(index=True)

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(EXPORT_KINDS), name="kind"),
        sa.CheckConstraint(sa.column("format").in_(EXPORT_FORMATS), name="format"),
        sa.CheckConstraint(sa.column("state").in_(EXPORT_STATES), name="state"),
        sa.Index("ix_export_job_created_by_id_created_at", "created_by_id", "created_at"),
        sa.Index("ix_export_job_state_heartbeat_at", "state", "heartbeat_at"),
    )

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "expired")
