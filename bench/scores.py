"""Time GET /api/v1/scores on the demo bank against a plain GROUP BY over raw answers.

    .venv/bin/python bench/scores.py [--size 20000] [--database postgresql] [--runs 30]

Loads ``survey.demo.load(size=N)`` (N interactions over the demo's days) into a
throwaway database (see common.py), then, in one run, for each of the dashboards'
questions:

- ``api``: the server's time for the request through the app (the Flask test client:
  routing, the API key, parsing, the planner, the rollup reads, JSON), and
- ``raw``: the same groups computed by one GROUP BY over answer ⋈ response ⋈
  question ⋈ survey_version ⋈ invitation ⋈ interaction (the query function alone,
  no HTTP: it flatters raw a little),

each run alternately ``--runs`` times, p50 and p95, after checking the two give
identical groups. ``compare=rest`` is asked only if the API takes it; otherwise the
same query without it. Then completes ``--submissions`` responses one at a time as
a web submission does and reports ``rollup.apply_response`` (every rollup table).
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import common
import sqlalchemy as sa

from survey import demo, settings
from survey.auth.service import create_api_key
from survey.extensions import db
from survey.models import Answer, Interaction, Invitation, Question, Response, SurveyVersion
from survey.models.rollup import CUBOIDS
from survey.scoring import planner, queries, rebuilding, rollup

LAST_DAY = date(2026, 6, 30)
RAW_COLUMNS: dict[str, Any] = {
    "dimension": sa.func.coalesce(Question.dimension, ""),
    "business_line": sa.func.coalesce(Interaction.business_line_id, 0),
    "team": sa.func.coalesce(Interaction.team_id, 0),
    "agent": sa.func.coalesce(Interaction.agent_id, 0),
    "channel": Interaction.channel,
    "survey_channel": Response.survey_channel,
    "category": sa.func.coalesce(Interaction.category, ""),
    "type": Interaction.type,
    "survey": SurveyVersion.survey_id,
    "cause": sa.func.coalesce(Interaction.complaint_cause, ""),
}


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0], existing=True)
    parser.add_argument("--size", type=int, default=20_000, help="demo interactions")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--raw-runs",
        type=int,
        help="time the raw GROUP BY on only the first N runs (default: every run); at "
        "10,000,000 answers one raw year takes seconds",
    )
    parser.add_argument("--submissions", type=int, default=300)
    args = common.parse(parser)
    about = {**common.machine(), "database": args.database}
    existing = args.database_url
    place = common.existing_app(existing) if existing else common.bench_app(args.database)
    with place as app:
        last_day = LAST_DAY
        if existing:
            last_day = common.last_day()
        else:
            with common.Timer() as loading:
                demo.load(size=args.size, today=LAST_DAY)
            common.gather_statistics()
        answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
        tables = {
            c.name: db.session.scalar(sa.select(sa.func.count()).select_from(c.table))
            for c in CUBOIDS
        }
        if existing:
            about["data"] = (
                f"existing database {common.shown_url(existing)} (read-only, not loaded here), "
                f"last day {last_day}, {app.config['BENCH_REVISION']}: {answers:,} answers; "
            )
        else:
            about["data"] = (
                f"demo size {args.size:,}: {answers:,} answers, loaded in {loading.seconds:.1f} s; "
            )
        about["data"] += ", ".join(f"{name} {rows:,} rows" for name, rows in tables.items())
        print(about["data"], flush=True)
        if existing:
            key = common.read_only_api_key()
        else:
            _, key = create_api_key("bench", ("scores",))
            db.session.commit()
        rows = _compare(app.test_client(), key, args.runs, last_day, args.raw_runs)
        if not existing:  # a submission writes: not on someone else's database
            rows.append(_submissions(args.submissions))
    where = (
        f"existing database {sa.engine.make_url(existing).database}"
        if existing
        else f"demo size {args.size:,}"
    )
    common.record(
        f"Scores API against raw answers ({args.database}, {where})",
        about,
        ["question", "tables read", "api p50", "api p95", "raw p50", "raw p95", "raw ÷ api (p50)"],
        rows,
        notes=[
            "`api` is the server's time through the app (Flask test client: routing, API key, "
            "parsing, planner, rollup reads, JSON); `raw` is the query function alone over raw "
            "answers (no HTTP), the same groups checked equal. The demo spans 90 days up to "
            "20,000 interactions and more with its size (316 days at 870,000), so 'a year' "
            "reads up to that much history. Alternating runs; the "
            "machine is shared (2 cores, other engineers' tests): read ratios.",
            *(
                [
                    "On an existing database (read-only) the API key is an unsaved stand-in "
                    "(common.read_only_api_key: the key lookup still runs) and no submission "
                    "is timed, since it would write."
                ]
                if existing
                else []
            ),
        ],
        enabled=not args.no_record,
    )


def _cases(last_day: date) -> list[tuple[str, str]]:
    year = (last_day - timedelta(days=364), last_day)
    month = (last_day - timedelta(days=29), last_day)
    quarter = (last_day - timedelta(days=89), last_day)

    def span(days: tuple[date, date]) -> str:
        return f"from={days[0].isoformat()}&to={days[1].isoformat()}"

    return [
        ("overview 30 days, by dimension", f"{span(month)}&group_by=dimension"),
        ("overview 30 days, by dimension and week", f"{span(month)}&group_by=dimension,week"),
        ("overview a year, by dimension", f"{span(year)}&group_by=dimension"),
        ("overview a year, by dimension and week", f"{span(year)}&group_by=dimension,week"),
        ("by agent, a year", f"{span(year)}&group_by=agent"),
        ("team × week, 90 days", f"{span(quarter)}&group_by=team,week"),
        ("by team, 30 days, compare=rest", f"{span(month)}&group_by=team&compare=rest"),
    ]


def _compare(
    client: Any, key: str, runs: int, last_day: date, raw_runs: int | None = None
) -> list[list[str]]:
    zone = ZoneInfo(settings.bank_zone())
    min_n = int(settings.get("min_n"))
    headers = {"Authorization": f"Bearer {key}"}
    rows = []
    for name, query_string in _cases(last_day):
        reply = client.get(f"/api/v1/scores?{query_string}", headers=headers)
        if reply.status_code == 400 and "compare" in query_string:
            name = name.replace("compare=rest", "without compare (not in the API yet)")
            query_string = query_string.replace("&compare=rest", "")
            reply = client.get(f"/api/v1/scores?{query_string}", headers=headers)
        assert reply.status_code == 200, reply.get_json()
        args = dict(p.split("=", 1) for p in query_string.split("&"))
        args.pop("compare", None)
        query = queries.parse(args)
        raw = raw_scores(query, min_n, zone)
        api_groups = [
            {k: v for k, v in g.items() if k in raw[0]} for g in reply.get_json()["groups"]
        ]
        if api_groups != raw:
            raise AssertionError(f"{name}: the API and raw answers disagree")
        db.session.rollback()
        api_times, raw_times = [], []
        for run in range(runs):
            with common.Timer() as api:
                client.get(f"/api/v1/scores?{query_string}", headers=headers)
            api_times.append(api.seconds)
            if raw_runs is None or run < raw_runs:
                with common.Timer() as direct:
                    raw_scores(query, min_n, zone)
                raw_times.append(direct.seconds)
            db.session.rollback()
        plan = planner.plan(query.date_from, query.date_to, query.group_by, query.filters)
        api50, raw50 = statistics.median(api_times), statistics.median(raw_times)
        rows.append(
            [
                f"{name} ({len(raw):,} groups)",
                " + ".join(p.cuboid.name for p in plan.parts),
                common.seconds(api50),
                common.seconds(_p95(api_times)),
                common.seconds(raw50),
                common.seconds(_p95(raw_times)),
                f"{raw50 / api50:.1f}×",
            ]
        )
        print(rows[-1], flush=True)
    return rows


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def raw_scores(query: queries.ScoreQuery, min_n: int, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Compute what ``queries.scores`` returns by grouping raw answers (filters too)."""
    day = _bank_day(zone)
    columns = []
    for name in query.group_by:
        if name == "day":
            columns.append(day.label(name))
        elif name in ("week", "month"):
            columns.append(_truncate(day, name).label(name))
        else:
            columns.append(RAW_COLUMNS[name].label(name))
    conditions = [
        Response.counted_at >= rebuilding.day_start(query.date_from, zone),
        Response.counted_at < rebuilding.day_start(query.date_to + timedelta(days=1), zone),
        Question.kind.in_(rollup.ROLLED_KINDS),
        Answer.value_int.is_not(None),
    ]
    for name, values in queries.filter_values(query).items():
        conditions.append(RAW_COLUMNS[name].in_(values))
    if "dimension" not in query.group_by and "dimension" not in query.filters:
        conditions.append(sa.or_(Question.kind != "rating_5", Question.dimension == "overall"))
    statement = (
        sa.select(
            *columns,
            Question.kind.label("kind"),
            sa.func.count().label("n"),
            sa.func.sum(Answer.value_int).label("total"),
            sa.func.sum(Answer.value_int * Answer.value_int).label("total_sq"),
            sa.func.sum(_kind_case(rollup.TOP_FROM, top=True)).label("top"),
            sa.func.sum(_kind_case(rollup.BOTTOM_TO, top=False)).label("bottom"),
        )
        .select_from(Answer)
        .join(Response, Answer.response_id == Response.id)
        .join(Question, Answer.question_id == Question.id)
        .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Interaction, Invitation.interaction_id == Interaction.id)
        .where(*conditions)
        .group_by(*columns, Question.kind)
    )
    codes = queries._codes()
    sums: dict[tuple[Any, ...], dict[str, dict[str, int]]] = {}
    for row in db.session.execute(statement).mappings():
        key = tuple(queries._key_value(g, row, codes) for g in query.group_by)
        counts = sums.setdefault(key, {}).setdefault(row["kind"], {})
        for name in ("n", "total", "total_sq", "top", "bottom"):
            counts[name] = counts.get(name, 0) + int(row[name] or 0)
    if not query.group_by and not sums:
        sums[()] = {}
    groups = [
        queries._group(dict(zip(query.group_by, key, strict=True)), kinds, min_n)
        for key, kinds in sums.items()
    ]
    groups.sort(key=lambda g: tuple(queries._sortable(v) for v in g["key"].values()))
    return groups


def _bank_day(zone: ZoneInfo) -> sa.ColumnElement[Any]:
    """The bank's day of a count, as a plain SQL expression."""
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone(zone.key, Response.counted_at), sa.Date)
    # SQLite has no zones; the bank's zone (Asia/Shanghai) has had one offset since 1991.
    offset = zone.utcoffset(datetime(2026, 1, 1))
    assert offset is not None and offset == zone.utcoffset(datetime(2026, 7, 1))
    hours = int(offset.total_seconds() // 3600)
    return sa.type_coerce(sa.func.date(Response.counted_at, f"{hours:+d} hours"), sa.Date)


def _truncate(day: sa.ColumnElement[Any], grain: str) -> sa.ColumnElement[Any]:
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc(grain, day), sa.Date)
    if grain == "week":  # the Monday on or before
        return sa.type_coerce(sa.func.date(day, "-6 days", "weekday 1"), sa.Date)
    return sa.type_coerce(sa.func.date(day, "start of month"), sa.Date)


def _kind_case(limits: dict[str, int], top: bool) -> sa.Case[Any]:
    return sa.case(
        *(
            (
                sa.and_(
                    Question.kind == kind,
                    Answer.value_int >= limit if top else Answer.value_int <= limit,
                ),
                1,
            )
            for kind, limit in limits.items()
        ),
        else_=0,
    )


def _submissions(count: int) -> list[str]:
    """Complete responses one at a time as a web submission does; time apply_response alone."""
    import rollup_rebuild

    version_id = db.session.scalar(
        sa.select(SurveyVersion.id)
        .join(Question, Question.version_id == SurveyVersion.id)
        .where(Question.kind == "nps_0_10", SurveyVersion.state == "published")
        .limit(1)
    )
    figures = rollup_rebuild._incremental(count, version_id)
    whole, without, alone = figures
    return [
        f"a submission's rollup work ({count:,} submissions, {len(CUBOIDS)} tables)",
        "all",
        alone[1],
        "",
        "",
        "",
        f"median transaction {whole[1]} with it, {without[1]} without",
    ]


if __name__ == "__main__":
    main()
