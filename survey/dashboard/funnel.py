"""The funnel page's reading of its URL, its labels and its charts; the numbers come from survey.funnel.report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from survey.dashboard import charts, filters
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
    offered["survey_channel"] = [(c, str(CHANNEL_LABELS[c])) for c in SURVEY_CHANNELS]
    return offered


def chart(group: dict[str, Any]) -> str:
    """A channel's funnel chart, its steps named in the viewer's language."""
    return charts.funnel(
        [str(STEP_LABELS[s]) for s in report.STEPS], [group[s] for s in report.STEPS]
    )
