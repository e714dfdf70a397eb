"""Report periods: presets (month, quarter, year) and how a period is named in a sentence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PRESETS = ("last_month", "last_quarter", "last_year", "this_month", "this_quarter", "this_year")


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def kind(self) -> str:
        """month, quarter or year when the period is exactly one; otherwise days."""
        if self.first.day != 1 or (self.last + timedelta(days=1)).day != 1:
            return "days"
        months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        if months == 1:
            return "month"
        if months == 3 and self.first.month in (1, 4, 7, 10):
            return "quarter"
        if months == 12 and self.first.month == 1:
            return "year"
        return "days"


def preset(name: str, today: date) -> Period:
    """Return a preset period: the last whole month, quarter or year, or this one so far."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if name == "this_month":
        return Period(today.replace(day=1), today)
    if name == "this_quarter":
        return Period(quarter_start, today)
    if name == "this_year":
        return Period(date(today.year, 1, 1), today)
    if name == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last)
    if name == "last_quarter":
        last = quarter_start - timedelta(days=1)
        return Period(date(last.year, 3 * ((last.month - 1) // 3) + 1, 1), last)
    if name == "last_year":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    raise ValueError(name)


def previous(period: Period) -> Period:
    """The period a report compares with: the previous month, quarter or year when the period
    is exactly one, otherwise the days of the same length just before it."""
    first = period.first
    if period.kind == "month":
        last = first - timedelta(days=1)
        return Period(last.replace(day=1), last)
    if period.kind == "quarter":
        last = first - timedelta(days=1)
        return Period(date(last.year, last.month - 2, 1), last)
    if period.kind == "year":
        return Period(date(first.year - 1, 1, 1), date(first.year - 1, 12, 31))
    return Period(first - timedelta(days=period.days), first - timedelta(days=1))


def year_earlier(period: Period) -> Period:
    """The same days a year earlier (the engine's ``compare=year``)."""
    from survey.scoring.compare import year_earlier as shifted

    return Period(*shifted(period.first, period.last))


def title(period: Period, lang: str) -> str:
    """The period as a report's title names it: 2026年11月, 2026年第三季度, 2026年度, or its days."""
    first, last = period.first, period.last
    if lang == "zh":
        if period.kind == "month":
            return f"{first.year}年{first.month}月"
        if period.kind == "quarter":
            return f"{first.year}年第{'一二三四'[(first.month - 1) // 3]}季度"
        if period.kind == "year":
            return f"{first.year}年度"
        return f"{first.isoformat()} 至 {last.isoformat()}"
    if period.kind == "month":
        return first.strftime("%B %Y")
    if period.kind == "quarter":
        return f"Q{(first.month - 1) // 3 + 1} {first.year}"
    if period.kind == "year":
        return f"{first.year}"
    return f"{first.isoformat()} to {last.isoformat()}"


def previous_words(period: Period, lang: str) -> str:
    """What "the previous period" is called in a sentence: 上月, 上季度, 上年, or its length."""
    words = {
        "zh": {"month": "上月", "quarter": "上季度", "year": "上年"},
        "en": {
            "month": "the previous month",
            "quarter": "the previous quarter",
            "year": "the previous year",
        },
    }[lang]
    if period.kind in words:
        return words[period.kind]
    return f"前 {period.days} 天" if lang == "zh" else f"the previous {period.days} days"
