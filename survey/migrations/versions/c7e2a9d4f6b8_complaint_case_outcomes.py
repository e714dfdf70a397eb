"""complaint cases: each resolved case's outcome of the three commitments, stored

Revision ID: c7e2a9d4f6b8
Revises: a9d3c5e7f1b2
Create Date: 2026-12-06 15:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7e2a9d4f6b8"
down_revision = "a9d3c5e7f1b2"
branch_labels = None
depends_on = None

OUTCOMES = ("first_reply_outcome", "final_outcome", "regulator_outcome")


def upgrade():
    # Not in batch mode: SQLite adds a plain column in place, where a batch would copy the
    # complaint_case table, which interactions and invitations refer to.
    for name in OUTCOMES:
        op.add_column("complaint_case", sa.Column(name, sa.String(length=6), nullable=True))
    op.add_column(
        "complaint_case", sa.Column("outcomes_basis", sa.String(length=16), nullable=True)
    )
    _stamp_resolved_cases()


def _stamp_resolved_cases() -> None:
    """Stamp the resolved cases so far under the settings as they stand (none on a new database)."""
    from flask import current_app
    from sqlalchemy.orm import Session

    from survey.scoring import complaint_outcomes, complaints
    from survey.settings import DEFAULTS
    from survey.workcal import WorkCalendar

    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM complaint_case LIMIT 1")).first() is None:
        return
    setting = sa.table("setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    stored = {key: value for key, value in bind.execute(sa.select(setting.c.key, setting.c.value))}

    def get(key):
        return DEFAULTS[key] if stored.get(key) is None else stored[key]

    limits = complaints.Limits(
        first_reply_hours=int(get("complaint_first_reply_hours")),
        final_working_days=int(get("complaint_final_working_days")),
        regulator_days=int(get("complaint_regulator_days")),
    )
    calendar = WorkCalendar.build(
        current_app.config["SURVEY_TIMEZONE"],
        get("holidays"),
        get("makeup_workdays"),
        get("working_hours_start"),
        get("working_hours_end"),
    )
    # This revision's columns, as a plain table: a later revision may change the model.
    cases = sa.table(
        "complaint_case",
        sa.column("id", sa.Integer),
        sa.column("opened_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("first_reply_at", sa.DateTime(timezone=True)),
        sa.column("resolved_at", sa.DateTime(timezone=True)),
        *(sa.column(name, sa.String) for name in OUTCOMES),
        sa.column("outcomes_basis", sa.String),
    )
    with Session(bind=bind) as session:
        complaint_outcomes.refresh(session, limits, calendar, table=cases)


def downgrade():
    op.drop_column("complaint_case", "outcomes_basis")
    for name in reversed(OUTCOMES):
        op.drop_column("complaint_case", name)
