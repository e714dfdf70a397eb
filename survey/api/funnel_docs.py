"""The OpenAPI description of GET /funnel: its parameters, its body and one channel's funnel."""

from __future__ import annotations

from typing import Any

from survey.api.openapi_schemas import DAY, comma_list, nullable, ref
from survey.funnel.report import OTHERS, STEPS
from survey.models.funnel import SUPPRESSION_REASONS
from survey.models.rule import SURVEY_CHANNELS

COUNT = {"type": "integer"}
SHARE = nullable({"type": "number", "minimum": 0})


def operation(parameters: list[dict[str, Any]], responses: dict[str, Any]) -> dict[str, Any]:
    """Describe GET /funnel, given the scores' parameters and the common error responses."""
    taken = [p for p in parameters if p["name"] in ("from", "to") or p["name"] in _FILTERS]
    channel = {
        "name": "survey_channel",
        "in": "query",
        "description": (
            "Only invitations sent (or to be sent first) on these channels. Comma-separated, "
            f"any of: {', '.join(SURVEY_CHANNELS)}. Empty is a 400: leave it out for all."
        ),
        "schema": comma_list(SURVEY_CHANNELS, empty=False),
    }
    return {
        "get": {
            "operationId": "getFunnel",
            "summary": "Invited → sent → delivered → opened → started → completed, per survey channel.",
            "description": (
                "Read from the funnel's own rollup, kept as invitations change. Cohort rule: "
                "every count lands on the bank's day its invitation was made (an "
                "interaction suppressed before one was made: the day it was taken in), so "
                "the rates of a period are those of its invitations. The survey channel is "
                "the one the invitation went out on (an SMS link answered on the web counts "
                "under sms); interactions suppressed before an invitation have none (null). "
                "Opened: the first GET of the survey link (e-mail security scanners open "
                "links too), a delivered two-way SMS, a survey call picked up, or an answer. "
                "Delivered: an SMS delivery receipt, the mail server's acceptance of an "
                "e-mail, a call picked up, or any later step. step_rates divide each step by "
                "the one before; response_rate is (completed + closed_partial) / sent; a "
                "rate over zero is null. Needs the 'scores' scope."
            ),
            "parameters": [*(p for p in taken if p["name"] != "survey_channel"), channel],
            "responses": {"200": _ok(), **responses},
        }
    }


_FILTERS = (
    "business_line",
    "team",
    "agent",
    "channel",
    "category",
    "type",
    "cause",
    "survey",
)


def _ok() -> dict[str, Any]:
    return {
        "description": "The funnel per survey channel, and in total.",
        "content": {"application/json": {"schema": ref("Funnel")}},
    }


def schemas() -> dict[str, Any]:
    """The body of GET /funnel and one channel's funnel in it, by name."""
    group = {
        "type": "object",
        "required": [
            "survey_channel",
            *STEPS,
            *OTHERS,
            "suppressed",
            "step_rates",
            "response_rate",
        ],
        "properties": {
            "survey_channel": nullable({"type": "string", "enum": list(SURVEY_CHANNELS)}),
            **{name: COUNT for name in (*STEPS, *OTHERS)},
            "suppressed": {
                "type": "object",
                "description": "Interactions or invitations not sent, by reason.",
                "required": list(SUPPRESSION_REASONS),
                "properties": {reason: COUNT for reason in SUPPRESSION_REASONS},
            },
            "step_rates": {
                "type": "object",
                "description": "Each step over the step before it (null when that is 0).",
                "required": list(STEPS[1:]),
                "properties": {name: SHARE for name in STEPS[1:]},
            },
            "response_rate": {
                **SHARE,
                "description": "(completed + closed_partial) / sent; null when none was sent.",
            },
        },
    }
    body = {
        "type": "object",
        "required": ["from", "to", "channels", "total"],
        "properties": {
            "from": DAY,
            "to": DAY,
            "channels": {"type": "array", "items": ref("FunnelGroup")},
            "total": ref("FunnelGroup"),
        },
    }
    return {"FunnelGroup": group, "Funnel": body}
