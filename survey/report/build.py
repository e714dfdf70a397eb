"""Gather the report's figures through the scoring services the dashboards and the API use.

Every figure here is one the API gives for the same days (``GET /api/v1/scores`` with
``from``/``to`` of the period, of the previous one, of the same days a year earlier):
``queries.scores`` is the one place they are computed. What the report adds is the
choice of reference (the previous calendar month, quarter or year, see
``periods.previous``) and the sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from survey import clock, settings
from survey.actions import effect, words
from survey.actions import service as action_service
from survey.dashboard.filters import CATEGORY_LABELS, CAUSE_LABELS, DIMENSION_LABELS
from survey.dashboard.overview import DIMENSION_ORDER, mark_partial
from survey.extensions import db
from survey.followup import kpis
from survey.funnel import report as funnel_report
from survey.models import BusinessLine, ImprovementAction, Interaction, Team
from survey.models.interaction import CHANNELS
from survey.report import periods, sentences, svg
from survey.report.periods import Period
from survey.report.sentences import Reference
from survey.scoring import complaint_cases, complaints, queries
from survey.scoring.queries import ScoreQuery
from survey.scoring.rebuilding import day_start

# How many of the largest significant changes section 6 lists.
LARGEST = 8


@dataclass(frozen=True)
class Figure:
    """One score of the period with its interval and both comparisons."""

    key: str  # csat, nps, or a dimension
    label: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    previous_value: float | None
    previous: Reference
    year_value: float | None
    year: Reference
    sentence: str


@dataclass(frozen=True)
class Change:
    segment: str
    field: str  # business_line or team
    dimension: str
    difference: float
    q_value: float
    sentence: str


@dataclass
class Report:
    period: Period
    previous: Period
    year: Period
    lang: str
    title: str
    bank_name: str
    generated_at: datetime
    zone: str
    min_n: int
    interactions: dict[str, int]
    headline: list[Figure]
    dimensions: list[Figure]
    trend_grain: str
    trend: list[dict[str, Any]]
    changes: list[Change]
    changes_tested: int
    changes_sentence: str | None
    # Section 1's surveys by channel: GET /api/v1/funnel's figures for the period.
    funnel: dict[str, Any]
    # Section 4: the follow-up figures the overview shows for the same days.
    followup: kpis.FollowUpFigures
    followup_sentence: str
    # Section 5: the improvement actions started in the period, each judged.
    actions: list[dict[str, Any]]
    # Section 3: GET /api/v1/complaints' figures for the period, as the API rounds them.
    complaints: dict[str, Any]
    complaint_sentences: list[str]
    charts: dict[str, Any] = field(default_factory=dict)


def build(period: Period, lang: str) -> Report:
    """Gather the report of a period (the bank's days, inclusive) in ``zh`` or ``en``."""
    min_n = int(settings.get("min_n"))
    previous, year = periods.previous(period), periods.year_earlier(period)
    words = {
        "previous": periods.previous_words(period, lang),
        "year": "去年同期" if lang == "zh" else "the same period last year",
    }
    query = ScoreQuery(period.first, period.last)
    headline = _headline(query, previous, year, words, lang, min_n)
    dimensions = _dimensions(query, previous, year, words, lang, min_n)
    grain = "day" if period.days <= 31 else "week" if period.days <= 120 else "month"
    trend = queries.scores(ScoreQuery(period.first, period.last, (grain,)), min_n)
    mark_partial(trend, grain, period.first, period.last, queries.today())
    changes, tested = _largest_changes(query, previous, words["previous"], lang, min_n)
    handled = complaints.as_json(complaint_cases.report(query, min_n))
    followed = kpis.figures(period.first, period.last, settings.bank_zone(), min_n)
    report = Report(
        period=period,
        previous=previous,
        year=year,
        lang=lang,
        title=periods.title(period, lang),
        bank_name=settings.get("bank_name_zh" if lang == "zh" else "bank_name_en"),
        generated_at=clock.now(),
        zone=settings.bank_zone(),
        min_n=min_n,
        interactions=interactions_by_channel(period),
        headline=headline,
        dimensions=dimensions,
        trend_grain=grain,
        trend=trend,
        changes=changes,
        changes_tested=tested,
        changes_sentence=(
            None if changes else sentences.no_significant_changes(lang, words["previous"], tested)
        ),
        funnel=funnel_report.funnel(query),
        followup=followed,
        followup_sentence=sentences.followup(lang, followed),
        actions=actions_of(period, lang, min_n),
        complaints=handled,
        complaint_sentences=sentences.complaints(lang, handled, words["year"]),
    )
    report.charts = _charts(report)
    return report


def actions_of(period: Period, lang: str, min_n: int) -> list[dict[str, Any]]:
    """The improvement actions started in the period, each with its verdict in words (as its
    own page says it)."""
    found = db.session.scalars(
        sa.select(ImprovementAction)
        .where(ImprovementAction.started_on.between(period.first, period.last))
        .order_by(ImprovementAction.started_on, ImprovementAction.id)
    ).all()
    today = queries.today()
    listed = []
    for action in found:
        windows, judged = effect.judge(action, today, min_n)
        target = action_service.target_name(action, lang)
        listed.append(
            {
                "id": action.id,
                "title": action.title_zh if lang == "zh" else action.title_en,
                "kind": str(action_service.KIND_LABELS.get(action.kind, action.kind)),
                "target": target,
                "started_on": action.started_on,
                "verdict": judged.verdict,
                "sentence": words.sentence(judged, target, words.rest_name(action), windows, min_n),
            }
        )
    return listed


def _dimension_names() -> dict[str, str]:
    """The dimensions' names in the language being rendered (the caller's locale)."""
    return {key: str(label) for key, label in DIMENSION_LABELS.items()}


def interactions_by_channel(period: Period) -> dict[str, int]:
    """How many interactions the bank's systems posted for the period, by channel (all keys)."""
    zone = ZoneInfo(settings.bank_zone())
    start = day_start(period.first, zone)
    end = day_start(period.last + timedelta(days=1), zone)
    rows = db.session.execute(
        sa.select(Interaction.channel, sa.func.count())
        .where(Interaction.occurred_at >= start, Interaction.occurred_at < end)
        .group_by(Interaction.channel)
    ).all()
    found = {channel: 0 for channel in CHANNELS}
    found.update({channel: int(n) for channel, n in rows})
    return found


def _with_references(
    query: ScoreQuery, previous: Period, year: Period, min_n: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict, dict]:
    """The query's groups compared with the previous period and with a year earlier, and the
    reference periods' own groups (their values and n), each by group key."""
    against_previous = queries.scores(
        replace(query, compare="previous"), min_n, (previous.first, previous.last)
    )
    against_year = queries.scores(replace(query, compare="year"), min_n, (year.first, year.last))
    before = queries.scores(replace(query, date_from=previous.first, date_to=previous.last), min_n)
    earlier = queries.scores(replace(query, date_from=year.first, date_to=year.last), min_n)

    def by_key(groups: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
        return {tuple(g["key"].values()): g for g in groups}

    return against_previous, against_year, by_key(before), by_key(earlier)


def _reference(
    compared: dict[str, Any], metric: str, reference: dict[str, Any] | None, words: str, min_n: int
) -> Reference:
    n_field = "nps_n" if metric == "nps" else "n"
    result = compared["compare"][metric]
    return Reference(
        words=words,
        n=int(reference[n_field]) if reference else 0,
        difference=result["difference"],
        significant=result["mark"] is not None,
        min_n=min_n,
    )


def _figure(
    key: str,
    label: str,
    group: dict[str, Any],
    year_group: dict[str, Any],
    before: dict[str, Any] | None,
    earlier: dict[str, Any] | None,
    words: dict[str, str],
    lang: str,
    min_n: int,
) -> Figure:
    metric = "nps" if key == "nps" else "csat"
    if metric == "nps":
        value, n = group["nps"], group["nps_n"]
        margin = group["nps_moe"]
        low = None if value is None else value - margin
        high = None if value is None else value + margin
    else:
        value, low, high, n = group["csat"], group["csat_low"], group["csat_high"], group["n"]
    prev = _reference(group, metric, before, words["previous"], min_n)
    year = _reference(year_group, metric, earlier, words["year"], min_n)
    unit = "nps" if metric == "nps" else "share"
    return Figure(
        key=key,
        label=label,
        value=value,
        low=low,
        high=high,
        n=n,
        previous_value=before.get(metric) if before else None,
        previous=prev,
        year_value=earlier.get(metric) if earlier else None,
        year=year,
        sentence=sentences.score_sentence(
            lang, label, value, low, high, n, min_n, [prev, year], unit
        ),
    )


def _headline(query, previous, year, words, lang, min_n) -> list[Figure]:
    against_previous, against_year, before, earlier = _with_references(query, previous, year, min_n)
    [group], [year_group] = against_previous, against_year
    labels = {
        "zh": {"csat": "总体满意度（CSAT）", "nps": "净推荐值（NPS）"},
        "en": {"csat": "Overall satisfaction (CSAT)", "nps": "Net Promoter Score (NPS)"},
    }[lang]
    return [
        _figure(
            key, labels[key], group, year_group, before.get(()), earlier.get(()), words, lang, min_n
        )
        for key in ("csat", "nps")
    ]


def _dimensions(query, previous, year, words, lang, min_n) -> list[Figure]:
    by_dimension = replace(query, group_by=("dimension",))
    against_previous, against_year, before, earlier = _with_references(
        by_dimension, previous, year, min_n
    )
    found = {g["key"]["dimension"]: g for g in against_previous}
    found_year = {g["key"]["dimension"]: g for g in against_year}
    names = _dimension_names()
    return [
        _figure(
            d,
            f"{names[d]}满意度" if lang == "zh" else f"{names[d]} satisfaction",
            found[d],
            found_year[d],
            before.get((d,)),
            earlier.get((d,)),
            words,
            lang,
            min_n,
        )
        for d in DIMENSION_ORDER
        if d in found and d != "overall"
    ]


def _largest_changes(
    query: ScoreQuery, previous: Period, words: str, lang: str, min_n: int
) -> tuple[list[Change], int]:
    """Business lines' and teams' dimension CSAT against the previous period: the significant
    changes, largest first, and how many comparisons were tested."""
    changes: list[Change] = []
    tested = 0
    for name, model in (("business_line", BusinessLine), ("team", Team)):
        groups = queries.scores(
            replace(query, group_by=(name, "dimension"), compare="previous"),
            min_n,
            (previous.first, previous.last),
        )
        named = {item.code: item.name(lang) for item in db.session.scalars(sa.select(model)).all()}
        for group in groups:
            result = group["compare"]["csat"]
            if result["p_value"] is None:
                continue
            tested += 1
            if result["mark"] is None:
                continue
            segment = named.get(group["key"][name], group["key"][name])
            dimension = _dimension_names()[group["key"]["dimension"]]
            ref = Reference(words, group["n"], result["difference"], True, min_n)
            changes.append(
                Change(
                    segment=segment,
                    field=name,
                    dimension=group["key"]["dimension"],
                    difference=result["difference"],
                    q_value=result["q_value"],
                    sentence=sentences.segment_change(lang, segment, dimension, ref),
                )
            )
    changes.sort(key=lambda c: abs(c.difference), reverse=True)
    return changes[:LARGEST], tested


def _charts(report: Report) -> dict[str, Any]:
    zh = report.lang == "zh"
    names = _dimension_names()
    bars = [
        svg.Bar(
            names[f.key if f.key in names else "overall"], f.value, f.low, f.high, f"n = {f.n:,}"
        )
        for f in [report.headline[0], *report.dimensions]
    ]
    points = [
        svg.Point(
            str(g["key"][report.trend_grain]),
            g["csat"],
            g["csat_low"],
            g["csat_high"],
            g.get("partial", False),
        )
        for g in report.trend
    ]
    handled = report.complaints
    by_type = [
        svg.Bar(
            str(CATEGORY_LABELS.get(s["key"], s["key"] or "—")), s["share"], note=f"{s['cases']:,}"
        )
        for s in handled["by_category"]
    ]
    by_cause = [
        svg.Bar(
            str(CAUSE_LABELS.get(s["key"], s["key"] or "—")), s["share"], note=f"{s['cases']:,}"
        )
        for s in handled["by_cause"]
    ]
    met = [
        svg.Bar(
            sentences.commitment_name(c, report.lang),
            c["share_met"],
            note=f"{c['met']:,}/{c['decided']:,}",
        )
        for c in handled["commitments"]
    ]
    return {
        "complaint_types": svg.bars("投诉类型分布" if zh else "Complaints by type", by_type),
        "complaint_causes": svg.bars("投诉原因分布" if zh else "Complaints by cause", by_cause),
        "commitments": svg.bars("服务承诺达成率" if zh else "Commitments met", met),
        "dimensions": svg.bars("各维度满意度（CSAT）" if zh else "CSAT by dimension", bars),
        "trend": svg.trend("总体满意度趋势" if zh else "Overall CSAT trend", points),
    }
