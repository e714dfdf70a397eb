"""The breakdown page: business line → team → agent, and by channel, each against the rest."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from survey.dashboard.overview import RATED, scores, without_dimension
from survey.extensions import db
from survey.models import Agent, BusinessLine, Team
from survey.scoring import queries
from survey.scoring.queries import ScoreQuery

LEVELS = ("business_line", "team", "agent")
SORTS = ("name", "n", "csat", "nps", "mean", *RATED)
MODELS: dict[str, Any] = {"business_line": BusinessLine, "team": Team, "agent": Agent}


@dataclass(frozen=True)
class Table:
    """One breakdown table: the field its rows are, and each row's scores and dimensions."""

    field: str
    rows: list[dict[str, Any]]


def level_of(query: ScoreQuery) -> str:
    """Drill down one level below the single business line or team the query is filtered to."""
    if len(query.filters.get("team", ())) == 1 or query.filters.get("agent"):
        return "agent"
    if len(query.filters.get("business_line", ())) == 1:
        return "team"
    return "business_line"


def table(
    query: ScoreQuery,
    min_n: int,
    field: str,
    locale: str,
    sort: str,
    desc: bool,
    labels: dict[str, str] | None = None,
) -> Table:
    """Rows of one field with scores against the rest, the four dimensions and display names.

    :param labels: names of a field's fixed values (channels), organisation names otherwise.
    """
    by_dimension = replace(query, group_by=(field, "dimension"), compare=None)
    counted, _plan = queries.counts(by_dimension)
    if "dimension" in query.filters:
        rows = scores(query, min_n, (field,), "rest")
    else:  # the field's own counts are its dimensions' added up: one read fewer
        asked = replace(query, group_by=(field,), compare="rest")
        rows = queries.scored(asked, without_dimension(counted), min_n)
    rows = [g for g in rows if g["key"][field]]
    dimensions: dict[str, dict[str, Any]] = {}
    for g in queries.scored(by_dimension, counted, min_n):
        dimensions.setdefault(g["key"][field], {})[g["key"]["dimension"]] = g
    names = labels or _names(field, [g["key"][field] for g in rows], locale)
    for row in rows:
        code = row["key"][field]
        row["code"] = code
        row["name"] = names.get(code, code)
        row["dimensions"] = dimensions.get(code, {})
    rows.sort(key=lambda row: _sort_key(row, sort), reverse=desc)
    return Table(field=field, rows=rows)


def _names(field: str, codes: list[str], locale: str) -> dict[str, str]:
    model = MODELS.get(field)
    if model is None or not codes:
        return {}
    found = db.session.scalars(sa.select(model).where(model.code.in_(codes)))
    return {item.code: item.name(locale) for item in found}


def _sort_key(row: dict[str, Any], sort: str) -> tuple[bool, Any]:
    """Sort by a column; rows whose score is hidden (below min n) sort as the lowest."""
    if sort == "name":
        return (True, str(row["name"]))
    value = row["dimensions"].get(sort, {}).get("csat") if sort in RATED else row[sort]
    return (value is not None, value if value is not None else 0)
