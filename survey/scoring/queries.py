"""Score queries over the rollup tables, for the scores API and the dashboards.

They read only rollups, never raw answers: a question is a GROUP BY over
pre-aggregated periods and segments, whatever the number of answers behind it,
in the tables survey.scoring.planner picks (the coarsest that give exact numbers).
``counts`` returns each group's raw counts per kind, for layers that compare groups;
``scores`` turns them into the API's scores.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from survey import clock, stamped
from survey.extensions import db
from survey.models import Agent, BusinessLine, Survey, Team
from survey.models.interaction import CATEGORIES, CAUSES, CHANNELS, TYPES
from survey.models.rollup import COUNT_COLUMNS
from survey.models.survey import DIMENSIONS
from survey.scoring import comparisons, formulas, planner, stats
from survey.scoring.rollup import ROLLED_KINDS, local_day

GROUP_FIELDS = (
    "dimension",
    "business_line",
    "team",
    "agent",
    "channel",
    "survey_channel",
    "category",
    "type",
    "cause",
    "survey",
    "day",
    "week",
    "month",
)
FILTER_FIELDS = (
    "dimension",
    "business_line",
    "team",
    "agent",
    "channel",
    "survey_channel",
    "category",
    "type",
    "cause",
    "survey",
)
TIME_FIELDS = planner.TIME_FIELDS
SURVEY_CHANNELS = ("web", "sms", "voice")
DEFAULT_DAYS = 30
# A day as the OpenAPI document writes it, and the earliest one a query may name (the
# floor of interaction times, survey.api.schemas.EARLIEST).
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
EARLIEST_DAY = date(2000, 1, 1)
# Parameters that are not filters.
OTHER_PARAMS = ("from", "to", "group_by", "compare")

log = logging.getLogger(__name__)

# Fields whose values are organisation codes, stored as ids.
CODED: dict[str, Any] = {"business_line": BusinessLine, "team": Team, "agent": Agent}
# Fields with a fixed list of values.
FIXED: dict[str, tuple[str, ...]] = {
    "dimension": DIMENSIONS,
    "channel": CHANNELS,
    "survey_channel": SURVEY_CHANNELS,
    "category": CATEGORIES,
    "type": TYPES,
    "cause": CAUSES,
}
# A survey is named by its id: digits, no larger than the database's integers.
SURVEY_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1


class QueryError(ValueError):
    """A score query that cannot be answered; ``errors`` names each bad parameter."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ScoreQuery:
    """Which days, which groups, which segments: dates are the bank's days, inclusive."""

    date_from: date
    date_to: date
    group_by: tuple[str, ...] = ()
    # Filter field -> accepted values (codes for business lines, teams and agents).
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # previous | rest: each group is also tested against a reference (scoring/comparisons.py).
    compare: str | None = None


def today() -> date:
    """Return today in the bank's zone."""
    return local_day(clock.now())


def parse(args: Mapping[str, str]) -> ScoreQuery:
    """Read a score query from request parameters; raise QueryError naming every bad one.

    Filters take comma-separated values (``channel=phone,chat``); ``from`` and
    ``to`` default to the last 30 days ending today in the bank's zone.
    """
    errors: list[dict[str, str]] = []
    for name in args:
        if name not in FILTER_FIELDS and name not in OTHER_PARAMS:
            errors.append({"field": name, "message": _("Unknown parameter.")})

    end = _date(args.get("to"), "to", errors) or today()
    start = _date(args.get("from"), "from", errors) or max(
        end - timedelta(days=DEFAULT_DAYS - 1), EARLIEST_DAY
    )
    if start > end and not any(e["field"] in ("from", "to") for e in errors):
        errors.append({"field": "from", "message": _("'from' must not be after 'to'.")})

    group_by: list[str] = []
    for name in _values(args.get("group_by", "")):
        if name not in GROUP_FIELDS:
            errors.append(
                {
                    "field": "group_by",
                    "message": _(
                        "Unknown field '%(name)s'; use %(fields)s.",
                        name=name,
                        fields=", ".join(GROUP_FIELDS),
                    ),
                }
            )
        elif name not in group_by:
            group_by.append(name)

    filters: dict[str, tuple[str, ...]] = {}
    for name in FILTER_FIELDS:
        if name not in args:
            continue
        values = tuple(_values(args[name]))
        unknown = [v for v in values if not _known(name, v)]
        if not values or unknown:
            errors.append(
                {
                    "field": name,
                    "message": _("Unknown value: %(values)s.", values=", ".join(unknown) or "''"),
                }
            )
        filters[name] = values
    against = _compare(args.get("compare"), tuple(group_by), errors)
    if errors:
        raise QueryError(errors)
    return ScoreQuery(start, end, tuple(group_by), filters, against)


def _compare(
    raw: str | None, group_by: tuple[str, ...], errors: list[dict[str, str]]
) -> str | None:
    """Read ``compare``: previous (not with a time grouping) or rest (needs a segment field)."""
    if raw is None:
        return None
    if raw not in comparisons.KINDS:
        errors.append({"field": "compare", "message": _("Use previous, year or rest.")})
        return None
    if raw in comparisons.PERIODS and any(name in TIME_FIELDS for name in group_by):
        errors.append(
            {
                "field": "compare",
                "message": _(
                    "compare=%(against)s compares each group with itself in another period; "
                    "it cannot be used with grouping by day, week or month.",
                    against=raw,
                ),
            }
        )
    if raw == "rest" and comparisons.compared_field(group_by) is None:
        errors.append(
            {
                "field": "compare",
                "message": _(
                    "compare=rest compares each group with the rest of its parent; "
                    "group by at least one field other than day, week or month."
                ),
            }
        )
    return raw


def _values(raw: str) -> list[str]:
    return [v.strip() for v in raw.split(",") if v.strip()]


def _date(raw: str | None, name: str, errors: list[dict[str, str]]) -> date | None:
    """Read a day written 2026-11-29; empty means the default, as the OpenAPI document says."""
    if raw is None or raw == "":
        return None
    # Only the form the document promises (RFC 3339 full-date), not every ISO 8601 form
    # Python reads (20261129, 2026-W48-7); and none before the earliest day, whose default
    # range would start before the first day a date can hold.
    day = None
    if DAY.fullmatch(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
    if day is None:
        errors.append({"field": name, "message": _("Use a date like 2026-11-29.")})
    elif day < EARLIEST_DAY:
        errors.append(
            {
                "field": name,
                "message": _("Use a date from %(earliest)s on.", earliest=EARLIEST_DAY.isoformat()),
            }
        )
    else:
        return day
    return None


def _known(name: str, value: str) -> bool:
    if name in FIXED:
        return value in FIXED[name]
    if name == "survey":
        if not SURVEY_ID.fullmatch(value) or int(value) > MAX_ID:
            return False
        return db.session.get(Survey, int(value)) is not None
    return value in ids_by_code(name)


def ids_by_code(name: str) -> dict[str, int]:
    """An organisation field's ids by code, kept by the process under the config stamp.

    Business lines, teams and agents are watched tables (survey.stamped): a code added or
    changed anywhere is seen by the next request, and a query asks no statement for them.
    """
    model = CODED[name]
    return stamped.kept(
        "ids-by-code", name, lambda: dict(db.session.execute(sa.select(model.code, model.id)).all())
    )


Counts = dict[str, int]
# A group's key (its group_by values, as the API shows them) -> kind -> counts.
Tally = dict[tuple[Any, ...], dict[str, Counts]]


def counts(query: ScoreQuery, plan: planner.Plan | None = None) -> tuple[Tally, planner.Plan]:
    """Return each group's raw counts per kind (n, total, total_sq, top, bottom) and the plan.

    The plan is the planner's cheapest unless one is given (tests compare plans). Every
    part of it is read in one UNION ALL and summed in SQL into one row per group, each
    kind's counts in columns of their own (a kind with no rollup row in the group reads
    as NULL, and is left out of the group's counts), with the codes of the organisation
    ids it groups by joined there too.
    """
    plan = plan or planner.plan(query.date_from, query.date_to, query.group_by, query.filters)
    filters = filter_values(query)
    parts = [_part_select(part, query, filters) for part in plan.parts]
    statement = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    rows = db.session.execute(_by_group(statement, query.group_by)).all()
    shown = [_SHOWN[name] for name in query.group_by]
    sums: Tally = {}
    # Once per group (hundreds of agents), so unpacked rather than sliced or looped over kinds.
    for *values, rn, rt, rs, rp, rb, pn, pt, ps, pp, pb, cn, ct, cs, cp, cb in rows:
        key = tuple([show(value) for show, value in zip(shown, values, strict=True)])
        kinds: dict[str, Counts] = {}
        if rn is not None:  # in COUNT_COLUMNS' order
            kinds["rating_5"] = {"n": rn, "total": rt, "total_sq": rs, "top": rp, "bottom": rb}
        if pn is not None:
            kinds["nps_0_10"] = {"n": pn, "total": pt, "total_sq": ps, "top": pp, "bottom": pb}
        if cn is not None:
            kinds["ces_7"] = {"n": cn, "total": ct, "total_sq": cs, "top": cp, "bottom": cb}
        if key in sums:  # ids shown alike: none, and one whose code is gone
            kinds = _added(sums[key], kinds)
        sums[key] = kinds
    if not query.group_by and not sums:
        sums[()] = {}
    log.debug("scores %s read %s", query, plan.describe())
    return sums, plan


def _added(one: dict[str, Counts], other: dict[str, Counts]) -> dict[str, Counts]:
    """Two groups' counts per kind, added up."""
    summed = {kind: dict(counts) for kind, counts in one.items()}
    for kind, counts in other.items():
        into = summed.setdefault(kind, dict.fromkeys(COUNT_COLUMNS, 0))
        for name, value in counts.items():
            into[name] += value
    return summed


# Each kind's counts as columns of one row per group, summed over the rows of the
# subquery ``parts`` (survey.scoring.queries._by_group). As integers: PostgreSQL sums
# BIGINT to NUMERIC, which arrives as a Decimal a value, to be turned back into an int for
# each of hundreds of groups. Written as SQL text, built once: the same expressions as
# constructs made the statement built and keyed for the statement cache on every request
# about 1 ms of CPU longer. The kinds and columns are this module's constants.
_PIVOT = tuple(
    sa.literal_column(
        f"CAST(sum(parts.{name}) FILTER (WHERE parts.kind = '{kind}') AS BIGINT)", sa.BigInteger
    ).label(f"{kind}_{name}")
    for kind in ROLLED_KINDS
    for name in COUNT_COLUMNS
)


def _by_group(statement: Any, group_by: tuple[str, ...]) -> sa.Select[Any]:
    """One row per group of the parts' rows (one per group and kind): each kind's counts.

    Columns: the group's fields, then for each kind of ROLLED_KINDS its COUNT_COLUMNS,
    NULL where the group has no row of that kind. Summed over the parts of a plan here,
    so a group read from several tables is one row too. Each organisation id it groups
    by is shown as its code, joined to the parts' rows (already summed by id and kind:
    a few a group); an id with no code (0, none) gives NULL.
    """
    parts = statement.subquery("parts")
    joined: Any = parts
    columns: list[Any] = []
    keys: list[Any] = []
    for name in group_by:
        column = parts.c[name]
        keys.append(column)
        if name in CODED:
            table = CODED[name].__table__
            joined = joined.outerjoin(table, table.c.id == column)
            keys.append(table.c.code)
            columns.append(table.c.code.label(name))
        else:
            columns.append(column)
    return sa.select(*columns, *_PIVOT).select_from(joined).group_by(*keys)


def filter_values(query: ScoreQuery) -> dict[str, tuple[Any, ...]]:
    """Each filter's accepted values as the rollup stores them (ids for codes)."""
    values: dict[str, tuple[Any, ...]] = {}
    for name, accepted in query.filters.items():
        if name in CODED:
            ids = ids_by_code(name)
            values[name] = tuple(ids[code] for code in accepted if code in ids)
        elif name == "survey":
            values[name] = tuple(int(v) for v in accepted)
        else:
            values[name] = tuple(accepted)
    return values


def _part_select(
    part: planner.Part, query: ScoreQuery, filters: dict[str, tuple[Any, ...]]
) -> sa.Select[Any]:
    """One table's share of a query: its periods, the filters, grouped by the query's fields."""
    table = part.cuboid.table
    period = table.c[part.cuboid.grain]
    columns = [
        table.c[g if g in TIME_FIELDS else planner.FIELD_COLUMNS[g]].label(g)
        for g in query.group_by
    ]
    conditions: list[Any] = [period >= part.first, period <= part.last]
    for name, values in filters.items():
        conditions.append(table.c[planner.FIELD_COLUMNS[name]].in_(values))
    if "dimension" not in query.group_by and "dimension" not in query.filters:
        # CSAT and the mean read the overall question unless dimensions are asked for;
        # NPS and CES questions count whatever their dimension. The values are written
        # into the SQL, not bound, as in the headline index some tables have
        # (survey.models.rollup.HEADLINE): the database can use it only for a read that
        # names them, and a prepared statement's plan does not know bound values.
        conditions.append(
            sa.or_(
                table.c.kind != sa.literal_column("'rating_5'"),
                table.c.dimension == sa.literal_column("'overall'"),
            )
        )
    return (
        sa.select(
            *columns,
            table.c.kind.label("kind"),
            *(sa.func.sum(table.c[name]).label(name) for name in COUNT_COLUMNS),
        )
        .where(*conditions)
        .group_by(*columns, table.c.kind)
    )


def scores(
    query: ScoreQuery, min_n: int, reference: tuple[date, date] | None = None
) -> list[dict[str, Any]]:
    """Return one entry per group: its key, counts and scores (None below min_n).

    Without ``group_by`` there is exactly one group, with an empty key, even
    when nothing was answered. ``reference`` overrides the days a period comparison
    (``compare=previous`` or ``year``) reads.
    """
    extended = comparisons.rest_fields(query)
    if extended is None:
        sums, _plan = counts(query)
        return scored(query, sums, min_n, reference)
    # compare=rest by agent or team: one read by the field and its parent gives both the
    # groups' counts (added up over the parent) and their parents' (the same tables: every
    # one that keeps a team keeps its business line, every one with agents their team).
    rows, _plan = counts(replace(query, group_by=extended, compare=None))
    sums = comparisons.without_parent(rows, len(query.group_by))
    found = comparisons.references(query, sums, rows=rows)
    return scored(query, sums, min_n, reference, found)


def scored(
    query: ScoreQuery,
    sums: Tally,
    min_n: int,
    reference: tuple[date, date] | None = None,
    found: dict[tuple[Any, ...], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Return ``scores`` of counts already read for the query (``counts``), in its order.

    :param found: each group's reference counts for ``query.compare``, when the caller has
        them (``comparisons.references`` gives them); read from the rollup otherwise.
    """
    groups = [
        _group(dict(zip(query.group_by, key, strict=True)), kinds, min_n)
        for key, kinds in _in_order(sums)
    ]
    if query.compare:
        comparisons.annotate(query, sums, groups, min_n, reference, found)
    return groups


def _codes() -> dict[str, dict[int, str]]:
    """Organisation ids to codes; small tables, read once per query."""
    return {
        name: dict(db.session.execute(sa.select(model.id, model.code)).all())
        for name, model in CODED.items()
    }


def _key_value(name: str, row: Mapping[str, Any], codes: dict[str, dict[int, str]]) -> Any:
    """A group key's value as the API shows it, from a row of the rollup's columns."""
    return _shown(name, row[name], codes)


def _shown(name: str, value: Any, codes: dict[str, dict[int, str]]) -> Any:
    """A group key's value as the API shows it: codes, ISO dates, null for none."""
    if name in CODED:
        return codes[name].get(value) if value else None
    return _SHOWN[name](value)


def _day_shown(value: Any) -> str:
    if isinstance(value, str):  # a UNION ALL of dates may come back as text on SQLite
        value = date.fromisoformat(value)
    return value.isoformat()


def _month_shown(value: Any) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value.year:04d}-{value.month:02d}"


def _code_shown(code: str | None) -> str | None:
    """An organisation code as ``counts`` reads it (joined in SQL); None for none."""
    return code


def _survey_shown(value: int | None) -> str | None:
    return str(value) if value else None


def _value_shown(value: Any) -> Any:
    return value or None


# How ``counts`` shows each group field's value, read from its rows.
_SHOWN = {
    "day": _day_shown,
    "week": _day_shown,
    "month": _month_shown,
    **dict.fromkeys(CODED, _code_shown),
    "survey": _survey_shown,
    **{name: _value_shown for name in FILTER_FIELDS if name not in CODED and name != "survey"},
}


def _in_order(sums: Tally) -> list[tuple[tuple[Any, ...], dict[str, Counts]]]:
    """The groups in the API's order: by each key value as text, none last.

    Every value ``counts`` shows is text or None (_SHOWN), so keys without a None sort
    as they are, compared in C, rather than through a key made for each of hundreds.
    """
    groups = list(sums.items())
    if any(None in key for key in sums):
        groups.sort(key=lambda group: tuple(_sortable(v) for v in group[0]))
    else:
        groups.sort(key=_first)
    return groups


def _first(group: tuple[tuple[Any, ...], dict[str, Counts]]) -> tuple[Any, ...]:
    return group[0]


def _sortable(value: Any) -> tuple[bool, str]:
    return (value is None, "" if value is None else str(value))


_EMPTY = {"n": 0, "total": 0, "total_sq": 0, "top": 0, "bottom": 0}


def _group(key: dict[str, Any], kinds: dict[str, dict[str, int]], min_n: int) -> dict[str, Any]:
    """Turn one group's counts per kind into the scores the API reports.

    A kind under the minimum n has no score (every formula says None there): its
    formulas are not called, which spares most of the work of many small groups. It runs
    once per group (hundreds in a ranking of agents), so the minimum n is checked once a
    kind (the formulas are then called with their default, which n passes), each formula
    once, and the group is written as one dict in the contract's order.
    """
    rating = kinds.get("rating_5", _EMPTY)
    nps = kinds.get("nps_0_10", _EMPTY)
    ces = kinds.get("ces_7", _EMPTY)
    n, answered, ces_n = rating["n"], nps["n"], ces["n"]
    if formulas.enough(n, min_n):
        top, total = rating["top"], rating["total"]
        low, high = formulas.wilson_interval(top, n)  # type: ignore[misc]
        mean_interval = stats.mean_interval(n, total, rating["total_sq"])
        csat = round(formulas.csat(top, n), 4)  # type: ignore[arg-type]
        mean = round(formulas.mean(total, n), 3)  # type: ignore[arg-type]
        csat_low, csat_high = round(low, 4), round(high, 4)
        if mean_interval is None:
            mean_low = mean_high = None
        else:
            mean_low, mean_high = round(mean_interval[0], 3), round(mean_interval[1], 3)
    else:
        csat = csat_low = csat_high = mean = mean_low = mean_high = None
    if formulas.enough(answered, min_n):
        promoters, detractors = nps["top"], nps["bottom"]
        nps_score = round(formulas.nps(promoters, detractors, answered), 1)  # type: ignore[arg-type]
        nps_moe = round(formulas.nps_margin(promoters, detractors, answered), 1)  # type: ignore[arg-type]
    else:
        nps_score = nps_moe = None
    return {
        "key": key,
        "n": n,
        "csat": csat,
        "csat_low": csat_low,
        "csat_high": csat_high,
        "mean": mean,
        "mean_low": mean_low,
        "mean_high": mean_high,
        "nps_n": answered,
        "nps": nps_score,
        "nps_moe": nps_moe,
        "ces_n": ces_n,
        "ces": round(formulas.ces(ces["top"], ces_n), 4) if formulas.enough(ces_n, min_n) else None,  # type: ignore[arg-type]
    }
