"""The breakdown page: business line → team → agent, and by channel, each against the rest."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from survey.dashboard.overview import RATED, scores, without_dimension
from survey.extensions import db
from survey.models import Agent, BusinessLine, Team
from survey.scoring import comparisons, queries
from survey.scoring.queries import ScoreQuery, Tally

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


# The page's two channel tables: their counts are read once, by both channels.
CHANNELS = ("channel", "survey_channel")


def tables(
    query: ScoreQuery,
    min_n: int,
    locale: str,
    sort: str,
    desc: bool,
    labels: dict[str, dict[str, str]],
) -> list[Table]:
    """The page's tables: the level below the filter, the interaction and the survey channel.

    The two channels' counts by dimension are one read by both channels (and dimension),
    added up each way: the same rows of the same rollup, read once instead of twice.

    :param labels: each field's names of its values (as ``table`` takes them).
    """
    both = replace(query, group_by=(*CHANNELS, "dimension"), compare=None)
    joint, _plan = queries.counts(both)
    level = level_of(query)
    found = [table(query, min_n, level, locale, sort, desc, labels.get(level))]
    for i, field in enumerate(CHANNELS):
        counted = _added_up(joint, (i, len(CHANNELS)))
        found.append(table(query, min_n, field, locale, sort, desc, labels.get(field), counted))
    return found


def _added_up(tally: Tally, kept: tuple[int, ...]) -> Tally:
    """Counts keyed by more fields added up into the fields at the positions ``kept``."""
    sums: Tally = {}
    for key, kinds in tally.items():
        into = sums.setdefault(tuple(key[i] for i in kept), {})
        for kind, counts in kinds.items():
            summed = into.get(kind)
            if summed is None:
                into[kind] = dict(counts)
            else:
                for name, value in counts.items():
                    summed[name] += value
    return sums


def table(
    query: ScoreQuery,
    min_n: int,
    field: str,
    locale: str,
    sort: str,
    desc: bool,
    labels: dict[str, str] | None = None,
    counted: Tally | None = None,
) -> Table:
    """Rows of one field with scores against the rest, the four dimensions and display names.

    :param labels: names of a field's fixed values (channels), organisation names otherwise.
    :param counted: the field's counts by dimension when the page has them already.
    """
    by_dimension = replace(query, group_by=(field, "dimension"), compare=None)
    if counted is None:
        counted, _plan = queries.counts(by_dimension)
    if "dimension" in query.filters:
        rows = scores(query, min_n, (field,), "rest")
    else:  # the field's own counts are its dimensions' added up: one read fewer
        asked = replace(query, group_by=(field,), compare="rest")
        sums = without_dimension(counted)
        rows = queries.scored(asked, sums, min_n, found=_rest_in_hand(asked, sums))
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


def _rest_in_hand(query: ScoreQuery, sums: Tally) -> dict[tuple[Any, ...], Any] | None:
    """Each row's rest from the counts in hand, when its parent is the one the page is filtered to.

    The rest of an agent is the rest of their team (of a team, of its business line), read
    again by (agent, team) since an agent may have answered in several teams. With one team
    asked for, every count is that team's: the rows by (agent, team) are the table's own
    counts keyed with it, and need no second read. None: read them (survey.scoring.comparisons).
    """
    child = comparisons.compared_field(query.group_by)
    parent = comparisons.PARENT.get(child) if child else None
    chosen = query.filters.get(parent, ()) if parent else ()
    if parent is None or parent in query.group_by or len(chosen) != 1:
        return None
    rows = {key + (chosen[0],): kinds for key, kinds in sums.items()}
    return comparisons.references(query, sums, rows=rows)


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
