"""intake: a stamp moved by every change of the rules, settings and organisation

Each post read the settings, the dispatch rules (with their surveys' newest published
versions) and its organisation codes: three statements, the same answers post after
post. A process now keeps them, under a stamp it reads first (survey.stamped); these
triggers move the stamp, in the changing transaction, on any insert, update or delete
of the tables they are made of, so the first post after a change in any process reads
them again. The stamp is a new random value each time (never a counter that a restore
or an emptied table could bring back to a value some process kept).

Revision ID: 6b2e9d4c1a85
Revises: f6c2a9e4b1d3
Create Date: 2026-12-07 06:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "6b2e9d4c1a85"
down_revision = "f6c2a9e4b1d3"
branch_labels = None
depends_on = None

WATCHED = ("dispatch_rule", "survey_version", "setting", "business_line", "team", "agent")
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade():
    op.create_table(
        "config_stamp",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", sa.String(length=40), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_config_stamp_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_stamp")),
    )
    if op.get_bind().dialect.name == "sqlite":
        new = "lower(hex(randomblob(16)))"
        op.execute(f"INSERT INTO config_stamp (id, stamp) VALUES (1, {new})")
        for table in WATCHED:
            for event in EVENTS:
                op.execute(
                    f"CREATE TRIGGER config_stamp_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"BEGIN INSERT OR REPLACE INTO config_stamp (id, stamp) VALUES (1, {new}); END"
                )
        return
    new = "md5(random()::text || clock_timestamp()::text)"
    op.execute(f"INSERT INTO config_stamp (id, stamp) VALUES (1, {new})")
    op.execute(
        "CREATE FUNCTION config_stamp_move() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO config_stamp (id, stamp) VALUES (1, {new}) "
        "ON CONFLICT (id) DO UPDATE SET stamp = EXCLUDED.stamp; RETURN NULL; END $$"
    )
    for table in WATCHED:
        # Once a statement, whatever rows it touched (an import of agents moves it once).
        op.execute(
            f"CREATE TRIGGER config_stamp_move AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION config_stamp_move()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS config_stamp_{table}_{event.lower()}")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS config_stamp_move ON {table}")
        op.execute("DROP FUNCTION IF EXISTS config_stamp_move()")
    op.drop_table("config_stamp")
