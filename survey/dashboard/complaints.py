"""The complaints page's words and charts, from the figures GET /api/v1/complaints answers."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from survey.dashboard import charts, filters
from survey.scoring import complaint_cases

# The filter form of this page: the scores' filters that apply to complaint cases.
FORM_FILTERS = tuple(name for name in filters.FORM_FILTERS if name in complaint_cases.APPLIES)


def commitment_label(row: dict[str, Any]) -> str:
    """A commitment in words, with the limit the admin set."""
    n = row["limit"]
    if row["commitment"] == "first_reply":
        return _("First reply within %(n)s hours", n=n)
    if row["commitment"] == "final":
        return _("Finally handled within %(n)s working days", n=n)
    return _("Decided within the regulator's %(n)s days", n=n)


def category_label(key: str | None) -> str:
    return str(filters.CATEGORY_LABELS.get(key, key)) if key else _("Not given")


def cause_label(key: str | None) -> str:
    return str(filters.CAUSE_LABELS.get(key, key)) if key else _("Not given")


def outcome_labels() -> dict[str, str]:
    return {"met": _("Met"), "missed": _("Missed"), "pending": _("Pending")}


def figures(data: dict[str, Any]) -> dict[str, str]:
    """The page's four charts, as plotly JSON."""
    limits = {row["commitment"]: row for row in data["commitments"]}
    return {
        "category": charts.share_bars(data["by_category"], category_label, _("Share of cases")),
        "cause": charts.share_bars(data["by_cause"], cause_label, _("Share of cases")),
        "commitments": charts.commitment_bars(
            data["commitments"], commitment_label, outcome_labels(), _("Cases")
        ),
        "met_missed": charts.met_missed_bars(
            data["met_versus_missed"],
            lambda r: commitment_label(limits[r["commitment"]]),
            {"met": _("Met"), "missed": _("Missed")},
            _("Satisfied with the handling (CSAT)"),
        ),
    }
