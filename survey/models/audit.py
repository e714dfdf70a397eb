"""The audit trail: who changed what, when, from what to what. Rows are only ever added."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey import clock
from survey.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    # Kept without a foreign key: the record must outlive any change to the account.
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    # Who it was at the time (an e-mail address, "cli", "system"), readable without a join.
    actor_label: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(60))
    entity_type: Mapped[str] = mapped_column(sa.String(40), index=True)
    entity_id: Mapped[str | None] = mapped_column(sa.String(60))
    before: Mapped[Any | None] = mapped_column(sa.JSON)
    after: Mapped[Any | None] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(45))


def _refuse_change(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise RuntimeError(f"audit events are append-only (event {target.id})")


# The record is only worth something if nothing can rewrite it through the ORM.
sa.event.listen(AuditEvent, "before_update", _refuse_change)
sa.event.listen(AuditEvent, "before_delete", _refuse_change)
