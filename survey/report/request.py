"""Read a report's period from a URL or the command line: a preset, or from/to days."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from survey.report import periods
from survey.report.periods import Period
from survey.scoring import queries

DEFAULT_PRESET = "last_month"
LANGS = ("zh", "en")
# A report covers at most this many days (three years: a year against the previous one fits).
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Asked:
    period: Period | None
    preset: str | None
    errors: list[dict[str, str]] = field(default_factory=list)


def read(args: Mapping[str, str], today: date) -> Asked:
    """Read ``period`` (a preset) or ``from`` and ``to``; every wrong one is named."""
    errors: list[dict[str, str]] = []
    first_raw, last_raw = args.get("from", "").strip(), args.get("to", "").strip()
    preset = args.get("period", "").strip() or None
    if not first_raw and not last_raw:
        preset = preset or DEFAULT_PRESET
        if preset not in periods.PRESETS:
            return Asked(None, None, [{"field": "period", "message": _("Unknown period.")}])
        return Asked(periods.preset(preset, today), preset)
    days: dict[str, date] = {}
    for name, raw in (("from", first_raw), ("to", last_raw)):
        if not raw:
            errors.append({"field": name, "message": _("Enter a day like 2026-11-30.")})
            continue
        try:
            if not queries.DAY.fullmatch(raw):
                raise ValueError(raw)
            days[name] = date.fromisoformat(raw)
        except ValueError:
            errors.append({"field": name, "message": _("Enter a day like 2026-11-30.")})
            continue
        if days[name] < queries.EARLIEST_DAY:
            errors.append({"field": name, "message": _("Enter a day from 2000-01-01 on.")})
    if not errors:
        if days["from"] > days["to"]:
            errors.append({"field": "from", "message": _("'from' must not be after 'to'.")})
        elif (days["to"] - days["from"]).days + 1 > MAX_DAYS:
            errors.append(
                {"field": "to", "message": _("A report covers at most %(n)d days.", n=MAX_DAYS)}
            )
    if errors:
        return Asked(None, None, errors)
    return Asked(Period(days["from"], days["to"]), None)
