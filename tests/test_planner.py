"""The planner reads coarser rollup tables only where they give the finest table's numbers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import hypothesis
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from survey.designer.service import create_from_starter, publish
from survey.designer.starters import SELF_SERVICE_CES
from survey.scoring import planner, queries
from tests.sent import statements_sent

# For the order the test workers take the modules in (tests/conftest.py): its draws are long.
TEST_WEIGHT = 10


# Rows land from 20 August to 27 November 2026 (bank days), every 23 hours or so.
FIRST = datetime(2026, 8, 20, 1, 0, tzinfo=UTC)


def _tables(date_from: date, date_to: date, group_by=(), filters=()) -> list[str]:
    chosen = planner.plan(date_from, date_to, tuple(group_by), filters)
    return [f"{p.cuboid.name}[{p.first}..{p.last}]" for p in chosen.parts]


def test_the_overview_reads_the_bank_wide_tables():
    # A whole month: one row a kind and dimension from the month table.
    assert _tables(date(2026, 11, 1), date(2026, 11, 30)) == [
        "rollup_bank_month[2026-11-01..2026-11-01]"
    ]
    # The last 30 days by dimension and week: the bank-wide day table.
    assert _tables(date(2026, 10, 31), date(2026, 11, 29), ("dimension", "week")) == [
        "rollup_bank_day[2026-10-31..2026-11-29]"
    ]


def test_a_year_reads_whole_months_and_the_days_at_either_edge():
    assert _tables(date(2025, 11, 30), date(2026, 11, 29), ("dimension",)) == [
        "rollup_bank_day[2025-11-30..2025-11-30]",
        "rollup_bank_month[2025-12-01..2026-10-01]",
        "rollup_bank_day[2026-11-01..2026-11-29]",
    ]


def test_agents_over_a_year_read_agent_quarters_then_months_then_weeks_then_the_finest_days():
    # 30 November 2025 and 29 November 2026 are Sundays.
    assert _tables(date(2025, 11, 30), date(2026, 11, 29), ("agent",)) == [
        "rollup[2025-11-30..2025-11-30]",
        "rollup_agent_month[2025-12-01..2025-12-01]",
        "rollup_agent_quarter[2026-01-01..2026-07-01]",
        "rollup_agent_month[2026-10-01..2026-10-01]",
        "rollup[2026-11-01..2026-11-01]",
        "rollup_agent_week[2026-11-02..2026-11-23]",
    ]
    # A year of whole quarters (the benchmark's last 365 days to 30 June): four rows an agent.
    assert _tables(date(2025, 7, 1), date(2026, 6, 30), ("agent",)) == [
        "rollup_agent_quarter[2025-07-01..2026-04-01]"
    ]
    # A quarter table answers no time grouping: by month, the months.
    assert _tables(date(2025, 7, 1), date(2026, 6, 30), ("agent", "month")) == [
        "rollup_agent_month[2025-07-01..2026-06-01]"
    ]
    # By week, months cannot serve: weeks, and the finest days before the first Monday.
    assert _tables(date(2025, 11, 30), date(2026, 11, 29), ("agent", "week")) == [
        "rollup[2025-11-30..2025-11-30]",
        "rollup_agent_week[2025-12-01..2026-11-23]",
    ]


def test_team_by_week_reads_the_team_weeks_with_the_team_days_at_the_edges():
    assert _tables(date(2026, 9, 1), date(2026, 11, 29), ("team", "week")) == [
        "rollup_team_day[2026-09-01..2026-09-06]",
        "rollup_team_week[2026-09-07..2026-11-23]",
    ]


def test_segments_without_agents_read_the_tables_without_agents():
    assert _tables(date(2026, 3, 1), date(2026, 5, 20), ("channel",), ("cause",)) == [
        "rollup_segment_month[2026-03-01..2026-04-01]",
        "rollup_segment_day[2026-05-01..2026-05-20]",
    ]
    assert _tables(date(2026, 5, 2), date(2026, 5, 20), ("survey", "type")) == [
        "rollup_segment_day[2026-05-02..2026-05-20]"
    ]


def test_the_breakdown_by_channel_reads_the_channel_tables_bank_wide_or_for_a_business_line():
    # 30 days: the channel day table, not the segment table's every category and survey.
    assert _tables(date(2026, 11, 7), date(2026, 12, 6), ("channel",)) == [
        "rollup_channel_day[2026-11-07..2026-12-06]"
    ]
    # A year for one business line, by survey channel and dimension: months, days at the ends.
    assert _tables(
        date(2025, 12, 7), date(2026, 12, 6), ("survey_channel", "dimension"), ("business_line",)
    ) == [
        "rollup_channel_day[2025-12-07..2025-12-31]",
        "rollup_channel_month[2026-01-01..2026-11-01]",
        "rollup_channel_day[2026-12-01..2026-12-06]",
    ]
    # Business lines over whole months: a channel month holds fewer rows than its team weeks.
    assert _tables(date(2026, 9, 1), date(2026, 11, 30), ("business_line",)) == [
        "rollup_channel_month[2026-09-01..2026-11-01]"
    ]
    # One team's channels: the channel tables keep no team.
    assert _tables(date(2026, 11, 7), date(2026, 12, 6), ("channel",), ("team",)) == [
        "rollup_segment_day[2026-11-07..2026-12-06]"
    ]


def test_days_by_agent_or_a_month_by_week_need_a_day_table():
    assert _tables(date(2026, 11, 1), date(2026, 11, 30), ("agent", "day")) == [
        "rollup[2026-11-01..2026-11-30]"
    ]
    # Weeks straddle months: a month table cannot say which week its answers fell in.
    assert _tables(date(2026, 11, 1), date(2026, 11, 30), ("week",)) == [
        "rollup_bank_day[2026-11-01..2026-11-30]"
    ]


@pytest.fixture
def varied_answers(db, invite, record_response, scoring_version) -> None:
    """About a hundred responses over three months, in every kind of segment."""
    ces = create_from_starter(SELF_SERVICE_CES)
    db.session.flush()
    versions = [scoring_version, publish(ces.versions[0])]
    db.session.commit()
    shapes = [
        {"channel": "phone", "agent": "A1001", "category": "account"},
        {"channel": "chat", "agent": "A2001", "category": "loan", "type": "complaint"},
        {"channel": "email", "agent": None, "category": None, "type": "outbound"},
        {"channel": "branch", "agent": "A2001", "category": "credit_card", "type": "complaint"},
    ]
    for i in range(100):
        version = versions[1] if i % 7 == 3 else versions[0]
        invitation = invite(**shapes[i % len(shapes)], version=version)
        if invitation.interaction.type == "complaint":
            invitation.interaction.complaint_cause = ("process", "attitude", None)[i % 3]
        given: dict[str, Any]
        if version is versions[0]:
            given = {"attitude": 1 + i % 5, "overall": 1 + (i * 3) % 5, "nps": i % 11}
        else:
            given = {"effort": 1 + i % 7}
        record_response(
            invitation,
            given,
            completed_at=FIRST + timedelta(hours=23 * i),
            survey_channel=("web", "sms", "voice")[i % 3],
        )


FILTER_VALUES = {
    "dimension": ["overall", "attitude"],
    "agent": ["A1001", "A2001"],
    "team": ["personal-inquiries"],
    "business_line": ["corporate"],
    "channel": ["phone", "chat", "branch"],
    "survey_channel": ["sms", "web"],
    "category": ["loan", "account"],
    "type": ["complaint", "inquiry"],
    "cause": ["process", "attitude"],
}
queries_drawn = st.fixed_dictionaries(
    {
        "start": st.integers(-10, 100),
        "length": st.integers(0, 120),
        "group_by": st.lists(st.sampled_from(queries.GROUP_FIELDS), max_size=3, unique=True),
        "filters": st.dictionaries(
            st.sampled_from(sorted(FILTER_VALUES)),
            st.integers(0, 3),
            max_size=2,
        ),
    }
)


def test_every_plan_gives_the_finest_tables_numbers(db, varied_answers):
    survey_ids = [str(s) for s in sorted({v.survey_id for v in _versions(db)})]
    tables: Counter[str] = Counter()

    @given(queries_drawn)
    @hypothesis.settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(drawn: dict[str, Any]) -> None:
        date_from = date(2026, 8, 20) + timedelta(days=drawn["start"])
        date_to = date_from + timedelta(days=drawn["length"])
        filters = {}
        for name, pick in drawn["filters"].items():
            values = FILTER_VALUES[name]
            filters[name] = tuple(values[pick % len(values) :][:2])
        if drawn["start"] % 5 == 0:
            filters["survey"] = (survey_ids[drawn["length"] % len(survey_ids)],)
        query = queries.ScoreQuery(date_from, date_to, tuple(drawn["group_by"]), filters)
        planned, plan = queries.counts(query)
        finest, _ = queries.counts(query, planner.finest(date_from, date_to))
        tables.update(plan.tables)
        assert planned == finest, plan.describe()

    run()
    print(f"planner: tables read {dict(tables)}")
    # The draws reached every table, so each was checked against the finest.
    assert set(tables) == {c.name for c in planner.CUBOIDS}


def _versions(db):

    from survey.models import SurveyVersion

    return db.session.scalars(sa.select(SurveyVersion)).all()


def _raw_tally(db, query: queries.ScoreQuery) -> queries.Tally:
    """Each group's counts per kind added up in Python from the raw answers, codes joined."""
    from zoneinfo import ZoneInfo

    from survey.models import (
        Agent,
        Answer,
        BusinessLine,
        Interaction,
        Invitation,
        Question,
        Response,
        Team,
    )
    from survey.scoring.rollup import BOTTOM_TO, ROLLED_KINDS, TOP_FROM

    zone = ZoneInfo("Asia/Shanghai")
    rows = db.session.execute(
        sa.select(
            Response.counted_at,
            Question.kind,
            Question.dimension,
            BusinessLine.code,
            Team.code,
            Agent.code,
            Answer.value_int,
        )
        .select_from(Answer)
        .join(Response, Answer.response_id == Response.id)
        .join(Question, Answer.question_id == Question.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Interaction, Invitation.interaction_id == Interaction.id)
        .outerjoin(BusinessLine, BusinessLine.id == Interaction.business_line_id)
        .outerjoin(Team, Team.id == Interaction.team_id)
        .outerjoin(Agent, Agent.id == Interaction.agent_id)
        .where(
            Response.counted_at.is_not(None),
            Question.kind.in_(ROLLED_KINDS),
            Answer.value_int.is_not(None),
        )
    ).all()
    tally: queries.Tally = {}
    for counted_at, kind, dimension, line, team, agent, value in rows:
        day = counted_at.astimezone(zone).date()
        if not query.date_from <= day <= query.date_to:
            continue
        if kind == "rating_5" and dimension != "overall" and "dimension" not in query.group_by:
            continue
        fields = {
            "business_line": line,
            "team": team,
            "agent": agent,
            "dimension": dimension or None,
            "week": (day - timedelta(days=day.weekday())).isoformat(),
        }
        key = tuple(fields[name] for name in query.group_by)
        counts = tally.setdefault(key, {}).setdefault(
            kind, dict.fromkeys(("n", "total", "total_sq", "top", "bottom"), 0)
        )
        counts["n"] += 1
        counts["total"] += value
        counts["total_sq"] += value * value
        counts["top"] += int(value >= TOP_FROM[kind])
        counts["bottom"] += int(value <= BOTTOM_TO[kind])
    return tally


RAW_CASES = [
    (("agent",), None),
    (("team", "week"), None),
    (("business_line", "agent"), None),
    (("dimension", "agent"), None),
    (("agent",), "rest"),
    (("team",), "rest"),
    (("team", "week"), "rest"),
    (("business_line", "team"), "rest"),
]


def test_the_api_gives_a_raw_group_by_s_groups_codes_and_comparisons(db, varied_answers, client):
    """The scores the API returns (its JSON) are those of counts recomputed from raw answers.

    With ``compare=rest`` the references too: each group's parent (an agent's team, a
    team's business line) added up from raw answers by the group and its parent.
    """
    from survey import settings
    from survey.auth.service import create_api_key
    from survey.scoring import comparisons

    _row, key = create_api_key("raw", ("scores",))
    db.session.commit()
    min_n = int(settings.get("min_n"))
    date_from, date_to = date(2026, 8, 25), date(2026, 11, 20)
    for group_by, against in RAW_CASES:
        query = queries.ScoreQuery(date_from, date_to, group_by, {}, against)
        asked = f"from={date_from}&to={date_to}&group_by={','.join(group_by)}"
        reply = client.get(
            f"/api/v1/scores?{asked}" + (f"&compare={against}" if against else ""),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert reply.status_code == 200
        raw = _raw_tally(db, query)
        found = None
        if against:
            parent = comparisons.PARENT[comparisons.compared_field(group_by)]
            extended = group_by if parent in group_by else (*group_by, parent)
            rows = _raw_tally(db, queries.ScoreQuery(date_from, date_to, extended, {}, None))
            found = comparisons.references(query, raw, rows=rows)
        expected = queries.scored(query, raw, min_n, found=found)
        assert len(expected) >= 3, (group_by, against)
        assert reply.get_json()["groups"] == expected, (group_by, against)


@pytest.mark.parametrize(
    ("days", "group_by", "table"),
    [
        (365, ("agent",), "rollup_agent_month"),
        (365, ("agent",), "rollup_agent_quarter"),
        (28, ("agent", "week"), "rollup_agent_week"),
        (91, ("team", "week"), "rollup_team_week"),
    ],
)
def test_a_score_without_dimensions_can_read_only_the_headline_rows(db, days, group_by, table):
    """Agents over a year, teams by week: the headline index serves the read (not a scan of
    every period and dimension the table holds), in a prepared statement's plan too."""
    last = date(2026, 11, 29)  # a Sunday: whole weeks
    query = queries.ScoreQuery(last - timedelta(days=days - 1), last, group_by)
    assert table in queries.counts(query)[1].tables
    with statements_sent() as seen:
        queries.counts(query)
    (statement, parameters), index = seen[-1], f"ix_{table}_headline"
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        # INDEXED BY fails ("no query solution") unless the WHERE clause lets the index serve.
        forced = statement.replace(f"FROM {table}", f"FROM {table} INDEXED BY {index}", 1)
        connection.exec_driver_sql(forced, parameters).all()
        return
    # Rolled back below: only the headline index (and the id's) left to read the periods by.
    connection.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT uq_{table}_segment")
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    try:
        connection.exec_driver_sql(f"PREPARE headline_read AS {_numbered(statement, parameters)}")
        values = ", ".join(_literal(value) for value in parameters.values())
        plan = connection.exec_driver_sql(f"EXPLAIN EXECUTE headline_read({values})").all()
    finally:
        db.session.rollback()
    assert index in "\n".join(row[0] for row in plan)


def _numbered(statement: str, parameters: dict[str, Any]) -> str:
    """psycopg's %(name)s placeholders as PREPARE's $1, $2, … in the parameters' order."""
    for number, name in enumerate(parameters, start=1):
        statement = statement.replace(f"%({name})s", f"${number}")
    return statement


def _literal(value: Any) -> str:
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(int(value))
