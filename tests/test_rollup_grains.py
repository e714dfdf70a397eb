"""Every rollup table equals a recomputation from the raw answers, whatever happened before.

Answers go through the real answer service (record, complete) and partial closing
(the sweep's ``partials.close_due``) while the movable clock crosses days, ISO weeks,
months and quarters; after each sequence every cuboid is compared with counts computed
here in Python from the responses, and again after ``rollup.rebuild``.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import hypothesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from survey import clock, settings
from survey.designer.service import create_from_starter, publish
from survey.designer.starters import SELF_SERVICE_CES
from survey.extensions import db as _db
from survey.models import Response
from survey.models.rollup import COUNT_COLUMNS, CUBOIDS, PERIOD_COLUMNS
from survey.responses import answers, partials
from survey.scoring import rollup

# For the order the test workers take the modules in (tests/conftest.py): its draws are long.
TEST_WEIGHT = 20


# Tuesday 29 December 2026, 22:00 in Shanghai: a day, a week, a month and a quarter end
# are near (Monday 4 January 2027 starts the next week).
START = datetime(2026, 12, 29, 14, 0, tzinfo=UTC)
SHAPES = [
    {"channel": "phone", "agent": "A1001", "category": "account"},
    {"channel": "chat", "agent": "A2001", "category": "credit_card", "type": "complaint"},
    {"channel": "email", "agent": None, "category": None, "type": "outbound"},
]
CAUSES = [None, "process", "attitude"]
KEYS = {0: ["attitude", "overall", "nps", "comment"], 1: ["effort"]}
TOP_FROM = {"rating_5": 4, "nps_0_10": 9, "ces_7": 5}
BOTTOM_TO = {"rating_5": 2, "nps_0_10": 6, "ces_7": 3}
SEGMENT = (
    "business_line_id",
    "team_id",
    "agent_id",
    "channel",
    "survey_channel",
    "category",
    "interaction_type",
    "survey_id",
    "cause",
)

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("invite"),
            st.integers(0, len(SHAPES) - 1),
            st.integers(0, len(CAUSES) - 1),
            st.integers(0, 1),
            st.sampled_from([2, 30, 72]),
        ),
        st.tuples(
            st.just("answer"),
            st.integers(0, 7),
            st.integers(0, 3),
            st.integers(0, 10),
            st.sampled_from(["web", "sms", "voice"]),
        ),  # fmt: skip
        st.tuples(st.just("complete"), st.integers(0, 7), st.sampled_from(["web", "sms"])),
        st.tuples(st.just("advance"), st.sampled_from([1, 5, 11, 26, 100, 24 * 8])),
        st.tuples(st.just("close")),
    ),
    min_size=4,
    max_size=18,
)

# A hand-written sequence that surely completes, closes and crosses a day, a week, a month
# and a quarter.
WALKTHROUGH = [
    ("invite", 0, 0, 0, 72),
    ("invite", 1, 1, 0, 72),
    ("invite", 2, 0, 1, 30),
    ("answer", 0, 0, 2, "web"),
    ("answer", 0, 1, 4, "web"),
    ("answer", 0, 2, 9, "web"),
    ("complete", 0, "web"),
    ("answer", 1, 1, 1, "sms"),
    ("advance", 26),
    ("answer", 2, 0, 6, "voice"),
    ("close",),
    ("answer", 1, 2, 10, "sms"),
    ("advance", 100),
    ("close",),
    ("invite", 1, 2, 0, 72),
    ("answer", 3, 1, 0, "web"),
    ("complete", 3, "web"),
]


def _expected(cuboid) -> dict[tuple, tuple]:
    """One cuboid's rows, computed from the counted responses without any rollup code."""
    zone = ZoneInfo(settings.bank_zone())
    rows: dict[tuple, list[int]] = {}
    counted = sa.select(Response).where(Response.counted_at.is_not(None))
    for response in _db.session.scalars(counted):
        interaction = response.invitation.interaction
        day = response.counted_at.astimezone(zone).date()
        period = {
            "day": day,
            "week": day - timedelta(days=day.weekday()),
            "month": date(day.year, day.month, 1),
            "quarter": date(day.year, (day.month - 1) // 3 * 3 + 1, 1),
        }[cuboid.grain]
        values = {
            "business_line_id": interaction.business_line_id or 0,
            "team_id": interaction.team_id or 0,
            "agent_id": interaction.agent_id or 0,
            "channel": interaction.channel,
            "survey_channel": response.survey_channel,
            "category": interaction.category or "",
            "interaction_type": interaction.type,
            "survey_id": response.version.survey_id,
            "cause": interaction.complaint_cause or "",
        }
        for answer in response.answers:
            kind = answer.question.kind
            if kind not in TOP_FROM or answer.value_int is None:
                continue
            value = answer.value_int
            values.update(kind=kind, dimension=answer.question.dimension or "")
            key = (period, *(values[f] for f in cuboid.fields))
            sums = rows.setdefault(key, [0, 0, 0, 0, 0])
            for i, add in enumerate(
                (1, value, value * value, value >= TOP_FROM[kind], value <= BOTTOM_TO[kind])
            ):
                sums[i] += int(add)
    return {key: tuple(sums) for key, sums in rows.items()}


def _stored(cuboid) -> dict[tuple, tuple]:
    table = cuboid.table
    key = [table.c[cuboid.grain], *(table.c[f] for f in cuboid.fields)]
    found: dict[tuple, tuple] = {}
    for row in _db.session.execute(
        sa.select(*key, *(table.c[c] for c in COUNT_COLUMNS), *_periods(cuboid))
    ):
        width = len(key)
        found[tuple(row[:width])] = tuple(row[width : width + len(COUNT_COLUMNS)])
        if cuboid.grain == "day":
            day, week, month = row[0], *row[width + len(COUNT_COLUMNS) :]
            assert week == day - timedelta(days=day.weekday()) and month == day.replace(day=1)
    return found


def _periods(cuboid) -> list:
    return [cuboid.table.c[c] for c in PERIOD_COLUMNS[cuboid.grain][1:]]


def _assert_every_table_matches_the_answers() -> None:
    _db.session.expire_all()
    for cuboid in CUBOIDS:
        assert _stored(cuboid) == _expected(cuboid), cuboid.name


def test_every_rollup_table_equals_the_raw_answers_after_any_answers_completions_and_closings(
    db, invite, scoring_version
):
    ces = create_from_starter(SELF_SERVICE_CES)
    db.session.flush()
    versions = [scoring_version, publish(ces.versions[0])]
    db.session.commit()
    seen: Counter[str] = Counter()
    started = time.monotonic()

    @given(steps)
    @hypothesis.example(WALKTHROUGH)
    @hypothesis.settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(sequence: list[tuple[Any, ...]]) -> None:
        clock.freeze(START)
        invitations = []
        for step in sequence:
            seen[step[0]] += 1
            _apply(step, invitations, versions, invite)
        _assert_every_table_matches_the_answers()

    run()
    # Now once more from scratch: the rebuild gives the same tables.
    before = {c.name: _stored(c) for c in CUBOIDS}
    rollup.rebuild(days_per_batch=2)
    assert {c.name: _stored(c) for c in CUBOIDS} == before
    _assert_every_table_matches_the_answers()
    counted = db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(
        Response.counted_at.is_not(None)))  # fmt: skip
    states = dict(db.session.execute(sa.select(Response.state, sa.func.count()).group_by(
        Response.state)).all())  # fmt: skip
    print(f"rollup grains: {dict(seen)}, {states}, {time.monotonic() - started:.1f} s")
    # The sequences did reach both ways of counting, across periods.
    assert counted >= 5 and states.get("closed_partial", 0) >= 1 and states.get("completed", 0) >= 1
    months = db.session.scalar(sa.select(sa.func.count(sa.distinct(rollup.Rollup.month))))
    weeks = db.session.scalar(sa.select(sa.func.count(sa.distinct(rollup.Rollup.week))))
    assert months >= 2 and weeks >= 2


def _apply(step: tuple[Any, ...], invitations: list, versions: list, invite) -> None:
    session = _db.session
    match step:
        case ("invite", shape, cause, version, hours):
            shape_args = dict(SHAPES[shape])
            invitation = invite(
                **shape_args, version=versions[version], lifetime=timedelta(hours=hours)
            )
            if shape_args.get("type") == "complaint":
                invitation.interaction.complaint_cause = CAUSES[cause]
                session.commit()
            invitations.append(invitation)
        case ("answer", which, question, value, channel) if invitations:
            invitation = invitations[which % len(invitations)]
            keys = KEYS[0 if invitation.version is versions[0] else 1]
            by_key = {q.key: q for q in invitation.version.questions}
            target = by_key[keys[question % len(keys)]]
            given = _value(target.kind, value)
            if given is None or not answers.hold_open(invitation):
                session.rollback()
                return
            try:
                answers.record(invitation, target, given, channel, invitation.locale)
                session.commit()
            except answers.ResponseClosed:
                session.rollback()
        case ("complete", which, channel) if invitations:
            invitation = invitations[which % len(invitations)]
            answers.complete(invitation, channel, invitation.locale)
        case ("advance", hours):
            clock.advance(timedelta(hours=hours))
        case ("close",):
            partials.close_due()


def _value(kind: str, drawn: int) -> Any:
    if kind == "rating_5":
        return 1 + drawn % 5
    if kind == "nps_0_10":
        return drawn
    if kind == "ces_7":
        return 1 + drawn % 7
    if kind == "text":
        return "好"
    return None


def test_the_migration_fills_every_rollup_table_from_the_answers_already_counted(
    db, invite, record_response
):
    from flask_migrate import downgrade, upgrade

    record_response(invite(), {"overall": 5, "nps": 9}, completed_at=START)
    record_response(
        invite(channel="chat", agent="A2001", type="complaint"),
        {"attitude": 2, "overall": 1},
        completed_at=START + timedelta(days=5),
        survey_channel="sms",
    )
    expected = {c.name: _expected(c) for c in CUBOIDS}
    assert all(expected.values())
    _db.session.remove()
    downgrade(revision="9a4e6c2d1b37")  # the rollup before grains, then up again
    upgrade()
    assert {c.name: _stored(c) for c in CUBOIDS} == expected


def test_a_rebuild_stores_each_rollup_table_in_the_order_of_its_periods(
    db, invite, record_response
):
    """A range of days reads neighbouring rows, not one page a row, after a rebuild.

    A GROUP BY hands its groups over in hash order, and an INSERT … SELECT stores them as
    they come: at 10,000,000 answers a quarter of teams by week then touched a heap page
    for nearly every row it read. Live counting appends each day's rows as the days go by;
    a rebuild (the demo load's, or an operator's) must store them in the same order.
    """
    from survey.models import Answer, Question, Rollup

    now = clock.now()
    for days_ago in range(45, 0, -1):
        for agent, channel in (("A1001", "phone"), ("A2001", "chat"), (None, "email")):
            record_response(
                invite(agent=agent, channel=channel),
                {"overall": 1 + days_ago % 5, "attitude": 1 + days_ago % 3, "nps": days_ago % 11},
                completed_at=now - timedelta(days=days_ago, hours=days_ago % 7),
                apply=False,
            )
    db.session.commit()
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Answer).join(Question))
        >= 45 * 3 * 3
    )
    rollup.rebuild()
    storage_order = "ctid" if db.engine.dialect.name == "postgresql" else "rowid"
    for cuboid in CUBOIDS:
        periods = db.session.scalars(
            sa.text(f"SELECT {cuboid.grain} FROM {cuboid.table.name} ORDER BY {storage_order}")
        ).all()
        assert len(periods) > 1, cuboid.name
        assert periods == sorted(periods), cuboid.name
    assert db.session.scalar(sa.select(sa.func.sum(Rollup.n))) > 0
