"""The funnel's coarser rollups: kept by triggers equal to the finest one, read by the planner.

Whatever happens to invitations (through the real paths: the API, the sender, Twilio's
signed callbacks, SMS replies, the survey page, the sweep), on any day, each coarser table
(by day and by month, without the agent) must equal a GROUP BY of ``funnel_rollup``, and the
funnel the API answers must be the same to the byte whichever tables the planner reads. The
triggers the migrations make must be those ``metadata.create_all`` makes.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey import clock
from survey.dispatch import sending
from survey.extensions import db
from survey.funnel import rebuilding, report
from survey.models import FunnelRollup, Invitation
from survey.models import funnel_grains as grains
from survey.models.funnel import COUNTERS
from survey.scoring.rollup import month_of
from tests.fixtures.dispatch import interaction_body, sweep_at
from tests.test_respond_steps import STEPS, step

# Instants that fall on either side of the bank's (Shanghai's) month and year boundaries,
# which are 16:00 UTC: a coarser table must put each on the bank's day and month.
INSTANTS = (
    datetime(2026, 11, 30, 3, 0, tzinfo=UTC),  # 30 Nov 11:00 in Shanghai
    datetime(2026, 10, 31, 16, 30, tzinfo=UTC),  # 1 Nov 00:30 in Shanghai
    datetime(2026, 10, 31, 15, 30, tzinfo=UTC),  # 31 Oct 23:30 in Shanghai
    datetime(2026, 9, 10, 9, 0, tzinfo=UTC),
    datetime(2025, 12, 31, 16, 10, tzinfo=UTC),  # 1 Jan 2026 in Shanghai
)
AGENTS = ("A1042", "A2001", "A3003")
SERIAL = itertools.count(1)


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


@pytest.fixture
def bank(make_org, make_default_rule, make_published_survey):
    """Chats get a call, branch visits a two-way SMS, loans are sampled out, the rest an SMS
    link then e-mail with a reminder after 24 hours."""
    make_org()
    survey = make_published_survey()
    make_default_rule(survey, filters={"channel": ["chat"]}, channels=["voice"])
    make_default_rule(survey, filters={"channel": ["branch"]}, channels=["sms"], sms_mode="two_way")
    make_default_rule(survey, filters={"category": ["loan"]}, sample_rate=0.0)
    make_default_rule(survey, channels=["sms", "email"], reminder_hours=24)
    return survey


def _post(
    post_interaction,
    at: datetime,
    customer: str | None = None,
    phone: bool = True,
    email: bool = True,
    **fields: Any,
) -> int | None:
    """Post an interaction at an instant (for a customer of its own); the invitation id or None."""
    n = next(SERIAL)
    clock.freeze(at)
    person: dict[str, Any] = {
        "external_id": customer or f"G-{n}",
        "locale": "en",
        # Awake at every instant above: quiet hours defer nothing here.
        "timezone": "Europe/London",
    }
    if phone:
        person["phone"] = f"+4477009{n:05d}"
    if email:
        person["email"] = f"g{n}@example.cn"
    body = interaction_body(
        external_id=f"GRAIN-{n}", occurred_at=at.isoformat(), customer=person, **fields
    )
    answer = post_interaction(body)
    assert answer.status_code == 201, answer.get_json()
    invitation = answer.get_json()["invitation"]
    return invitation["id"] if invitation else None


def coarser_rows(table: sa.Table, grain: str) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """A coarser table's rows with a count, by key."""
    columns = [table.c[grain], *(table.c[f] for f in grains.FIELDS)]
    rows = db.session.execute(sa.select(*columns, *(table.c[c] for c in COUNTERS))).all()
    width = len(columns)
    return {
        tuple(_date(v) for v in row[:width]): tuple(row[width:]) for row in rows if any(row[width:])
    }


def grouped_finest(grain: str) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The finest table summed as a coarser table keeps it (months worked out here, in Python)."""
    table = FunnelRollup.__table__
    rows = db.session.execute(
        sa.select(
            table.c.day, *(table.c[f] for f in grains.FIELDS), *(table.c[c] for c in COUNTERS)
        )
    ).all()
    width = 1 + len(grains.FIELDS)
    summed: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        day = _date(row[0])
        key = (day if grain == "day" else month_of(day), *row[1:width])
        into = summed.setdefault(key, [0] * len(COUNTERS))
        for i, value in enumerate(row[width:]):
            into[i] += value
    return {key: tuple(counts) for key, counts in summed.items() if any(counts)}


def _date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else value


def assert_grains_agree() -> None:
    db.session.expire_all()
    for table, grain in grains.GRAINS:
        assert coarser_rows(table, grain) == grouped_finest(grain), table.name


def assert_plans_answer_alike(extra: dict[str, str] | None = None) -> None:
    """The funnel by the planner's plan is the funnel read from the finest table, to the byte."""
    ranges = [
        {"from": "2025-12-01", "to": "2026-11-30"},  # whole months and days
        {"from": "2025-12-20", "to": "2026-11-30"},
        {"from": "2026-10-15", "to": "2026-11-10"},
        {"from": "2026-11-01", "to": "2026-11-30"},  # one whole month
        {"from": "2026-10-31", "to": "2026-11-01"},  # days only
    ]
    filters = [{}, {"survey_channel": "sms"}, {"business_line": "personal"}, {"agent": AGENTS[0]}]
    for days, where in itertools.product(ranges, filters):
        query = report.parse({**days, **where, **(extra or {})})
        planned = json.dumps(report.funnel(query))
        assert planned == json.dumps(report.funnel(query, finest=True)), (days, where)


# One funnel event: what happens, to which of the invitations made so far, and on which day.
EVENTS = st.lists(
    st.tuples(
        st.sampled_from(
            (
                "invite",
                "invite_branch",
                "invite_chat",
                "suppress",
                "send",
                "deliver",
                "undeliver",
                "open",
                "start",
                "complete",
                "close_partial",
                "opt_out",
                "remind",
            )
        ),
        st.integers(0, 50),
        st.sampled_from(INSTANTS),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=EVENTS)
def test_coarser_tables_equal_the_finest_summed_after_any_funnel_events(
    bank, post_interaction, client, twilio_post, reply, events
):
    # Examples add up in one database: what holds after each holds after all of them.
    made: list[tuple[int, datetime]] = []
    for kind, pick, at in events:
        if kind.startswith("invite") or kind == "suppress" or not made:
            fields: dict[str, Any] = {"agent": AGENTS[pick % len(AGENTS)]}
            if kind == "invite_branch":
                fields["channel"] = "branch"
            elif kind == "invite_chat":
                fields["channel"] = "chat"
            elif kind == "suppress":
                # Sampled out; nowhere to send it; or asked too recently (after the first).
                fields.update(
                    [
                        {"category": "loan"},
                        {"phone": False, "email": False},
                        {"customer": "G-AGAIN"},
                    ][pick % 3]
                )
            invitation_id = _post(post_interaction, at, **fields)
            if invitation_id is not None:
                made.append((invitation_id, at))
            continue
        invitation_id, made_at = made[pick % len(made)]
        _happen(kind, invitation_id, made_at, client, twilio_post, reply)
    assert_grains_agree()
    assert_plans_answer_alike()


def _happen(kind, invitation_id, made_at, client, twilio_post, reply) -> None:
    """One event on one invitation, a little after it was made, through the real paths."""
    clock.freeze(made_at + timedelta(minutes=5))
    db.session.expire_all()
    invitation = db.session.get_one(Invitation, invitation_id)
    if kind == "send":
        sending.send_invitation(invitation_id)
    elif kind in ("deliver", "undeliver") and invitation.deliveries:
        delivery = invitation.deliveries[-1]
        if delivery.provider_id and delivery.channel == "sms":
            state = {"deliver": "delivered", "undeliver": "undelivered"}[kind]
            answer = twilio_post(
                "/webhooks/twilio/status",
                MessageSid=delivery.provider_id,
                MessageStatus=state,
                **({"ErrorCode": "30003"} if state == "undelivered" else {}),
            )
            assert answer.status_code < 500
    elif kind == "open":
        assert client.get(f"/s/{invitation.token}").status_code < 500
    elif kind == "start":
        assert step(client, invitation, *STEPS[0]).status_code < 500
    elif kind == "complete":
        for key, value in [*STEPS, ("comment", "")]:
            assert step(client, invitation, key, value).status_code < 500
    elif kind == "close_partial":
        sweep_at(made_at + timedelta(hours=49))
    elif kind == "remind":
        sweep_at(made_at + timedelta(hours=24, minutes=1))
    elif kind == "opt_out":
        sms = [d for d in invitation.deliveries if d.channel == "sms" and d.address]
        if sms:
            assert reply("STOP", sender=sms[0].address).status_code < 500
    db.session.expire_all()


def test_the_planner_reads_months_and_days_without_the_agent_unless_agents_are_asked_for(
    bank, post_interaction
):
    _post(post_interaction, INSTANTS[0], agent=AGENTS[0])
    year = report.parse({"from": "2025-12-20", "to": "2026-11-30"})
    assert report.plan_of(year).describe() == (
        "funnel_rollup_segment_day[2025-12-20..2025-12-31]"
        " + funnel_rollup_segment_month[2026-01-01..2026-11-01]"
    )
    by_line = report.parse({"from": "2026-09-02", "to": "2026-11-30", "business_line": "personal"})
    assert report.plan_of(by_line).tables == (
        "funnel_rollup_segment_day",
        "funnel_rollup_segment_month",
    )
    by_agent = report.parse({"from": "2025-12-20", "to": "2026-11-30", "agent": AGENTS[0]})
    assert report.plan_of(by_agent).tables == ("funnel_rollup",)


def test_a_day_counts_in_the_banks_month_not_utcs(bank, post_interaction):
    # 16:30 UTC on 31 October is 00:30 on 1 November in Shanghai.
    _post(post_interaction, datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
    months = coarser_rows(grains.SEGMENT_MONTH, "month")
    assert {key[0] for key in months} == {date(2026, 11, 1)}
    days = coarser_rows(grains.SEGMENT_DAY, "day")
    assert {key[0] for key in days} == {date(2026, 11, 1)}


def test_deleting_or_moving_finest_rows_keeps_the_coarser_tables_right(bank, post_interaction):
    for at, agent in itertools.product(INSTANTS[:3], AGENTS):
        _post(post_interaction, at, agent=agent)
    assert_grains_agree()
    table = FunnelRollup.__table__
    first = db.session.scalars(sa.select(table.c.id).order_by(table.c.id)).first()
    # A row changes its key (another day, another channel), as a correction would.
    db.session.execute(
        table.update()
        .where(table.c.id == first)
        .values(day=date(2026, 6, 15), survey_channel="email", invited=table.c.invited + 2)
    )
    assert_grains_agree()
    # Rows go, as a deletion of old data would take them.
    db.session.execute(table.delete().where(table.c.day == date(2026, 11, 1)))
    db.session.commit()
    assert_grains_agree()
    assert_plans_answer_alike()


def test_a_rebuild_gives_the_same_coarser_tables_and_counts_nothing_twice(
    bank, post_interaction, client
):
    for at, agent in itertools.product(INSTANTS, AGENTS[:2]):
        invitation_id = _post(post_interaction, at, agent=agent)
        clock.freeze(at + timedelta(minutes=1))
        sending.send_invitation(invitation_id)
    _post(post_interaction, INSTANTS[0], category="loan")
    db.session.expire_all()
    kept = {t.name: coarser_rows(t, g) for t, g in grains.GRAINS}
    assert all(kept.values())
    rebuilding.rebuild()
    assert {t.name: coarser_rows(t, g) for t, g in grains.GRAINS} == kept
    rebuilding.rebuild()  # twice: still once each
    assert {t.name: coarser_rows(t, g) for t, g in grains.GRAINS} == kept
    assert_grains_agree()


def _triggers(connection: sa.Connection, schema: str | None = None) -> list[str]:
    """The triggers on funnel_rollup (and PostgreSQL's trigger function), as text."""
    if connection.dialect.name == "sqlite":
        rows = connection.execute(
            sa.text(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'funnel_rollup' ORDER BY name"
            )
        )
        return [" ".join(row[0].split()) for row in rows]
    schema = schema or connection.execute(sa.text("SELECT current_schema()")).scalar_one()
    triggers = connection.execute(
        sa.text(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'funnel_rollup' AND n.nspname = :schema AND NOT t.tgisinternal "
            "ORDER BY t.tgname"
        ),
        {"schema": schema},
    )
    functions = connection.execute(
        sa.text(
            "SELECT p.proname, p.prosrc FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = :name AND n.nspname = :schema"
        ),
        {"name": grains.PG_FUNCTION, "schema": schema},
    )
    found = [
        f"{name}: {' '.join(text.replace(schema + '.', '').split())}" for name, text in triggers
    ]
    return found + [f"{name}: {' '.join(text.split())}" for name, text in functions]


def test_the_migrations_and_create_all_make_the_same_triggers(db, tmp_path):
    with db.engine.connect() as connection:
        migrated = _triggers(connection)
    assert len(migrated) == (4 if db.engine.dialect.name == "sqlite" else 2)
    tables = [FunnelRollup.__table__, grains.SEGMENT_DAY, grains.SEGMENT_MONTH]
    if db.engine.dialect.name == "sqlite":
        scratch = sa.create_engine(f"sqlite:///{tmp_path / 'made.sqlite3'}")
        db.metadata.create_all(scratch, tables=tables)
        with scratch.connect() as connection:
            made = _triggers(connection)
        scratch.dispose()
    else:
        schema = f"made_{next(SERIAL)}"
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
            connection.execute(sa.text(f"SET LOCAL search_path TO {schema}"))
            db.metadata.create_all(connection, tables=tables)
            made = _triggers(connection, schema)
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    assert made == migrated
