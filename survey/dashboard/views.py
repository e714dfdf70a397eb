"""Dashboard views: thin, they read the URL's filters, ask scoring services and render."""

from __future__ import annotations

import os

import plotly
from flask import render_template, request, send_from_directory
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey import settings
from survey.auth.service import role_required
from survey.dashboard import bp, breakdown, charts, filters
from survey.dashboard.dimensions import dimensions as dimensions_of
from survey.dashboard.overview import overview
from survey.followup import kpis
from survey.i18n import current_language

DIMENSION_LABELS = {
    "attitude": _l("Service attitude"),
    "wait_time": _l("Wait time"),
    "products": _l("Products"),
    "complaint_handling": _l("Complaint handling"),
    "overall": _l("Overall"),
}


def _page(template: str, found: filters.Filters, **context):
    """Render a dashboard page with its filter form; a wrong URL gets its message and a 400."""
    status = 400 if found.errors else 200
    choices = context.pop("choices", None) or filters.choices(current_language())
    return (
        render_template(
            template,
            f=found,
            choices=choices,
            labels=filters.FILTER_LABELS,
            presets=filters.PRESETS,
            form_filters=filters.FORM_FILTERS,
            grains=filters.GRAINS,
            dimension_labels=DIMENSION_LABELS,
            min_n=int(settings.get("min_n")),
            bank_zone=settings.bank_zone(),
            **context,
        ),
        status,
    )


def _grain() -> str:
    grain = request.args.get("grain", "week")
    return grain if grain in filters.GRAINS else "week"


@bp.route("/")
@role_required("admin", "manager", "quality")
def home():
    """Show the overview: headline scores and dimensions against the previous period, the trend."""
    found = filters.read(request.args)
    if found.query is None:
        return _page("dashboard/overview.html", found, data=None)
    min_n = int(settings.get("min_n"))
    data = overview(found.query, min_n, _grain())
    trend = charts.csat_trend(data.trend, data.grain, _("CSAT"), _("(partial)"))
    followup = kpis.figures(found.query.date_from, found.query.date_to, settings.bank_zone(), min_n)
    return _page("dashboard/overview.html", found, data=data, trend_chart=trend, followup=followup)


@bp.route("/breakdown")
@role_required("admin", "manager", "quality")
def breakdown_page():
    """Show scores by business line, team or agent, and by channel, each against the rest."""
    found = filters.read(request.args)
    if found.query is None:
        return _page("dashboard/breakdown.html", found, tables=None)
    sort = request.args.get("sort", "n")
    sort = sort if sort in breakdown.SORTS else "n"
    desc = request.args.get("dir", "desc") != "asc"
    min_n, lang = int(settings.get("min_n")), current_language()
    choices = filters.choices(lang)
    fields = (breakdown.level_of(found.query), "channel", "survey_channel")
    tables = [
        breakdown.table(found.query, min_n, f, lang, sort, desc, dict(choices.get(f, [])))
        for f in fields
    ]
    bars = [charts.csat_bars(t.rows, lambda g: g["name"], _("CSAT")) for t in tables]
    return _page(
        "dashboard/breakdown.html",
        found,
        tables=list(zip(tables, bars, strict=True)),
        choices=choices,
        sort=sort,
        desc=desc,
    )


@bp.route("/dimensions")
@role_required("admin", "manager", "quality")
def dimensions():
    """Show each dimension's score and trend, and what is most associated with overall satisfaction."""
    found = filters.read(request.args)
    if found.query is None:
        return _page("dashboard/dimensions.html", found, data=None)
    data = dimensions_of(found.query, int(settings.get("min_n")), _grain())
    chart = charts.dimension_trends(
        data.trend, data.grain, lambda d: str(DIMENSION_LABELS[d]), _("CSAT"), _("(partial)")
    )
    return _page("dashboard/dimensions.html", found, data=data, trend_chart=chart)


@bp.route("/vendor/plotly.min.js")
def plotly_js():
    """Serve the plotly.js that ships with the plotly package (no page loads from the internet)."""
    folder = os.path.join(os.path.dirname(plotly.__file__), "package_data")
    return send_from_directory(folder, "plotly.min.js", max_age=86400)
