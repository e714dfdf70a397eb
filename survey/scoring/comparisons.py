"""The references a score table is compared with (``compare=previous`` or ``compare=rest``).

``compare.py`` does the statistics on counts; this module reads the counts of each
group's reference from the rollup, through the same planner as the table itself:

- ``previous``: the same group in the previous period of the same length
  (for 1–30 November, 2–31 October). Grouping by day, week or month has no "same
  group" in another period, so that combination is refused when the query is parsed.
- ``year``: the same group over the same days a year earlier (the bank's annual
  summary compares with that), refused with a time grouping for the same reason.
- ``rest``: the group's parent minus the group. The parent of an agent is their team,
  of a team its business line, of any other field the whole filtered population; the
  time field of a trend stays in the key, so a week's team is compared with the rest
  of its business line in that week. An agent who moved teams is compared with the rest
  of each team they answered in, added up.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from survey.scoring import compare

if TYPE_CHECKING:
    from survey.scoring.queries import ScoreQuery, Tally

KINDS = ("previous", "year", "rest")
# Kinds that compare the same group in another period (no time grouping with them).
PERIODS = ("previous", "year")
# A field's parent in the organisation; the other fields' parent is everything.
PARENT = {"agent": "team", "team": "business_line"}
TIME = ("day", "week", "month")


def kinds_of(counts: dict[str, dict[str, int]]) -> dict[str, compare.Counts]:
    """Turn a group's raw counts per kind into ``compare.Counts``."""
    return {kind: compare.Counts.from_mapping(row) for kind, row in counts.items()}


def compared_field(group_by: tuple[str, ...]) -> str | None:
    """Return the field whose groups ``rest`` compares with their parent (None: nothing to compare)."""
    for name in ("agent", "team"):
        if name in group_by:
            return name
    segments = [name for name in group_by if name not in TIME]
    return segments[-1] if segments else None


def rest_fields(query: ScoreQuery) -> tuple[str, ...] | None:
    """The fields ``rest`` reads the rollup by: the query's and the compared field's parent.

    None when there is nothing to read again: no ``compare=rest``, nothing to compare, or
    the parent is the whole table or already in the query's key.
    """
    if query.compare != "rest":
        return None
    child = compared_field(query.group_by)
    parent = PARENT.get(child) if child else None
    if parent is None or parent in query.group_by:
        return None
    return (*query.group_by, parent)


def without_parent(rows: Tally, width: int) -> Tally:
    """Add up counts read by ``rest_fields`` into the query's own groups (its first fields)."""
    sums: Tally = {}
    for key, kinds in rows.items():
        kept = sums.setdefault(key[:width], {})
        for kind, counts in kinds.items():
            tally = kept.get(kind)
            if tally is None:
                kept[kind] = dict(counts)
            else:
                for name, value in counts.items():
                    tally[name] += value
    return sums


def references(
    query: ScoreQuery,
    sums: Tally,
    period: tuple[date, date] | None = None,
    rows: Tally | None = None,
) -> dict[tuple[Any, ...], dict[str, compare.Counts]]:
    """Return each group key's reference counts per kind for the query's ``compare``.

    :param period: for a period comparison, the reference days when they are not the
        API's (the period report compares November with October, not with the 30 days
        before November).
    :param rows: for ``rest``, the counts by ``rest_fields`` when the caller has read them
        (``sums`` is then ``without_parent`` of them): not read again.
    """
    from survey.scoring import queries

    if query.compare in PERIODS:
        first, last = period or compare.reference_period(
            query.compare, query.date_from, query.date_to
        )
        before, _plan = queries.counts(replace(query, date_from=first, date_to=last, compare=None))
        return {key: kinds_of(before.get(key, {})) for key in sums}
    child = compared_field(query.group_by)
    if child is None:
        return {}
    parent = PARENT.get(child)
    extended = query.group_by + ((parent,) if parent and parent not in query.group_by else ())
    if extended == query.group_by:
        # The parent is the whole table, or already in its key: the table's own counts are
        # the rows to add up (reading them again would read the same rollup rows twice).
        rows = sums
    elif rows is None:
        rows, _plan = queries.counts(replace(query, group_by=extended, compare=None))
    position = {name: i for i, name in enumerate(extended)}
    parent_fields = [name for name in extended if name != child]
    width = len(query.group_by)
    parents: dict[tuple[Any, ...], dict[str, compare.Counts]] = {}
    members: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], dict[str, compare.Counts]]]] = {}
    for key, counts in rows.items():
        kinds = kinds_of(counts)
        parent_key = tuple(key[position[name]] for name in parent_fields)
        parents[parent_key] = compare.total([parents.get(parent_key, {}), kinds])
        members.setdefault(key[:width], []).append((parent_key, kinds))
    return {
        key: compare.total([compare.rest(parents[p], kinds) for p, kinds in parts])
        for key, parts in members.items()
    }


def annotate(
    query: ScoreQuery,
    sums: Tally,
    groups: list[dict[str, Any]],
    min_n: int,
    period: tuple[date, date] | None = None,
    found: dict[tuple[Any, ...], dict[str, compare.Counts]] | None = None,
) -> None:
    """Add each group's ``compare`` (difference, p_value, q_value, test, mark per metric).

    :param found: the references (as ``references`` returns them) when already read.
    """
    if found is None:
        found = references(query, sums, period)
    keys = [tuple(group["key"].values()) for group in groups]
    table = [(kinds_of(sums.get(key, {})), found.get(key, {})) for key in keys]
    for group, row in zip(groups, compare.compare_table(table, min_n), strict=True):
        group["compare"] = _rounded(compare.row_json(row))


def _rounded(row: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    digits = {"csat": 4, "nps": 1, "mean": 3}
    for metric, values in row.items():
        if values["difference"] is not None:
            values["difference"] = round(values["difference"], digits[metric])
    return row
