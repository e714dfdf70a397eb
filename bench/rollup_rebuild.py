"""Time the rollup against raw answers: rebuild, dashboard queries both ways, one response at a time.

    .venv/bin/python bench/rollup_rebuild.py [--responses 350000] [--database postgresql]

Builds a throwaway database (see common.py), bulk-inserts completed responses
over a year, three scale answers and a comment each (350,000 responses make
1.4 M answers, 1.05 M of them on a scale, spread so thinly over 60 agents,
channels and days that the rollup has about half as many rows as scale
answers: a hard case for it), then measures in one run:

- ``rollup.rebuild()``;
- the dashboard's queries answered from the rollup (``dashboard.overview`` and
  ``scoring.queries.scores``) and the same numbers computed by a straightforward
  GROUP BY over answer ⋈ response ⋈ question ⋈ invitation ⋈ interaction, each
  the median of three runs, checked to give identical groups;
- completing responses one by one, each in its own transaction shaped like the
  web submission (claim the invitation, insert the response and its answers,
  flush, commit), alternately with and without ``rollup.apply_response``.
"""

from __future__ import annotations

import random
import secrets
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import common
import sqlalchemy as sa
from scores import raw_scores

from survey import settings
from survey.dashboard import overview
from survey.designer.service import create_from_starter, publish
from survey.designer.starters import POST_INTERACTION
from survey.extensions import db
from survey.models import (
    Agent,
    Answer,
    BusinessLine,
    Customer,
    Interaction,
    Invitation,
    Question,
    Response,
    Team,
)
from survey.scoring import queries, rollup

BATCH = 20_000
START = datetime(2025, 12, 1, tzinfo=UTC)
DAYS = 365


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=350_000)
    parser.add_argument("--incremental", type=int, default=1_000, help="responses with apply")
    args = parser.parse_args()
    about = {**common.machine(), "database": args.database}
    rows: list[list[str]] = []
    with common.bench_app(args.database):
        with common.Timer() as loading:
            version_id = _load(args.responses)
        answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
        rows.append(["bulk load", common.seconds(loading.seconds), f"{answers:,} answers", ""])
        print(rows[-1], flush=True)

        with common.Timer() as rebuilding:
            counted = rollup.rebuild()
        rollups = db.session.scalar(sa.select(sa.func.count()).select_from(rollup.Rollup))
        detail = f"{counted:,} scale answers → {rollups:,} rollup rows"
        rows.append(["rollup.rebuild()", common.seconds(rebuilding.seconds), detail, ""])
        print(rows[-1], flush=True)
        if db.engine.dialect.name == "postgresql":
            # As autovacuum would by now; the queries below should not pay for stale statistics.
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))

        rows.extend(_compare_queries())
        rows.extend(_incremental(args.incremental, version_id))
    common.record(
        f"Rollup against raw answers ({args.database}, {args.responses:,} responses)",
        about,
        ["what", "time", "detail", "raw ÷ rollup"],
        rows,
        notes=[
            "Query times are the median of three runs; each pair was checked to give identical "
            "groups. `raw` is one GROUP BY per question over answer ⋈ response ⋈ question ⋈ "
            "invitation ⋈ interaction with the same filters; `rollup` is the product's code "
            "(`dashboard.overview.overview`, `scoring.queries.scores`). Incremental rows time "
            "whole transactions shaped like a web submission, alternating with and without "
            "`rollup.apply_response`, on the loaded database."
        ],
        enabled=not args.no_record,
    )


def _compare_queries() -> list[list[str]]:
    """Time each dashboard question from the rollup and from raw answers; check they agree."""
    zone = ZoneInfo(settings.bank_zone())
    last = rollup.local_day(START + timedelta(days=DAYS - 1), zone.key)
    year = (rollup.local_day(START, zone.key), last)
    month = (last - timedelta(days=29), last)
    min_n = int(settings.get("min_n"))
    overview_parts: list[tuple[str, ...]] = [(), ("dimension",), ("business_line",), ("week",)]
    cases = [
        ("dashboard overview, 30 days (4 queries)", month, overview_parts),
        ("dashboard overview, whole year (4 queries)", year, overview_parts),
        ("scores by agent and month, whole year", year, [("agent", "month")]),
        ("scores by team, channel, week, 90 days", (last - timedelta(days=89), last),
         [("team", "channel", "week")]),
    ]  # fmt: skip
    rows = []
    for name, (start, end), parts in cases:
        score_queries = [queries.ScoreQuery(start, end, group_by) for group_by in parts]

        def from_rollup(score_queries: list[queries.ScoreQuery] = score_queries) -> list[Any]:
            return [queries.scores(q, min_n) for q in score_queries]

        def from_raw(score_queries: list[queries.ScoreQuery] = score_queries) -> list[Any]:
            return [raw_scores(q, min_n, zone) for q in score_queries]

        if parts is overview_parts:
            # The page's own service, which also reads the business lines' names.
            page_query = queries.ScoreQuery(start, end)
            rollup_seconds, _ = common.repeat(
                lambda q=page_query: overview.overview(q, min_n, "week")
            )
        else:
            rollup_seconds, _ = common.repeat(from_rollup)
        expected = from_rollup()
        raw_seconds, found = common.repeat(from_raw)
        if found != expected:
            raise AssertionError(f"{name}: raw answers and rollup disagree")
        groups = sum(len(g) for g in expected)
        ratio = f"{raw_seconds / rollup_seconds:,.1f}×"
        rows.append([f"{name}: rollup", common.seconds(rollup_seconds), f"{groups:,} groups", ""])
        rows.append([f"{name}: raw", common.seconds(raw_seconds), "same groups", ratio])
        print(rows[-2], rows[-1], flush=True)
    return rows


def complete_one(
    invitation_id: int,
    version_id: int,
    rated: dict[str, int],
    comment: int,
    at: datetime,
    rng: random.Random,
) -> Response:
    """Complete an open invitation as a customer would: a response with three ratings and a
    comment (question ids by key in ``rated``), flushed, not yet rolled up nor committed."""
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.completed_at.is_(None))
        .values(state="completed", completed_at=at, opened_at=at)
    )
    response = Response(
        invitation_id=invitation_id,
        survey_version_id=version_id,
        survey_channel=rng.choice(["web", "sms", "voice"]),
        locale="zh",
        started_at=at,
        completed_at=at,
        state="completed",
        counted_at=at,
    )
    response.answers = [
        Answer(question_id=rated["attitude"], value_int=rng.randint(1, 5), answered_at=at),
        Answer(question_id=rated["overall"], value_int=rng.randint(1, 5), answered_at=at),
        Answer(question_id=rated["nps"], value_int=rng.randint(0, 10), answered_at=at),
        Answer(question_id=comment, value_text="好", answered_at=at),
    ]
    db.session.add(response)
    db.session.flush()
    return response


def _incremental(count: int, version_id: int) -> list[list[str]]:
    """Complete responses one by one, alternately with and without ``apply_response``."""
    rng = random.Random(11)
    questions = db.session.scalars(
        sa.select(Question).where(Question.version_id == version_id)
    ).all()
    rated = {q.key: q.id for q in questions if q.kind in ("rating_5", "nps_0_10")}
    comment = next(q.id for q in questions if q.kind == "text")
    # Over the last week of the loaded year: most segments have rows already, some do not.
    week = START + timedelta(days=DAYS - 7)
    ids = _insert_open_invitations(2 * count, version_id, week, rng)
    with_apply: list[float] = []
    without_apply: list[float] = []
    apply_only: list[float] = []
    for n, invitation_id in enumerate(ids):
        at = week + timedelta(seconds=rng.randrange(7 * 24 * 3600))
        applying = n % 2 == 0
        with common.Timer() as whole:
            response = complete_one(invitation_id, version_id, rated, comment, at, rng)
            if applying:
                with common.Timer() as applied:
                    rollup.apply_response(response)
                apply_only.append(applied.seconds)
            db.session.commit()
        (with_apply if applying else without_apply).append(whole.seconds)
    db.session.expunge_all()

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.2f} ms"

    mean_with, mean_without = statistics.fmean(with_apply), statistics.fmean(without_apply)
    return [
        [f"{count:,} submissions with apply_response", ms(with_apply),
         f"median per transaction; mean {mean_with * 1000:.2f} ms", ""],
        [f"{count:,} submissions without it", ms(without_apply),
         f"median per transaction; mean {mean_without * 1000:.2f} ms", ""],
        ["apply_response() alone", ms(apply_only),
         f"median per call; {(mean_with - mean_without) * 1000:.2f} ms more per transaction "
         f"on average ({mean_with / mean_without:.2f}× its time)", ""],
    ]  # fmt: skip


def _insert_open_invitations(
    count: int, version_id: int, start: datetime, rng: random.Random
) -> list[int]:
    """Bulk-insert interactions with invitations waiting for an answer; return their ids."""
    agents = db.session.execute(sa.select(Agent.id, Agent.team_id)).all()
    lines = dict(db.session.execute(sa.select(Team.id, Team.business_line_id)).all())
    first = (db.session.scalar(sa.select(sa.func.max(Interaction.id))) or 0) + 1
    first_customer = (db.session.scalar(sa.select(sa.func.max(Customer.id))) or 0) + 1
    ids = list(range(first, first + count))
    customers, interactions, invitations = [], [], []
    for offset, i in enumerate(ids):
        agent_id, team_id = rng.choice(agents)
        customer = first_customer + offset
        customers.append({"id": customer, "external_id": f"C{customer}", "name": "",
                          "locale": "zh", "created_at": start, "updated_at": start})  # fmt: skip
        interactions.append(
            {"id": i, "external_id": f"I{i}", "occurred_at": start, "customer_id": customer,
             "channel": rng.choice(["phone", "chat", "email"]), "type": "inquiry",
             "business_line_id": lines[team_id], "team_id": team_id, "agent_id": agent_id,
             "category": "account", "created_at": start}
        )  # fmt: skip
        invitations.append(
            {"id": i, "interaction_id": i, "customer_id": customer, "survey_version_id": version_id,
             "channels": ["sms"], "channel": "sms", "sms_mode": "link", "locale": "zh",
             "token": secrets.token_urlsafe(32), "unsubscribe_token": secrets.token_urlsafe(32),
             "state": "sent", "scheduled_at": start, "expires_at": start + timedelta(days=30),
             "created_at": start, "updated_at": start}
        )  # fmt: skip
    for model, batch in ((Customer, customers), (Interaction, interactions),
                         (Invitation, invitations)):  # fmt: skip
        db.session.execute(sa.insert(model), batch)
    _advance_sequences()
    db.session.commit()
    return ids


def _load(count: int) -> int:
    """Bulk-insert ``count`` completed responses (three scale answers and a comment each)."""
    rng = random.Random(7)
    agents = []
    for code in ("personal", "corporate", "cards"):
        line = BusinessLine(code=code, name_zh=code, name_en=code)
        for function in ("inquiry", "complaint"):
            team = Team(code=f"{code}-{function}", business_line=line, function=function,
                        name_zh=function, name_en=function)  # fmt: skip
            agents += [Agent(code=f"{team.code}-{i:02d}", team=team) for i in range(10)]
    db.session.add_all(agents)
    survey = create_from_starter(POST_INTERACTION)
    db.session.flush()
    version = publish(survey.versions[0])
    db.session.commit()
    agent_rows = [(a.id, a.team_id, a.team.business_line_id) for a in agents]
    rated = {q.key: q.id for q in version.questions if q.kind in ("rating_5", "nps_0_10")}
    comment = next(q.id for q in version.questions if q.kind == "text")
    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        customers, interactions, invitations, responses, answers = [], [], [], [], []
        for i in range(first + 1, first + size + 1):
            at = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
            agent_id, team_id, line_id = rng.choice(agent_rows)
            customers.append({"id": i, "external_id": f"C{i}", "name": "", "locale": "zh",
                              "created_at": at, "updated_at": at})  # fmt: skip
            interactions.append(
                {"id": i, "external_id": f"I{i}", "occurred_at": at, "customer_id": i,
                 "channel": rng.choice(["phone", "chat", "email"]), "type": "inquiry",
                 "business_line_id": line_id, "team_id": team_id, "agent_id": agent_id,
                 "category": "account", "created_at": at}
            )  # fmt: skip
            invitations.append(
                {"id": i, "interaction_id": i, "customer_id": i, "survey_version_id": version.id,
                 "channels": ["sms"], "channel": "sms", "sms_mode": "link", "locale": "zh",
                 "token": secrets.token_urlsafe(32), "unsubscribe_token": secrets.token_urlsafe(32),
                 "state": "completed", "scheduled_at": at, "completed_at": at,
                 "expires_at": at + timedelta(days=3), "created_at": at, "updated_at": at}
            )  # fmt: skip
            responses.append(
                {"id": i, "invitation_id": i, "survey_version_id": version.id,
                 "survey_channel": rng.choice(["web", "sms", "voice"]), "locale": "zh",
                 "started_at": at, "completed_at": at, "updated_at": at,
                 "state": "completed", "counted_at": at}
            )  # fmt: skip
            for key in ("attitude", "overall"):
                answers.append({"response_id": i, "question_id": rated[key],
                                "value_int": rng.randint(1, 5), "answered_at": at})  # fmt: skip
            answers.append({"response_id": i, "question_id": rated["nps"],
                            "value_int": rng.randint(0, 10), "answered_at": at})  # fmt: skip
            answers.append({"response_id": i, "question_id": comment, "value_text": "好",
                            "answered_at": at})  # fmt: skip
        for model, batch in ((Customer, customers), (Interaction, interactions),
                             (Invitation, invitations), (Response, responses), (Answer, answers)):  # fmt: skip
            db.session.execute(sa.insert(model), batch)
        db.session.commit()
        print(f"loaded {first + size:,} responses", flush=True)
    _advance_sequences()
    db.session.commit()
    return version.id


def _advance_sequences() -> None:
    """After inserts with explicit ids, let PostgreSQL's sequences carry on above them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("customer", "interaction", "invitation", "response"):
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )


if __name__ == "__main__":
    main()
