"""The funnel page's reading of its URL, its labels and its charts; the numbers come from survey.funnel.report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from markupsafe import Markup, escape

from survey.dashboard import charts, filters
from survey.dashboard.cells import count_html, rate_html
from survey.funnel import report
from survey.i18n import gettext as _
from survey.i18n import lazy_gettext as _l
from survey.models.rule import SURVEY_CHANNELS
from survey.scoring import queries

CHANNEL_LABELS = {
    "sms": _l("SMS"),
    "email": _l("E-mail"),
    "voice": _l("Voice call"),
    None: _l("Not sent (suppressed before an invitation)"),
}
STEP_LABELS = {
    "invited": _l("Invited"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "opened": _l("Opened"),
    "started": _l("Started"),
    "completed": _l("Completed"),
}
OTHER_LABELS = {
    "closed_partial": _l("Left partly answered (closed and counted)"),
    "failed": _l("Failed on every channel"),
    "opted_out": _l("Opted out while the survey was open"),
    "reminded": _l("Reminded"),
    "completed_after_reminder": _l("Completed after a reminder"),
}
REASON_LABELS = {
    "no_rule": _l("No dispatch rule matched"),
    "sampled_out": _l("Not in the sample"),
    "opted_out": _l("Customer had opted out"),
    "frequency": _l("Surveyed too recently"),
    "open_complaint": _l("Complaint still open"),
    "no_contact": _l("No phone or e-mail to use"),
}


def read(args: Mapping[str, str]) -> tuple[filters.Filters, queries.ScoreQuery | None]:
    """Read the page's URL as the other pages do, with the funnel's survey channel (sent on)."""
    channel = args.get("survey_channel", "")
    found = filters.read({k: v for k, v in args.items() if k != "survey_channel"})
    if channel:
        found = replace(found, args={**found.args, "survey_channel": channel})
    if found.query is None:
        return found, None
    # The days and the other filters were read by queries.parse already, as report.parse
    # reads them (a second reading looked every code up again); the funnel has no dimension.
    errors = [
        {"field": name, "message": _("Unknown parameter.")}
        for name in found.query.filters
        if name not in report.FILTERS
    ]
    filtered = dict(found.query.filters)
    if channel:
        filtered["survey_channel"], wrong = report.survey_channels(channel)
        errors.extend(wrong)
    if errors:
        return replace(found, query=None, errors=[*found.errors, *errors]), None
    query = queries.ScoreQuery(found.query.date_from, found.query.date_to, filters=filtered)
    return found, query


def choices(locale: str) -> dict[str, list[tuple[str, str]]]:
    """The filter form's values: the other pages', with the channels invitations are sent on."""
    offered = filters.choices(locale)
    channel_labels = labels(locale)["channel_labels"]
    offered["survey_channel"] = [(c, channel_labels[c]) for c in SURVEY_CHANNELS]
    return offered


# The labels by language, each translated once a process (the catalogues do not change while
# it runs): the tables show each step's and reason's label on every channel's row.
_LABELS: dict[str, dict[str, dict[Any, str]]] = {}


def labels(locale: str) -> dict[str, dict[Any, str]]:
    """The page's labels in ``locale``, the current request's language (shared: not to be changed)."""
    kept = _LABELS.get(locale)
    if kept is None:
        kept = _LABELS[locale] = {
            name: {key: str(label) for key, label in table.items()}
            for name, table in (
                ("step_labels", STEP_LABELS),
                ("other_labels", OTHER_LABELS),
                ("reason_labels", REASON_LABELS),
                ("channel_labels", CHANNEL_LABELS),
            )
        }
    return kept


def chart(group: dict[str, Any], step_labels: Mapping[str, str] = STEP_LABELS) -> str:
    """A channel's funnel chart, its steps named in the viewer's language."""
    return charts.funnel(
        [str(step_labels[s]) for s in report.STEPS], [group[s] for s in report.STEPS]
    )


# The tables' bodies, written here rather than cell by cell in the template: a page has some
# 130 cells, and each call from the template cost more than the cell itself. Each body is one
# string made Markup once; the labels and channel codes are escaped, the steps, reasons and
# metrics are this module's own names.


def summary_rows(data: Mapping[str, Any], channel_labels: Mapping[Any, str]) -> Markup:
    """The summary's body: each channel sent on, or a row saying there is none yet."""
    rows = [
        f'\n      <tr data-key="{escape(g["survey_channel"])}"><th scope="row">'
        f"{escape(channel_labels[g['survey_channel']])}</th>{_summary_cells(g)}</tr>\n    "
        for g in data["channels"]
        if g["survey_channel"]
    ]
    if not rows:
        # Asked outside the f-string, where pybabel finds the message.
        none_yet = escape(_("No invitations in this period yet."))
        rows.append(
            f'\n      <tr><td colspan="{len(report.STEPS) + 3}" class="muted">{none_yet}</td></tr>\n    '
        )
    return Markup("".join(rows))


def summary_cells(group: Mapping[str, Any]) -> Markup:
    """A channel's (or the total's) cells in the summary: each step, left partly answered, the rate."""
    return Markup(_summary_cells(group))


def _summary_cells(group: Mapping[str, Any]) -> str:
    cells = [count_html(group[s], s) for s in report.STEPS]
    cells.append(count_html(group["closed_partial"], "closed_partial"))
    cells.append(rate_html(group["response_rate"], "response_rate"))
    return "".join(cells)


def channel_rows(
    group: Mapping[str, Any], step_labels: Mapping[str, str], other_labels: Mapping[str, str]
) -> Markup:
    """A channel's table body: each step with its rate of the step before, then the other counts."""
    rows = []
    for i, step in enumerate(report.STEPS):
        rate = (
            '<td class="muted">—</td>'
            if i == 0
            else rate_html(group["step_rates"][step], "step_rate")
        )
        rows.append(
            f'\n      <tr data-key="{step}"><th scope="row">{escape(step_labels[step])}</th>'
            f"{count_html(group[step], 'count')}{rate}</tr>\n    "
        )
    rows.append("\n    ")
    for name, label in other_labels.items():
        rows.append(
            f'\n      <tr data-key="{name}"><th scope="row">{escape(label)}</th>'
            f"{count_html(group[name], 'count')}<td></td></tr>\n    "
        )
    return Markup("".join(rows))


def suppression_rows(data: Mapping[str, Any], reason_labels: Mapping[str, str]) -> Markup:
    """The suppressions' body: each reason's count by channel (none: before an invitation), the total."""
    columns = [(escape(g["survey_channel"] or "none"), g["suppressed"]) for g in data["channels"]]
    columns.append((Markup("total"), data["total"]["suppressed"]))
    rows = []
    for reason, label in reason_labels.items():
        cells = "".join(count_html(counts[reason], metric) for metric, counts in columns)
        rows.append(
            f'\n      <tr data-key="{reason}"><th scope="row">{escape(label)}</th>{cells}</tr>\n    '
        )
    return Markup("".join(rows))
