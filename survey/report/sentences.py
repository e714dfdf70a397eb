"""Plain sentences generated from the report's numbers, in Chinese or English.

Pure functions of figures: nothing here reads the database, and every sentence states a
number it was given. A change is called a rise or a fall only when it is significant
(its Benjamini–Hochberg q-value below 0.05, the engine's mark); otherwise the sentence
says there was no significant change. A comparison with no answers at all in the
reference period says so ("no data"), never "0".
"""

from __future__ import annotations

from dataclasses import dataclass


def pct(share: float | None) -> str:
    """A share 0–1 as a percentage with one decimal: 0.8523 → 85.2%."""
    return "—" if share is None else f"{share * 100:.1f}%"


def points(difference: float) -> str:
    """A difference of shares in percentage points, unsigned, one decimal: -0.061 → 6.1."""
    return f"{abs(difference) * 100:.1f}"


def count(n: int) -> str:
    return f"{n:,}"


@dataclass(frozen=True)
class Reference:
    """How one figure compares with one reference period."""

    words: str  # 上月 / the previous month / 去年同期 / the same period last year
    n: int  # answers in the reference period
    difference: float | None  # this period − reference (a share's difference)
    significant: bool
    min_n: int


def comparison(ref: Reference, lang: str, unit: str = "share") -> str:
    """One clause: "较上月上升 6.1 个百分点（显著）", or why there is none."""
    zh = lang == "zh"
    if ref.n == 0:
        return f"{ref.words}无数据" if zh else f"no data for {ref.words}"
    if ref.difference is None:
        if zh:
            return f"{ref.words}仅 {count(ref.n)} 份答卷（少于 {ref.min_n} 份），不作比较"
        return f"only {count(ref.n)} answers in {ref.words} (fewer than {ref.min_n}): not compared"
    if not ref.significant:
        return (
            f"与{ref.words}相比无显著变化" if zh else f"no significant change against {ref.words}"
        )
    # A share's change is in percentage points; NPS is already in points (−100…100).
    size = points(ref.difference) if unit == "share" else f"{abs(ref.difference):.1f}"
    if zh:
        verb = "上升" if ref.difference > 0 else "下降"
        measure = "个百分点" if unit == "share" else "分"
        return f"较{ref.words}{verb} {size} {measure}（显著）"
    verb = "rose" if ref.difference > 0 else "fell"
    return f"{verb} {size} points against {ref.words} (significant)"


def score_sentence(
    lang: str,
    label: str,
    value: float | None,
    low: float | None,
    high: float | None,
    n: int,
    min_n: int,
    references: list[Reference],
    unit: str = "share",
) -> str:
    """A headline: "总体满意度为 85.2%（95% 置信区间 83.1%–87.0%，n = 1,234），较上月……"."""
    zh = lang == "zh"
    if value is None:
        if zh:
            return f"{label}：本期仅 {count(n)} 份答卷，少于 {min_n} 份，不显示得分。"
        return (
            f"{label}: only {count(n)} answers this period, fewer than {min_n}; no score is shown."
        )
    clauses = [comparison(ref, lang, unit) for ref in references]
    shown = pct if unit == "share" else _signed
    if zh:
        interval = f"95% 置信区间 {shown(low)}–{shown(high)}，n = {count(n)}"
        return f"{label}为 {shown(value)}（{interval}），" + "；".join(clauses) + "。"
    interval = f"95% interval {shown(low)}–{shown(high)}, n = {count(n)}"
    return f"{label} was {shown(value)} ({interval}); " + "; ".join(clauses) + "."


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def segment_change(lang: str, segment: str, dimension: str, ref: Reference) -> str:
    """A largest-change sentence: "信用卡中心的等待时间满意度较上季度下降 6.1 个百分点（显著）"."""
    if lang == "zh":
        return f"{segment}的{dimension}满意度{comparison(ref, lang)}。"
    return f"{dimension} satisfaction at {segment} {comparison(ref, lang)}."


def no_significant_changes(lang: str, words: str, tested: int) -> str:
    """Said when no business line or team changed significantly (how many were tested)."""
    if lang == "zh":
        return f"与{words}相比，{tested} 项业务条线和团队的满意度比较均无显著变化。"
    return f"None of the {tested} comparisons of business lines and teams with {words} was significant."


def commitment_name(commitment: dict, lang: str) -> str:
    """A handling commitment as the bank words it (one of GET /api/v1/complaints' commitments)."""
    limit = commitment["limit"]
    names = {
        "zh": {
            "first_reply": f"{limit} 小时内首次答复",
            "final": f"{limit} 个工作日内办结",
            "regulator": f"{limit} 日监管时限内办结",
        },
        "en": {
            "first_reply": f"First reply within {limit} hours",
            "final": f"Final result within {limit} working days",
            "regulator": f"Decided within the regulator's {limit} days",
        },
    }
    return names[lang][commitment["commitment"]]


def complaints(lang: str, found: dict, year_words: str) -> list[str]:
    """The complaints section's sentences, from GET /api/v1/complaints' figures: the total
    against a year earlier, each commitment, first-contact resolution, satisfaction."""
    zh = lang == "zh"
    said: list[str] = []
    cases, earlier = found["cases"], found["year_earlier"]
    if earlier["total"] == 0:
        change = f"{year_words}无数据" if zh else f"no data for {year_words}"
    elif earlier["change"] == 0:
        change = f"与{year_words}持平" if zh else f"the same as {year_words}"
    else:
        size = pct(abs(earlier["change_share"]))
        if zh:
            verb = "增加" if earlier["change"] > 0 else "减少"
            change = f"较{year_words}（{count(earlier['total'])} 件）{verb} {size}"
        else:
            verb = "up" if earlier["change"] > 0 else "down"
            change = f"{verb} {size} on {year_words} ({count(earlier['total'])})"
    total, resolved, still_open = (count(cases[k]) for k in ("total", "resolved", "open"))
    said.append(
        f"本期受理投诉 {total} 件（已办结 {resolved} 件，未办结 {still_open} 件），{change}。"
        if zh
        else f"{total} complaints were opened ({resolved} resolved, {still_open} open), {change}."
    )
    for commitment in found["commitments"]:
        name = commitment_name(commitment, lang)
        met, decided = count(commitment["met"]), count(commitment["decided"])
        pending = count(commitment["pending"])
        if commitment["share_met"] is None:
            said.append(f"{name}：尚无已判定的投诉。" if zh else f"{name}: no case decided yet.")
        elif zh:
            said.append(
                f"{name}：达成率 {pct(commitment['share_met'])}（{met}/{decided} 件已判定；"
                f"另有 {pending} 件待定）。"
            )
        else:
            said.append(
                f"{name}: met in {pct(commitment['share_met'])} of decided cases "
                f"({met} of {decided}; {pending} pending)."
            )
    first = found["first_contact"]
    if first["rate"] is not None:
        share, n = pct(first["rate"]), f"{count(first['first_contact'])}/{count(first['resolved'])}"
        said.append(
            f"首次处理即解决的比例为 {share}（{n}）。"
            if zh
            else f"{share} of resolved complaints were resolved at the first contact ({n})."
        )
    satisfied = found["satisfaction"]
    n = count(satisfied["n"])
    if satisfied["csat"] is None:
        said.append(
            f"对投诉处理结果的满意度：仅 {n} 份答卷，不显示得分。"
            if zh
            else f"Satisfaction with the handling: only {n} answers, no score shown."
        )
    else:
        interval = f"{pct(satisfied['csat_low'])}–{pct(satisfied['csat_high'])}"
        said.append(
            f"对投诉处理结果满意的比例为 {pct(satisfied['csat'])}（95% 置信区间 {interval}，n = {n}）。"
            if zh
            else f"{pct(satisfied['csat'])} were satisfied with the handling "
            f"(95% interval {interval}, n = {n})."
        )
    return said


def followup(lang: str, found) -> str:
    """Section 4 in one sentence: cases opened, not opened and why, closed in time."""
    zh = lang == "zh"
    declined, not_asked, unanswered = (
        count(found.not_opened.get(k, 0)) for k in ("declined", "not_asked", "unanswered")
    )
    on_time = found.on_time
    if zh:
        said = (
            f"本期为不满意客户开启回访工单 {count(found.opened)} 件；未开启的原因："
            f"客户拒绝回访 {declined} 件，未询问 {not_asked} 件，询问后未答复 {unanswered} 件。"
        )
        if on_time.value is None:
            return said + f"已到期工单 {count(on_time.n)} 件，数量不足，不显示按时办结率。"
        return said + f"已到期工单按时办结率为 {pct(on_time.value)}（n = {count(on_time.n)}）。"
    said = (
        f"{count(found.opened)} follow-up cases were opened for unhappy customers; none was "
        f"opened for {declined} who declined a call, {not_asked} never asked and {unanswered} "
        "who did not answer the question."
    )
    if on_time.value is None:
        return said + f" Only {count(on_time.n)} cases fell due: no on-time share is shown."
    return (
        said
        + f" {pct(on_time.value)} of the cases due were closed in time (n = {count(on_time.n)})."
    )
