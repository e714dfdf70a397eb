"""A stamp the database moves whenever what intake keeps per process changes.

Triggers (migration 6b2e9d4c1a85) set ``config_stamp.stamp`` to a new random value on any
insert, update or delete of the dispatch rules, survey versions, settings, business
lines, teams and agents, in the transaction that makes the change. A process keeps its
copies of those under the stamp it read before them (survey.stamped): one read of this row
a post says whether they still hold.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db

# The tables whose rows the kept copies are made of.
WATCHED = ("dispatch_rule", "survey_version", "setting", "business_line", "team", "agent")


class ConfigStamp(db.Model):
    __tablename__ = "config_stamp"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    stamp: Mapped[str] = mapped_column(sa.String(40))
