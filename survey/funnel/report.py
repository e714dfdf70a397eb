"""The funnel per survey channel, with its rates, read from the funnel rollup alone.

Steps: invited → sent → delivered → opened → started → completed, each with its rate
against the step before; beside them closed partials, failures, suppressions by reason,
opt-outs and reminders. The response rate is (completed + closed_partial) / sent: every
response that counts in the scores (rule 5) over every invitation a provider took.

Counts are by cohort (survey.models.funnel): an invitation made on a day counts there,
whenever it was opened or answered, so the rates of a period are those of its invitations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from survey.extensions import db
from survey.models import funnel_grains
from survey.models.funnel import COUNTERS, SEGMENT_COLUMNS, SUPPRESSION_REASONS, FunnelRollup
from survey.models.rollup import Cuboid
from survey.models.rule import SURVEY_CHANNELS
from survey.scoring import planner, queries

STEPS = ("invited", "sent", "delivered", "opened", "started", "completed")
# The parameters GET /api/v1/funnel and the page take: the scores' days and filters, where a
# survey channel is the one the invitation went out on (sms, email, voice), and no dimension.
FILTERS = tuple(name for name in queries.FILTER_FIELDS if name != "dimension")
PARAMETERS = ("from", "to", *FILTERS)
OTHERS = ("closed_partial", "failed", "opted_out", "reminded", "completed_after_reminder")


def parse(args: Mapping[str, str]) -> queries.ScoreQuery:
    """Read a funnel query; raise queries.QueryError naming every bad parameter.

    Days and filters mean what they mean to GET /api/v1/scores, except ``survey_channel``:
    here, the channel the invitation was sent on.
    """
    errors = [
        {"field": name, "message": _("Unknown parameter.")}
        for name in args
        if name not in PARAMETERS
    ]
    channels: tuple[str, ...] = ()
    if "survey_channel" in args:
        channels, wrong = survey_channels(args["survey_channel"])
        errors.extend(wrong)
    rest = {k: v for k, v in args.items() if k in PARAMETERS and k != "survey_channel"}
    query = None
    try:
        query = queries.parse(rest)
    except queries.QueryError as error:
        errors.extend(error.errors)
    if errors or query is None:
        raise queries.QueryError(errors)
    if channels:
        query = replace(query, filters={**query.filters, "survey_channel": channels})
    return query


def survey_channels(value: str) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """Read ``survey_channel`` (channels sent on, comma-separated): the channels, and its error."""
    channels = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in channels if v not in SURVEY_CHANNELS]
    if channels and not unknown:
        return channels, []
    message = _("Unknown value: %(values)s.", values=", ".join(unknown) or "''")
    return channels, [{"field": "survey_channel", "message": message}]


def funnel(query: queries.ScoreQuery, *, finest: bool = False) -> dict[str, Any]:
    """Return the funnel per survey channel and in total, as GET /api/v1/funnel answers.

    Read by the planner's cheapest plan over the funnel's tables, or (``finest``, for the
    tests that compare plans) from the finest table alone: the answer is the same.
    """
    plan = plan_of(query, finest=finest)
    # Codes become the ids the rollup stores, exactly as the scores' filters do.
    accepted = queries.filter_values(query)
    parts = [_part_select(part, accepted) for part in plan.parts]
    inner = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery()
    rows = db.session.execute(
        sa.select(
            inner.c.survey_channel, *(sa.func.sum(inner.c[c]).label(c) for c in COUNTERS)
        ).group_by(inner.c.survey_channel)
    ).all()
    found = {row.survey_channel: {c: int(getattr(row, c) or 0) for c in COUNTERS} for row in rows}
    # A channel with nothing counted is left out: rows of zeros (an invitation that moved to
    # another channel, a deleted row's coarser rows) say nothing, and differ between tables.
    found = {channel: counts for channel, counts in found.items() if any(counts.values())}
    order = [*SURVEY_CHANNELS, ""]
    channels = [
        _group(found[channel], channel or None)
        for channel in sorted(found, key=lambda c: order.index(c) if c in order else len(order))
    ]
    total = dict.fromkeys(COUNTERS, 0)
    for counts in found.values():
        for name, value in counts.items():
            total[name] += value
    return {
        "from": query.date_from.isoformat(),
        "to": query.date_to.isoformat(),
        "channels": channels,
        "total": _group(total, None),
    }


# The funnel's tables, coarsest first, for the planner (survey.scoring.planner): rows a
# period holds at 1M answers, to rank plans only (measured on the 1M demo, bench/RESULTS.md).
CUBOIDS = (
    Cuboid(
        "funnel_rollup_segment_month",
        "month",
        funnel_grains.FIELDS,
        1_000,
        funnel_grains.SEGMENT_MONTH,
    ),
    Cuboid(
        "funnel_rollup_segment_day",
        "day",
        funnel_grains.FIELDS,
        500,
        funnel_grains.SEGMENT_DAY,
    ),
    Cuboid("funnel_rollup", "day", SEGMENT_COLUMNS[1:], 1_400, FunnelRollup.__table__),
)


def plan_of(query: queries.ScoreQuery, *, finest: bool = False) -> planner.Plan:
    """Return the reads that answer a funnel query, the cheapest the planner finds.

    A query that neither filters by agent nor asks for ``finest`` reads whole months and the
    days around them from the tables without the agent; otherwise the finest table by day.
    """
    if finest:
        return planner.Plan((planner.Part(CUBOIDS[-1], query.date_from, query.date_to),))
    needed = {"survey_channel", *(planner.FIELD_COLUMNS[name] for name in query.filters)}
    return planner.plan_reading(needed, query.date_from, query.date_to, (), CUBOIDS)


def _part_select(part: planner.Part, accepted: dict[str, tuple[Any, ...]]) -> sa.Select[Any]:
    """One table's share of a funnel: its periods and the filters, by survey channel."""
    table = part.cuboid.table
    period = table.c[part.cuboid.grain]
    conditions: list[Any] = [period >= part.first, period <= part.last]
    for name, values in accepted.items():
        conditions.append(table.c[planner.FIELD_COLUMNS[name]].in_(values))
    return (
        sa.select(table.c.survey_channel, *(sa.func.sum(table.c[c]).label(c) for c in COUNTERS))
        .where(*conditions)
        .group_by(table.c.survey_channel)
    )


def _group(counts: dict[str, int], channel: str | None) -> dict[str, Any]:
    steps = {name: counts[name] for name in STEPS}
    rates = {
        name: _share(counts[name], counts[before])
        for before, name in zip(STEPS, STEPS[1:], strict=False)
    }
    return {
        "survey_channel": channel,
        **steps,
        **{name: counts[name] for name in OTHERS},
        "suppressed": {reason: counts[f"suppressed_{reason}"] for reason in SUPPRESSION_REASONS},
        "step_rates": rates,
        "response_rate": _share(counts["completed"] + counts["closed_partial"], counts["sent"]),
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
