"""Dashboard views: thin, they ask scoring services and render."""

from __future__ import annotations

import os

import plotly
from flask import render_template, request, send_from_directory
from flask_babel import gettext as _

from survey.auth.service import role_required
from survey.dashboard import bp, charts
from survey.dashboard.overview import overview, period
from survey.i18n import current_language

PERIODS = (7, 30, 90)
DIMENSION_LABELS = {
    "attitude": lambda: _("Service attitude"),
    "wait_time": lambda: _("Wait time"),
    "products": lambda: _("Products"),
    "complaint_handling": lambda: _("Complaint handling"),
    "overall": lambda: _("Overall"),
}


@bp.route("/")
@role_required("admin", "manager", "quality")
def home():
    """Show the overview of satisfaction scores for the last 7, 30 or 90 days."""
    days = request.args.get("days", type=int)
    days = days if days in PERIODS else 30
    date_from, date_to = period(days)
    data = overview(date_from, date_to)
    lang = current_language()

    def line_name(group: dict) -> str:
        code = group["key"]["business_line"]
        return data.business_line_names.get(code, {}).get(lang, code)

    def dimension_name(group: dict) -> str:
        return DIMENSION_LABELS[group["key"]["dimension"]]()

    return render_template(
        "dashboard/home.html",
        data=data,
        days=days,
        periods=PERIODS,
        dimension_name=dimension_name,
        line_name=line_name,
        dimension_chart=charts.csat_bars(data.by_dimension, dimension_name, _("CSAT")),
        line_chart=charts.csat_bars(data.by_business_line, line_name, _("CSAT")),
        trend_chart=charts.csat_trend(data.trend, _("CSAT")),
    )


@bp.route("/vendor/plotly.min.js")
def plotly_js():
    """Serve the plotly.js that ships with the plotly package (no page loads from the internet)."""
    folder = os.path.join(os.path.dirname(plotly.__file__), "package_data")
    return send_from_directory(folder, "plotly.min.js", max_age=86400)
