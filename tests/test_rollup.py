"""The rollup: answers added as responses complete, and the whole table rebuilt, agree."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey.models import Response, Rollup
from survey.models.rollup import CUBOIDS, FILLFACTOR, SEGMENT_COLUMNS
from survey.scoring import rollup
from tests.databases import only_postgresql
from tests.sent import statements_sent


def _table(db) -> list[tuple]:
    columns = [getattr(Rollup, c) for c in (*SEGMENT_COLUMNS, *rollup.COUNT_COLUMNS)]
    return sorted(tuple(row) for row in db.session.execute(sa.select(*columns)).all())


def _row(db, **where) -> Rollup:
    return db.session.scalars(sa.select(Rollup).filter_by(**where)).one()


def test_a_response_adds_its_scale_answers_with_top_and_bottom_counts(db, invite, record_response):
    invitation = invite(channel="chat", category="loan")
    record_response(
        invitation,
        {"attitude": 5, "wait_time": 2, "overall": 4, "nps": 6, "comment": "慢"},
        completed_at=datetime(2026, 11, 29, 2, 0, tzinfo=UTC),
    )
    overall = _row(db, kind="rating_5", dimension="overall")
    assert (overall.n, overall.total, overall.total_sq, overall.top, overall.bottom) == (
        1,
        4,
        16,
        1,
        0,
    )
    assert _row(db, kind="rating_5", dimension="wait_time").bottom == 1
    nps = _row(db, kind="nps_0_10")
    assert (nps.dimension, nps.n, nps.top, nps.bottom) == ("", 1, 0, 1)  # 6 is a detractor
    assert (overall.channel, overall.category, overall.survey_channel) == ("chat", "loan", "web")
    assert overall.agent_id == invitation.interaction.agent_id
    assert overall.interaction_type == "inquiry"
    # Text answers are not rolled up.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rollup)) == 4


def test_an_interaction_without_agent_or_category_rolls_up_under_zero_and_empty(
    db, invite, record_response
):
    record_response(invite(agent=None, category=None), {"overall": 3})
    row = _row(db, dimension="overall")
    assert (row.business_line_id, row.team_id, row.agent_id, row.category) == (0, 0, 0, "")


def test_the_day_is_the_bank_day_of_completion(db, invite, record_response):
    # 17:30 UTC on the 29th is 01:30 on the 30th in Shanghai.
    record_response(
        invite(), {"overall": 5}, completed_at=datetime(2026, 11, 29, 17, 30, tzinfo=UTC)
    )
    assert _row(db, dimension="overall").day == date(2026, 11, 30)


def test_responses_in_the_same_segment_add_up_in_one_row(db, invite, record_response):
    at = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    for value in (5, 4, 1):
        record_response(invite(), {"overall": value}, completed_at=at)
    row = _row(db, dimension="overall")
    assert (row.n, row.total, row.total_sq, row.top, row.bottom) == (3, 10, 42, 2, 1)


def test_an_unfinished_response_is_refused(db, invite):
    invitation = invite()
    response = Response(
        invitation=invitation,
        survey_version_id=invitation.survey_version_id,
        survey_channel="sms",
        locale="zh",
    )
    db.session.add(response)
    db.session.flush()
    with pytest.raises(ValueError):
        rollup.apply_response(response)


def _varied_answers(invite, record_response, start: datetime, count: int) -> None:
    """Responses spread over days, hours, segments and answer channels."""
    shapes = [
        {"channel": "phone", "agent": "A1001", "category": "account"},
        {"channel": "chat", "agent": "A2001", "category": "credit_card", "type": "complaint"},
        {"channel": "email", "agent": None, "category": None},
    ]
    for i in range(count):
        shape = shapes[i % len(shapes)]
        record_response(
            invite(**shape),
            {
                "attitude": 1 + i % 5,
                "overall": 1 + (i * 3) % 5,
                "nps": i % 11,
                "comment": "x",
            },
            completed_at=start + timedelta(hours=7 * i),
            survey_channel=("web", "sms", "voice")[i % 3],
        )


def test_rebuild_gives_the_same_table_as_adding_responses_one_by_one(db, invite, record_response):
    _varied_answers(invite, record_response, datetime(2026, 10, 1, 15, 0, tzinfo=UTC), 40)
    incremental = _table(db)
    assert len(incremental) > 20
    counted = rollup.rebuild(days_per_batch=3)
    assert _table(db) == incremental
    assert counted == 40 * 3


@pytest.mark.app_config(SURVEY_TIMEZONE="America/New_York")
def test_rebuild_agrees_across_a_daylight_saving_change(db, invite, record_response):
    # New York leaves DST on 2026-11-01: midnight is 04:00 UTC before, 05:00 UTC after.
    at = [
        datetime(2026, 10, 31, 3, 59, tzinfo=UTC),  # 23:59 on Oct 30
        datetime(2026, 10, 31, 4, 0, tzinfo=UTC),  # 00:00 on Oct 31
        datetime(2026, 11, 2, 4, 30, tzinfo=UTC),  # 23:30 on Nov 1
        datetime(2026, 11, 2, 5, 0, tzinfo=UTC),  # 00:00 on Nov 2
    ]
    for moment in at:
        record_response(invite(), {"overall": 4}, completed_at=moment)
    days = sorted(d for (d,) in db.session.execute(sa.select(Rollup.day)).all())
    assert days == [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]
    incremental = _table(db)
    rollup.rebuild(days_per_batch=1)
    assert _table(db) == incremental


def test_rebuild_counts_only_completed_responses_and_reports_progress(db, invite, record_response):
    _varied_answers(invite, record_response, datetime(2026, 11, 1, 1, 0, tzinfo=UTC), 12)
    invitation = invite()
    db.session.add(
        Response(
            invitation=invitation,
            survey_version_id=invitation.survey_version_id,
            survey_channel="sms",
            locale="zh",
        )
    )
    db.session.commit()
    expected = _table(db)
    seen: list[tuple[int, int]] = []
    assert rollup.rebuild(progress=lambda done, total: seen.append((done, total))) == 36
    assert _table(db) == expected
    assert seen[-1] == (36, 36)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_rebuild_repairs_a_table_that_drifted(db, invite, record_response):
    _varied_answers(invite, record_response, datetime(2026, 11, 1, 1, 0, tzinfo=UTC), 6)
    expected = _table(db)
    db.session.execute(sa.update(Rollup).values(n=999))
    record_response(invite(), {"overall": 5}, apply=False)  # bulk-loaded, never applied
    db.session.commit()
    rollup.rebuild()
    assert _table(db) != expected  # the bulk-loaded answer is now counted
    assert db.session.scalar(sa.select(sa.func.sum(Rollup.n))) == 6 * 3 + 1


def test_rebuild_of_nothing_leaves_an_empty_table(db):
    assert rollup.rebuild() == 0
    assert _table(db) == []


def test_a_response_about_no_complaint_case_is_applied_without_reading_for_one(
    db, invite, record_response
):
    """PostgreSQL: one statement (comments, every table); SQLite: a read, then the upserts."""
    response = record_response(
        invite(), {"overall": 4, "nps": 9, "comment": "好"}, apply=False, track=False
    )
    with statements_sent() as sent:
        assert rollup.apply_response(response) == 2
    seen = [statement for statement, _parameters in sent]
    assert not [s for s in seen if re.search(r"(FROM|JOIN) complaint_case\b", s)]
    if db.engine.dialect.name == "postgresql":
        assert len(seen) == 1
        assert "INSERT INTO comment" in seen[0]
    assert db.session.scalar(sa.text("SELECT count(*) FROM comment")) == 1


@only_postgresql  # a storage parameter of PostgreSQL's tables
def test_postgresql_leaves_room_on_every_rollup_page_for_updates_in_place(db):
    """A submission mostly updates rows; on a full page PostgreSQL also writes every index."""
    names = [c.name for c in CUBOIDS]
    options = dict(
        db.session.execute(
            sa.text("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:names)"),
            {"names": names},
        ).all()
    )
    assert options == {name: [f"fillfactor={FILLFACTOR}"] for name in names}
    assert FILLFACTOR < 100
