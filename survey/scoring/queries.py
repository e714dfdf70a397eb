"""Score queries over the Rollup table, for the scores API and the dashboards.

They read only the rollup, never raw answers: a question is a GROUP BY over
pre-aggregated days and segments, whatever the number of answers behind it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from survey import clock
from survey.extensions import db
from survey.models import Agent, BusinessLine, Rollup, Team
from survey.models.interaction import CATEGORIES, CHANNELS, TYPES
from survey.models.survey import DIMENSIONS
from survey.scoring import formulas
from survey.scoring.rollup import local_day

GROUP_FIELDS = (
    "dimension",
    "business_line",
    "team",
    "agent",
    "channel",
    "survey_channel",
    "category",
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
)
TIME_FIELDS = ("day", "week", "month")
SURVEY_CHANNELS = ("web", "sms", "voice")
DEFAULT_DAYS = 30
# A day as the OpenAPI document writes it, and the earliest one a query may name (the
# floor of interaction times, survey.api.schemas.EARLIEST).
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
EARLIEST_DAY = date(2000, 1, 1)
# Parameters that are not filters.
OTHER_PARAMS = ("from", "to", "group_by")

# Segment fields and the rollup column each one reads.
COLUMNS: dict[str, Any] = {
    "dimension": Rollup.dimension,
    "business_line": Rollup.business_line_id,
    "team": Rollup.team_id,
    "agent": Rollup.agent_id,
    "channel": Rollup.channel,
    "survey_channel": Rollup.survey_channel,
    "category": Rollup.category,
    "type": Rollup.interaction_type,
}
# Fields whose values are organisation codes, stored as ids.
CODED: dict[str, Any] = {"business_line": BusinessLine, "team": Team, "agent": Agent}
# Fields with a fixed list of values.
FIXED: dict[str, tuple[str, ...]] = {
    "dimension": DIMENSIONS,
    "channel": CHANNELS,
    "survey_channel": SURVEY_CHANNELS,
    "category": CATEGORIES,
    "type": TYPES,
}


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
    if errors:
        raise QueryError(errors)
    return ScoreQuery(start, end, tuple(group_by), filters)


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
    model = CODED[name]
    return db.session.scalar(sa.select(model.id).where(model.code == value)) is not None


def _filter_conditions(query: ScoreQuery) -> list[Any]:
    conditions: list[Any] = [Rollup.day >= query.date_from, Rollup.day <= query.date_to]
    for name, values in query.filters.items():
        if name in CODED:
            model = CODED[name]
            ids = db.session.scalars(sa.select(model.id).where(model.code.in_(values))).all()
            conditions.append(COLUMNS[name].in_(ids))
        else:
            conditions.append(COLUMNS[name].in_(values))
    if "dimension" not in query.group_by and "dimension" not in query.filters:
        # CSAT and the mean read the overall question unless dimensions are asked for;
        # NPS and CES questions count whatever their dimension.
        conditions.append(sa.or_(Rollup.kind != "rating_5", Rollup.dimension == "overall"))
    return conditions


def scores(query: ScoreQuery, min_n: int) -> list[dict[str, Any]]:
    """Return one entry per group: its key, counts and scores (None below min_n).

    Without ``group_by`` there is exactly one group, with an empty key, even
    when nothing was answered.
    """
    segment = [g for g in query.group_by if g not in TIME_FIELDS]
    by_time = any(g in TIME_FIELDS for g in query.group_by)
    columns = [COLUMNS[g].label(g) for g in segment]
    if by_time:
        columns.append(Rollup.day.label("day"))
    statement = (
        sa.select(
            *columns,
            Rollup.kind,
            sa.func.sum(Rollup.n).label("n"),
            sa.func.sum(Rollup.total).label("total"),
            sa.func.sum(Rollup.top).label("top"),
            sa.func.sum(Rollup.bottom).label("bottom"),
        )
        .where(*_filter_conditions(query))
        .group_by(*columns, Rollup.kind)
    )
    codes = _codes()
    sums: dict[tuple[Any, ...], dict[str, dict[str, int]]] = {}
    for row in db.session.execute(statement).mappings():
        key = tuple(_key_value(g, row, codes) for g in query.group_by)
        kinds = sums.setdefault(key, {})
        counts = kinds.setdefault(row["kind"], {"n": 0, "total": 0, "top": 0, "bottom": 0})
        for name in counts:
            counts[name] += int(row[name] or 0)
    if not query.group_by and not sums:
        sums[()] = {}
    groups = [
        _group(dict(zip(query.group_by, key, strict=True)), kinds, min_n)
        for key, kinds in sums.items()
    ]
    groups.sort(key=lambda g: tuple(_sortable(v) for v in g["key"].values()))
    return groups


def _codes() -> dict[str, dict[int, str]]:
    """Organisation ids to codes; small tables, read once per query."""
    return {
        name: dict(db.session.execute(sa.select(model.id, model.code)).all())
        for name, model in CODED.items()
    }


def _key_value(name: str, row: Mapping[str, Any], codes: dict[str, dict[int, str]]) -> Any:
    """A group key's value as the API shows it: codes, ISO dates, null for none."""
    if name in TIME_FIELDS:
        day: date = row["day"]
        if name == "week":
            return (day - timedelta(days=day.weekday())).isoformat()
        if name == "month":
            return f"{day.year:04d}-{day.month:02d}"
        return day.isoformat()
    value = row[name]
    if name in CODED:
        return codes[name].get(value) if value else None
    return value or None


def _sortable(value: Any) -> tuple[bool, str]:
    return (value is None, "" if value is None else str(value))


def _group(key: dict[str, Any], kinds: dict[str, dict[str, int]], min_n: int) -> dict[str, Any]:
    """Turn one group's counts per kind into the scores the API reports."""
    empty = {"n": 0, "total": 0, "top": 0, "bottom": 0}
    rating = kinds.get("rating_5", empty)
    nps = kinds.get("nps_0_10", empty)
    ces = kinds.get("ces_7", empty)
    interval = formulas.wilson_interval(rating["top"], rating["n"], min_n=min_n)
    return {
        "key": key,
        "n": rating["n"],
        "csat": _round(formulas.csat(rating["top"], rating["n"], min_n=min_n), 4),
        "csat_low": _round(interval[0], 4) if interval else None,
        "csat_high": _round(interval[1], 4) if interval else None,
        "mean": _round(formulas.mean(rating["total"], rating["n"], min_n=min_n), 3),
        "nps_n": nps["n"],
        "nps": _round(formulas.nps(nps["top"], nps["bottom"], nps["n"], min_n=min_n), 1),
        "nps_moe": _round(formulas.nps_margin(nps["top"], nps["bottom"], nps["n"], min_n=min_n), 1),
        "ces_n": ces["n"],
        "ces": _round(formulas.ces(ces["top"], ces["n"], min_n=min_n), 4),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
