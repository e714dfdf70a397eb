"""The filters every dashboard page reads from its URL: a period and the scores API's filters.

A page's URL holds ``period`` (a preset) or ``from``/``to`` (the bank's days), the filters of
``scoring.queries.parse`` and a few page settings (``grain``, ``sort``, ``dir``, ``lang``).
The query itself is read by ``queries.parse``, so a page and ``GET /api/v1/scores`` agree on
what every parameter means and refuse the same mistakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup, escape

from survey import fragments, stamped
from survey.extensions import db
from survey.i18n import lazy_gettext as _l
from survey.models import Agent, BusinessLine, Survey, Team
from survey.scoring import queries

PRESETS = {
    "7d": _l("Last 7 days"),
    "30d": _l("Last 30 days"),
    "90d": _l("Last 90 days"),
    "this_month": _l("This month"),
    "last_month": _l("Last month"),
    "this_quarter": _l("This quarter"),
    "this_year": _l("This year"),
}
DEFAULT_PRESET = "30d"
GRAINS = ("day", "week", "month")
# Page settings: read by the pages, never passed to the score query.
PAGE_PARAMS = ("period", "grain", "sort", "dir", "lang")
# The filters a page's form offers, in the order it shows them (dimension is a page's own).
FORM_FILTERS = tuple(name for name in queries.FILTER_FIELDS if name != "dimension")


@dataclass(frozen=True)
class Filters:
    """What a page was asked for: the score query (None when the URL is wrong) and its errors."""

    query: queries.ScoreQuery | None
    preset: str | None
    args: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)

    def api_args(self) -> dict[str, str]:
        """The score query as GET /api/v1/scores (and the exports) take it: dates, not presets."""
        if self.query is None:
            return {}
        args = {name: ",".join(values) for name, values in self.query.filters.items()}
        args.update(
            {"from": self.query.date_from.isoformat(), "to": self.query.date_to.isoformat()}
        )
        return args

    def url_args(self, **changes: str | None) -> dict[str, str]:
        """The page's parameters with some changed (None removes one), for url_for."""
        merged = {**self.args, **changes}
        return {k: v for k, v in sorted(merged.items()) if v not in (None, "")}


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """Return the first and last day of a preset period, ending today at the latest."""
    if preset.endswith("d"):
        return today - timedelta(days=int(preset[:-1]) - 1), today
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "this_quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    return date(today.year, 1, 1), today  # this_year


def read(args: Mapping[str, str], *, extra: tuple[str, ...] = ()) -> Filters:
    """Read a page's URL: the period (preset or from/to) and every filter, through queries.parse.

    :param extra: page settings this page accepts besides the common ones.
    """
    kept = {k: v for k, v in args.items() if v != "" and k != "lang"}
    errors: list[dict[str, str]] = []
    preset = kept.get("period")
    days = kept.pop("days", None)  # the first overview's ?days=7|30|90, still bookmarked
    if preset is None and days is not None:
        preset = f"{days}d"
    query_args = {k: v for k, v in kept.items() if k not in PAGE_PARAMS and k not in extra}
    if preset is not None and preset not in PRESETS:
        errors.append({"field": "period", "message": _("Unknown period.")})
        preset = None
    if "from" not in query_args and "to" not in query_args:
        preset = preset or DEFAULT_PRESET
        first, last = preset_range(preset, queries.today())
        query_args.update({"from": first.isoformat(), "to": last.isoformat()})
    else:
        preset = None
    query = None
    try:
        query = queries.parse(query_args)
    except queries.QueryError as error:
        errors.extend(error.errors)
    if errors:
        query = None
    page_args = {k: v for k, v in kept.items() if k in PAGE_PARAMS or k in extra}
    if preset:
        page_args["period"] = preset
    else:
        page_args.pop("period", None)
    shown = {**{k: v for k, v in query_args.items() if k not in ("from", "to")}, **page_args}
    if not preset:
        shown.update({k: query_args[k] for k in ("from", "to") if k in query_args})
    return Filters(query=query, preset=preset, args=shown, errors=errors)


# Built once, one statement for the four lists (four statements cost more than the rows they
# read): each row says its list (``kind``) and where it goes in it (surveys by id, the others
# by code).
_LINES, _TEAMS, _AGENTS, _SURVEYS = range(4)
_CHOICES = sa.union_all(
    *(
        sa.select(
            sa.literal(kind, sa.Integer).label("kind"),
            sa.literal(0, sa.Integer).label("position"),
            model.code.label("code"),
            model.name_zh.label("name_zh"),
            model.name_en.label("name_en"),
        )
        for kind, model in ((_LINES, BusinessLine), (_TEAMS, Team), (_AGENTS, Agent))
    ),
    sa.select(
        sa.literal(_SURVEYS, sa.Integer),
        Survey.id,
        sa.cast(Survey.id, sa.String),
        Survey.name,
        Survey.name,
    ),
).order_by(sa.literal_column("kind"), sa.literal_column("position"), sa.literal_column("code"))


def choices(locale: str) -> dict[str, list[tuple[str, str]]]:
    """The values each filter of the form offers, named in the viewer's language.

    Every dashboard page asks this once. The process keeps the lists by language under the
    config stamp (survey.stamped), which any change of the business lines, teams and agents
    moves, and a survey's new name too (the designer saves it with the draft's version, a
    watched table): a page reads them only after such a change. The lists are shared: a
    page may replace one in the dict it gets, not change it.
    """
    return dict(stamped.kept("filter-choices", locale, lambda: _read_choices(locale)))


def _read_choices(locale: str) -> dict[str, list[tuple[str, str]]]:
    """The filters' values from the database: plain columns, not models (a bank's hundreds of
    agents built as objects cost more than a page's own scores).
    """
    zh = locale == "zh"
    listed: tuple[list[tuple[str, str, str]], ...] = ([], [], [], [])
    for kind, _position, code, name_zh, name_en in db.session.execute(_CHOICES).all():
        listed[kind].append((code, name_zh, name_en))
    lines, teams, agents, surveys = listed
    return {
        "business_line": [(code, name_zh if zh else name_en) for code, name_zh, name_en in lines],
        "team": [(code, name_zh if zh else name_en) for code, name_zh, name_en in teams],
        "agent": [
            (code, f"{Agent.display_name(code, name_zh, name_en, locale)} ({code})")
            for code, name_zh, name_en in agents
        ],
        "channel": [(v, str(CHANNEL_LABELS.get(v, v))) for v in queries.FIXED["channel"]],
        "survey_channel": [(v, str(SURVEY_CHANNEL_LABELS[v])) for v in queries.SURVEY_CHANNELS],
        "type": [(v, str(TYPE_LABELS.get(v, v))) for v in queries.FIXED["type"]],
        "category": [(v, str(CATEGORY_LABELS.get(v, v))) for v in queries.FIXED["category"]],
        "cause": [(v, str(CAUSE_LABELS.get(v, v))) for v in queries.FIXED["cause"]],
        "survey": [(survey_id, name) for survey_id, name, _name in surveys],
    }


def option_tags(values: list[tuple[str, str]], current: str) -> Markup:
    """A filter's ``<option>`` elements, the current value selected (kept even if unknown).

    Built here rather than in a template loop: the agents' list is long, and the form is on
    every dashboard page.
    """
    tags = [
        f'<option value="{escape(value)}" {"selected" if value == current else ""}>'
        f"{escape(label)}</option>"
        for value, label in values
    ]
    if current and all(value != current for value, _label in values):
        tags.append(f'<option value="{escape(current)}" selected>{escape(current)}</option>')
    return Markup("".join(tags))


def selects(
    names: tuple[str, ...],
    labels: Mapping[str, Any],
    choices: Mapping[str, list[tuple[str, str]]],
    args: Mapping[str, str],
    lang: str,
) -> Markup:
    """The filter form's selects, each kept by its language, value and options as read now.

    One call from the form rather than a kept block per filter: the template's work for each
    block (its key, the call, the lookup) cost more than reading a kept one.
    """
    template = current_app.jinja_env.get_template("dashboard/_filter_select.html")
    shown = []
    for name in names:
        current = args.get(name, "")
        options = choices[name]
        key = ("filter-select", lang, name, current, fragments.frozen(options))
        select = fragments.kept(
            key,
            lambda name=name, options=options, current=current: template.render(
                name=name, label=labels[name], options=options, current=current
            ),
        )
        shown.append(f"\n      \n      {select}\n    ")
    return Markup("".join(shown))


FILTER_LABELS = {
    "business_line": _l("Business line"),
    "team": _l("Team"),
    "agent": _l("Agent"),
    "channel": _l("Interaction channel"),
    "survey_channel": _l("Survey channel"),
    "type": _l("Interaction type"),
    "category": _l("Category"),
    "cause": _l("Complaint cause"),
    "survey": _l("Survey"),
    "dimension": _l("Dimension"),
    "from": _l("From"),
    "to": _l("To"),
    "period": _l("Period"),
    "group_by": _l("Grouping"),
    "compare": _l("Comparison"),
}
DIMENSION_LABELS = {
    "attitude": _l("Service attitude"),
    "wait_time": _l("Wait time"),
    "products": _l("Products"),
    "complaint_handling": _l("Complaint handling"),
    "overall": _l("Overall"),
}
CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "chat": _l("Chat"),
    "email": _l("E-mail"),
    "branch": _l("Branch"),
    "app": _l("App"),
}
SURVEY_CHANNEL_LABELS = {"web": _l("Web link"), "sms": _l("SMS"), "voice": _l("Voice call")}
TYPE_LABELS = {"inquiry": _l("Inquiry"), "complaint": _l("Complaint"), "outbound": _l("Outbound")}
CATEGORY_LABELS = {
    "account": _l("Account"),
    "credit_card": _l("Credit card"),
    "e_banking": _l("E-banking"),
    "loan": _l("Loans"),
    "other": _l("Other"),
}
CAUSE_LABELS = {
    "attitude": _l("Attitude"),
    "process": _l("Process"),
    "system": _l("System"),
    "other": _l("Other"),
}
