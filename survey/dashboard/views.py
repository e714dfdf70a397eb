"""Dashboard views: thin, they read the URL's filters, ask scoring services and render."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import replace

import plotly
from flask import render_template, request, send_from_directory
from flask_babel import gettext as _

from survey import masking, settings
from survey.actions import service as action_service
from survey.auth.service import role_required
from survey.dashboard import bp, breakdown, cells, charts, comments, filters
from survey.dashboard import complaints as complaints_page
from survey.dashboard import funnel as funnel_page_parts
from survey.dashboard.dimensions import dimensions as dimensions_of
from survey.dashboard.filters import DIMENSION_LABELS
from survey.dashboard.overview import overview
from survey.followup import kpis
from survey.followup import service as followup_service
from survey.funnel import report
from survey.i18n import current_language
from survey.models import ImprovementAction
from survey.scoring import complaint_cases, complaints

bp.add_app_template_global(filters.option_tags, "option_tags")
bp.add_app_template_global(filters.selects, "filter_selects")
for _name, _cell in cells.CELLS.items():
    bp.add_app_template_global(_cell, _name)


def _page(template: str, found: filters.Filters, **context):
    """Render a dashboard page with its filter form; a wrong URL gets its message and a 400."""
    status = 400 if found.errors else 200
    choices = context.pop("choices", None) or filters.choices(current_language())
    form_filters = context.pop("form_filters", filters.FORM_FILTERS)
    return (
        render_template(
            template,
            f=found,
            choices=choices,
            labels=filters.FILTER_LABELS,
            presets=filters.PRESETS,
            form_filters=form_filters,
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
    marked = _marked(found)
    trend = charts.csat_trend(data.trend, data.grain, _("CSAT"), _("(partial)"), _marks(marked))
    followup = kpis.figures(found.query.date_from, found.query.date_to, settings.bank_zone(), min_n)
    return _page(
        "dashboard/overview.html",
        found,
        data=data,
        trend_chart=trend,
        marked_actions=marked,
        followup=followup,
    )


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
    labels = {name: dict(values) for name, values in choices.items()}
    tables = breakdown.tables(found.query, min_n, lang, sort, desc, labels)
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
    marked = _marked(found)
    chart = charts.dimension_trends(
        data.trend,
        data.grain,
        lambda d: str(DIMENSION_LABELS[d]),
        _("CSAT"),
        _("(partial)"),
        _marks(marked),
    )
    return _page(
        "dashboard/dimensions.html", found, data=data, trend_chart=chart, marked_actions=marked
    )


def _marked(found: filters.Filters) -> list[ImprovementAction]:
    """The improvement actions the page's trend marks (survey.actions.service.marked says which)."""
    query = found.query
    return action_service.marked(query.date_from, query.date_to, query.filters)


def _marks(marked: list[ImprovementAction]) -> list[tuple[str, str]]:
    lang = current_language()
    return [(a.started_on.isoformat(), a.title(lang)) for a in marked]


@bp.route("/complaints")
@role_required("admin", "manager", "quality")
def complaints_dashboard():
    """Show complaint cases by type and cause, against the three commitments, with satisfaction."""
    found = filters.read(request.args)
    if found.query is not None and (wrong := complaint_cases.check(found.query)):
        found = replace(found, query=None, errors=[*found.errors, *wrong])
    context = {"form_filters": complaints_page.FORM_FILTERS, "page": complaints_page}
    if found.query is None:
        return _page("dashboard/complaints.html", found, data=None, **context)
    report = complaint_cases.report(found.query, int(settings.get("min_n")))
    data = complaints.as_json(report)  # the API's numbers, to the digit
    figures = complaints_page.figures(data)
    return _page(
        "dashboard/complaints.html",
        found,
        data=data,
        as_of=report.as_of,
        figures=figures,
        **context,
    )


@bp.route("/funnel")
@role_required("admin", "manager", "quality")
def funnel():
    """Show the response funnel per survey channel: each step and its rate, suppressions, opt-outs."""
    parts = funnel_page_parts
    found, query = parts.read(request.args)
    lang = current_language()
    choices = parts.choices(lang)
    if query is None:
        return _page("dashboard/funnel.html", found, data=None, choices=choices)
    data = report.funnel(query)
    labels = parts.labels(lang)
    charts_by_channel = {
        g["survey_channel"]: parts.chart(g, labels["step_labels"])
        for g in data["channels"]
        if g["survey_channel"]
    }
    return _page(
        "dashboard/funnel.html",
        found,
        data=data,
        choices=choices,
        funnel_charts=charts_by_channel,
        steps=report.STEPS,
        page=parts,
        **labels,
    )


@bp.route("/comments")
@role_required("admin", "manager", "quality")
def comments_page():
    """Show the comments in the filters, newest or lowest overall score first, searched, paged."""
    found = filters.read(request.args, extra=comments.PARAMS)
    search, data = None, None
    if found.query is not None:
        try:
            search = comments.read(request.args.to_dict(), found.query)
        except comments.CommentError as error:
            found = dataclasses.replace(found, query=None, errors=[*found.errors, *error.errors])
    cases = {}
    if search is not None:
        data = comments.page(search)
        # A comment whose response opened a follow-up case links to it; its owner reads the
        # comment whole (DESIGN: only the case's owner sees contact details unmasked).
        cases = followup_service.cases_of([c.response_id for c in data.comments])
    choices = filters.choices(current_language())
    return _page(
        "dashboard/comments.html",
        found,
        search=search,
        data=data,
        choices=choices,
        names={name: dict(values) for name, values in choices.items()},
        for_viewer=masking.for_viewer,
        cases=cases,
        export_args={**found.api_args(), **(search.url_args() if search else {})},
        window=comments.WINDOW,
        max_query=comments.MAX_QUERY,
    )


@bp.route("/vendor/plotly.min.js")
def plotly_js():
    """Serve the plotly.js that ships with the plotly package (no page loads from the internet)."""
    folder = os.path.join(os.path.dirname(plotly.__file__), "package_data")
    return send_from_directory(folder, "plotly.min.js", max_age=86400)
