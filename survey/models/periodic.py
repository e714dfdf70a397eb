"""Which worker runs the periodic jobs: a lease one worker holds and renews while it lives."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db


class PeriodicLease(db.Model):
    __tablename__ = "periodic_lease"

    # The job family the lease is for, e.g. "sweep".
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    # host:pid:random of the worker process that holds it.
    holder: Mapped[str] = mapped_column(sa.String(120))
    until: Mapped[datetime]
