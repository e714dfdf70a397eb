"""Loading the demo bank: deterministic, in bounded batches, with progress, and refusing to overwrite.

What the loaded data looks like (its shares, its story, its scores) is tests/test_demo_bank.py.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from survey import clock, demo
from survey.auth import service as auth_service
from survey.demo import interactions as demo_interactions
from survey.demo.progress import Progress
from survey.extensions import db
from survey.models import (
    Address,
    Agent,
    Answer,
    Customer,
    Interaction,
    Invitation,
    Team,
    User,
)
from tests.databases import only_postgresql
from tests.fixtures.demo import demo_fingerprint

# For the order the test workers take the modules in (tests/conftest.py): each test loads a demo.
TEST_WEIGHT = 10

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 29)


def test_same_seed_day_and_size_give_the_same_data_and_another_seed_does_not(app, empty_database):
    demo.load(seed=11, today=TODAY, size=600)
    first = demo_fingerprint()
    empty_database()
    demo.load(seed=11, today=TODAY, size=600)
    again = demo_fingerprint()
    empty_database()
    demo.load(seed=12, today=TODAY, size=600)
    assert again == first
    assert demo_fingerprint() != first


def test_the_batch_size_changes_when_rows_are_written_not_what_is_written(app, empty_database):
    demo.load(seed=11, today=TODAY, size=600, batch_rows=97)
    small_batches = demo_fingerprint()
    empty_database()
    demo.load(seed=11, today=TODAY, size=600)
    assert demo_fingerprint() == small_batches


def test_demo_sign_ins_and_api_key_work(app, client):
    summary = demo.load(seed=3, today=TODAY, size=300)
    text = "\n".join(summary.lines())
    assert demo.DEMO_PASSWORD in text
    for email in ("admin@demo.bank", "manager@demo.bank", "quality@demo.bank"):
        assert email in text
        client.post("/auth/logout")
        response = client.post("/auth/login", data={"email": email, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, email
    assert auth_service.api_key_for(summary.lines()[-1]) is not None


def test_demo_command_prints_the_sign_ins_and_reminds_of_them_when_data_is_there(runner):
    result = runner.invoke(args=["demo", "--size", "2000", "--today", "2026-11-29"])
    assert result.exit_code == 0, result.output
    assert "http://survey.test/auth/login" in result.output
    assert "admin@demo.bank" in result.output and "quality@demo.bank" in result.output
    assert demo.DEMO_PASSWORD in result.output
    assert db.session.scalar(sa.select(sa.func.count(Interaction.id))) == 2000

    again = runner.invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0
    assert "manager@demo.bank" in again.output and demo.DEMO_PASSWORD in again.output
    assert "survey apikey create NAME" in again.output  # the key itself is not kept readable
    assert db.session.scalar(sa.select(sa.func.count(Interaction.id))) == 2000


def test_demo_command_refuses_a_malformed_day(runner):
    result = runner.invoke(args=["demo", "--today", "29/11/2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_demo_refuses_a_database_with_data_and_writes_nothing(app, runner):
    auth_service.create_user("someone@bank.example", "admin", "a-long-password")
    db.session.commit()
    assert not demo.database_is_empty()
    with pytest.raises(demo.DemoError):
        demo.load(today=TODAY, size=100)
    result = runner.invoke(args=["demo", "--size", "100", "--today", "2026-11-29"])
    assert result.exit_code != 0
    assert "empty database" in result.output
    skipped = runner.invoke(args=["demo", "--if-empty", "--size", "100"])
    assert skipped.exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Interaction.id))) == 0


def test_rows_added_after_the_demo_get_fresh_ids(app):
    demo.load(today=TODAY, size=100)
    customer = Customer(external_id="C-NEW", name="新客户")
    db.session.add(customer)
    db.session.commit()
    assert customer.id > db.session.scalar(
        sa.select(sa.func.max(Customer.id)).where(Customer.external_id != "C-NEW")
    )


def test_demo_reports_progress_of_every_phase(app):
    reported: list[tuple[str, int, int]] = []
    assert demo.database_is_empty()
    demo.load(today=TODAY, size=200, progress=lambda *step: reported.append(step))
    phases = [phase for phase, _done, _total in reported]
    assert list(dict.fromkeys(phases)) == [
        "organisation",
        "customers",
        "interactions",
        "indexes",
        "commit",
        "rollups",
        "funnel",
        "follow-ups",
    ]
    for phase in set(phases):
        steps = [step for step in reported if step[0] == phase]
        assert steps[0][1] == 0, phase  # each phase says when it starts …
        assert steps[-1][1] == steps[-1][2] > 0, phase  # … and that it reached its total
    assert not demo.database_is_empty()


def test_progress_within_a_phase_comes_with_every_batch_written(app):
    reported: list[tuple[str, int, int]] = []
    demo.load(today=TODAY, size=2000, batch_rows=1000, progress=lambda *step: reported.append(step))
    interactions = [done for phase, done, _total in reported if phase == "interactions"]
    assert len(interactions) >= 8  # about 11,000 rows in batches of 1,000: no silent stretch
    assert interactions == sorted(interactions)
    assert interactions[-1] == 2000


def test_demo_command_off_a_terminal_logs_progress_lines_to_stderr(runner):
    result = runner.invoke(args=["demo", "--size", "300", "--today", "2026-11-29"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    for phase in ("customers", "interactions", "commit", "rollups"):
        assert f"demo: {phase} 0/" in result.stderr, phase
        finished = [line for line in lines if line.startswith(f"demo: {phase} ")][-1]
        assert " done in " in finished and "/s)" in finished, finished
    assert "\r" not in result.stderr  # no bar redrawn over itself in a log
    # The sign-ins and the key stay on stdout, the key alone on its last line.
    assert "admin@demo.bank" in result.stdout and "demo:" not in result.stdout
    assert auth_service.api_key_for(result.stdout.splitlines()[-1]) is not None


def test_demo_command_takes_a_size_in_answers(runner):
    result = runner.invoke(args=["demo", "--answers", "3000", "--today", "2026-11-29"])
    assert result.exit_code == 0, result.output
    answers = db.session.scalar(sa.select(sa.func.count(Answer.id)))
    assert abs(answers - 3000) <= 300
    assert db.session.scalar(sa.select(sa.func.count(Interaction.id))) > 3000  # about 0.9 each


def test_the_answers_asked_for_turn_into_interactions_by_the_measured_ratio():
    assert demo.interactions_for(18_007) == 20_000
    assert abs(demo.interactions_for(1_082_365) - 869_565) <= 1
    assert abs(demo.interactions_for(10_000_000) - 10_000_000 * 869_565 / 1_082_365) <= 1


def test_the_load_holds_at_most_a_batch_of_rows_and_a_day_of_interactions(app):
    summary = demo.load(seed=4, today=TODAY, size=6000, batch_rows=500)
    # One interaction brings at most a case, an invitation, two deliveries, an opt-out, a
    # response and its eight answers past the batch, and then it is written.
    assert 500 <= summary.peak_buffered_rows <= 500 + 15
    written = summary.counts["rows"]
    assert written > 20 * summary.peak_buffered_rows
    # Interactions wait for their survey's due time: about a day's (67 a day here), plus the
    # complaints that wait for their resolution, never the whole history.
    assert 0 < summary.peak_pending_interactions < 6000 / 10


def test_a_bigger_demo_has_more_days_agents_teams_and_customers_not_copies(app, monkeypatch):
    # The bank of 50,000 interactions, 2.5 times the base size (the least that splits a team is
    # about 2.26 times), with a tenth of its contacts a day: the base size a tenth too gives the
    # same scale, so the same days, agents and teams, in a tenth of the time (26 s a database).
    monkeypatch.setattr(demo_interactions, "BASE_SIZE", demo_interactions.BASE_SIZE // 10)
    assert demo_interactions.scale(5000) == (50000 / 20000) ** (1 / 3)
    summary = demo.load(seed=4, today=TODAY, size=5000, batch_rows=500)
    counts = summary.counts
    assert counts["days"] > 90 and summary.first_day == TODAY - timedelta(days=counts["days"] - 1)
    assert counts["agents"] > 42 and counts["teams"] > 9 and counts["customers"] == 2500
    agents = db.session.execute(
        sa.select(Agent.code, Team.code).join(Team, Team.id == Agent.team_id)
    ).all()
    assert ("A1042", "personal-complaints") in agents  # the API contract's example agent
    assert len({code for code, _team in agents}) == len(agents)
    busy = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Interaction.agent_id))).where(
            Interaction.occurred_at >= datetime(2026, 11, 1, tzinfo=UTC)
        )
    )
    assert busy == counts["agents"]  # every agent takes contacts, the new ones too
    addresses = db.session.scalar(sa.select(sa.func.count(Address.id)))
    distinct = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(Address.kind, Address.value).distinct().subquery()
        )
    )
    assert addresses == distinct > 2500


def test_without_a_day_the_demo_ends_now_in_the_banks_zone(app):
    clock.freeze(datetime(2026, 6, 10, 3, 30, tzinfo=UTC))  # 11:30 in Shanghai
    demo.load(seed=5, size=500)
    latest = db.session.scalar(sa.select(sa.func.max(Interaction.occurred_at)))
    assert latest <= clock.now()
    assert latest.astimezone(SHANGHAI).date() == date(2026, 6, 10)
    times = db.session.scalars(
        sa.select(Invitation.sent_at).where(Invitation.sent_at.is_not(None))
    ).all()
    assert max(times) <= clock.now()


def test_a_demo_loaded_before_the_banks_first_hour_is_over_has_nothing_today(app):
    clock.freeze(datetime(2026, 6, 10, 16, 35, tzinfo=UTC))  # 00:35 on the 11th in Shanghai
    demo.load(seed=5, size=500)
    latest = db.session.scalar(sa.select(sa.func.max(Interaction.occurred_at)))
    assert latest <= clock.now()
    assert latest.astimezone(SHANGHAI).date() == date(2026, 6, 10)


def test_the_database_keeps_its_durability_settings_after_a_load(app):
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:
        # The test run's own database commits without waiting for the disk (tests/conftest.py).
        before = db.session.execute(sa.text("SHOW synchronous_commit")).scalar()
        db.session.rollback()
    demo.load(today=TODAY, size=100)  # on SQLite, loads with synchronous=OFF on its connection
    if not postgresql:
        assert db.session.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL again
    else:
        # PostgreSQL's COPY needs no setting changed: the database's stays as it was.
        assert db.session.execute(sa.text("SHOW synchronous_commit")).scalar() == before


def test_progress_off_a_terminal_is_a_line_a_tenth_with_the_rate_and_time_left():
    out = io.StringIO()  # not a terminal, as a log file or a pipe
    with Progress(True, stream=out).phase("answers", 100) as step:
        for _ in range(10):
            step(10)
    lines = out.getvalue().splitlines()
    assert lines[0] == "demo: answers 0/100 started"
    between = lines[1:-1]
    assert len(between) == 9 and all("/s, " in line and " ETA " in line for line in between)
    assert between[4].startswith("demo: answers 50/100 (50%), ")
    assert lines[-1].startswith("demo: answers 100/100 done in ")


def test_the_demo_survey_s_trail_says_it_was_published_when_the_survey_list_does(app, client):
    from survey.models import AuditEvent, SurveyVersion
    from tests.fixtures.access import sign_in

    clock.freeze(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    try:
        demo.load(seed=3, today=date(2026, 11, 29), size=300)
    finally:
        clock.unfreeze()
    version = db.session.scalars(sa.select(SurveyVersion)).one()
    published = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "survey.publish")
    ).one()
    created = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "survey.create")
    ).one()
    assert published.at == version.published_at
    assert created.at == version.survey.created_at
    assert sign_in(client, "admin@demo.bank", demo.DEMO_PASSWORD).status_code == 302
    admin_client = client
    shown = version.published_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    en = {"Accept-Language": "en"}
    assert shown in admin_client.get("/designer/surveys", headers=en).get_data(as_text=True)
    assert shown in admin_client.get(
        "/admin/audit?entity_type=survey_version", headers=en
    ).get_data(as_text=True)


@only_postgresql  # the funnel is counted from the records on PostgreSQL
def test_the_funnel_counted_from_the_records_refuses_an_invitation_without_one(app):
    from survey.funnel.rebuilding import rebuild_from_records
    from survey.models import FunnelRollup

    demo.load(seed=11, today=TODAY, size=600)
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(FunnelRollup))
    first = db.session.scalar(sa.select(sa.func.min(Invitation.id)))
    db.session.execute(
        sa.update(Invitation).where(Invitation.id == first).values(funnel_channel=None)
    )
    with pytest.raises(RuntimeError, match="no funnel record"):
        rebuild_from_records()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FunnelRollup)) == rows


def _schema() -> dict[str, list[tuple]]:
    """PostgreSQL's own account of every constraint, index, trigger and storage parameter."""
    return {
        "constraints": sorted(
            db.session.execute(
                sa.text(
                    "SELECT conrelid::regclass::text, conname, contype, convalidated, "
                    "pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE connamespace = current_schema()::regnamespace"
                )
            ).all()
        ),
        "indexes": sorted(
            db.session.execute(
                sa.text(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = current_schema()"
                )
            ).all()
        ),
        "storage": sorted(
            db.session.execute(
                sa.text(
                    "SELECT relname, relkind, reloptions FROM pg_class "
                    "WHERE relnamespace = current_schema()::regnamespace "
                    "AND reloptions IS NOT NULL"
                )
            ).all()
        ),
        "triggers": sorted(
            db.session.execute(
                sa.text(
                    "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
                    "WHERE NOT tgisinternal"
                )
            ).all()
        ),
    }


@only_postgresql  # only PostgreSQL's load builds the keys and indexes after the rows
def test_the_demo_leaves_the_migrations_keys_and_indexes_as_they_were(app):
    before = _schema()
    assert any(name == "uq_invitation_token" for _table, name, *_ in before["constraints"])
    # Partial indexes (their definitions are compared whole) and storage parameters too.
    assert any("WHERE" in definition for *_, definition in before["indexes"])
    assert any("fillfactor=" in option for *_, options in before["storage"] for option in options)
    demo.load(seed=11, today=TODAY, size=600, defer_indexes=True)
    assert _schema() == before


@only_postgresql
def test_a_failed_load_leaves_the_keys_and_indexes_as_they_were(app, empty_database):
    demo.load(seed=11, today=TODAY, size=600, defer_indexes=True)
    taken = db.session.scalar(sa.select(Address.value).where(Address.kind == "phone").limit(1))
    empty_database()
    before = _schema()
    # An address the demo is about to make (nothing checks addresses for an empty database):
    # the unique key, built after the rows, refuses the load.
    db.session.add(Address(kind="phone", value=taken))
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError, match="uq_address_kind_value"):
        demo.load(seed=11, today=TODAY, size=600, defer_indexes=True)
    assert _schema() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 0


def _indexes() -> dict[str, tuple[int, bool]]:
    """Each index of the schema: its object's id, and whether older transactions may not use it."""
    return dict(
        (name, (oid, hidden))
        for name, oid, hidden in db.session.execute(
            sa.text(
                "SELECT c.relname, i.indexrelid, i.indcheckxmin FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relnamespace = current_schema()::regnamespace"
            )
        )
    )


@only_postgresql
def test_a_small_load_keeps_the_indexes_usable_by_a_transaction_already_running(app):
    """A small load writes its rows into the migrations' own indexes, which it keeps.

    An index made anew in a transaction that finds an updated row still visible to another
    transaction is hidden from every transaction older than it (``indcheckxmin``): while a
    long one runs anywhere on the server (another test process, a big load), plans cannot use
    it. Tests load small demos into databases whose earlier rows were updated and deleted.
    """
    before = _indexes()
    assert "ix_response_no_case_counted_at" in before
    with db.engine.connect() as older:
        older.execute(sa.text("SELECT pg_current_xact_id()"))  # an open transaction with an id
        customer = Customer(external_id="gone")
        db.session.add(customer)
        db.session.commit()
        customer.name = "renamed"  # an update in place: no indexed column changes
        db.session.commit()
        db.session.delete(customer)
        db.session.commit()
        demo.load(seed=11, today=TODAY, size=600)
        assert _indexes() == before
        older.rollback()


def _analyses() -> dict[str, int]:
    """How many times ANALYZE has run on each of this schema's tables."""
    return dict(
        db.session.execute(
            sa.text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema()"
            )
        ).all()
    )


@only_postgresql
def test_a_small_load_leaves_the_planners_statistics_alone(app):
    # Statistics gathered from one test's demo would outlive it and change later tests' plans.
    before = _analyses()
    demo.load(seed=11, today=TODAY, size=300)
    db.session.commit()
    assert _analyses() == before


@pytest.fixture
def fresh_postgresql_app(database_url, tmp_path, run_id):
    """An app on a PostgreSQL database of its own, dropped afterwards (its statistics with it)."""
    from tests.conftest import _app_on, make_test_config, migrated_postgresql_database

    name = f"survey_{run_id}_analyze"
    with (
        migrated_postgresql_database(name, tmp_path / "migrate") as url,
        _app_on(make_test_config(url, tmp_path)) as application,
    ):
        yield application


@only_postgresql
def test_a_big_load_ends_with_the_planners_statistics_on_every_table(fresh_postgresql_app):
    # Asked for at a small size here; a load gathers them by itself from
    # GATHER_STATISTICS_FROM interactions (without them a 10M bank's complaints page took 14 s).
    summary = demo.load(seed=11, today=TODAY, size=300, gather_statistics=True)
    analysed = _analyses()
    assert {table.name: analysed[table.name] for table in db.metadata.sorted_tables} == {
        table.name: 1 for table in db.metadata.sorted_tables
    }
    planned = db.session.scalar(
        sa.text("SELECT reltuples FROM pg_class WHERE relname = 'interaction'")
    )
    assert planned == summary.counts["interactions"]
    assert demo.GATHER_STATISTICS_FROM <= 300_000  # a million-answer load gathers them
    # And vacuumed once: every page marked all-visible, so the dashboards' index-only reads
    # of the rollups never visit the heap (a fresh 10M load read team × week 3× slower).
    vacuumed = dict(
        db.session.execute(
            sa.text(
                "SELECT relname, vacuum_count FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema()"
            )
        ).all()
    )
    assert {table.name: vacuumed[table.name] for table in db.metadata.sorted_tables} == {
        table.name: 1 for table in db.metadata.sorted_tables
    }
    hidden = db.session.scalar(
        sa.text(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'rollup%' AND relkind = 'r' "
            "AND relpages > 0 AND relallvisible < relpages"
        )
    )
    assert hidden == 0
