"""OpenAPI 3.1 component schemas of JSON API v1: the bodies DESIGN.md fixes, as JSON Schema."""

from __future__ import annotations

from typing import Any

from survey.api.schemas import LOCALES, MAX_INT
from survey.dispatch.decide import SUPPRESSION_REASONS
from survey.models.interaction import CATEGORIES, CAUSES, CHANNELS, TYPES
from survey.models.invitation import DELIVERY_PURPOSES, DELIVERY_STATES, INVITATION_STATES
from survey.models.rule import SURVEY_CHANNELS as SEND_CHANNELS
from survey.models.survey import DIMENSIONS
from survey.zones import place_zones


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow null as well (JSON Schema 2020-12, as OpenAPI 3.1 uses it).

    An enum lists null among its values too: an enum holds whatever its type allows.
    """
    kind = schema.get("type")
    if isinstance(kind, str):
        widened = {**schema, "type": [kind, "null"]}
        if "enum" in schema:
            widened["enum"] = [*schema["enum"], None]
        return widened
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict[str, str]:
    """Point at a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


INSTANT = {
    "type": "string",
    "format": "date-time",
    "description": (
        "ISO 8601 with an offset, from 2000-01-01T00:00:00Z to a day from now; "
        "anything else is a 400 naming the field."
    ),
}
# A day from 2000-01-01 on (survey.scoring.queries.EARLIEST_DAY), written 2026-11-29.
DAY = {"type": "string", "format": "date", "pattern": "^[2-9][0-9]{3}-"}
# Survey ids as the scores API's survey filter takes them: comma-separated, at most ten
# digits each (survey.scoring.queries.SURVEY_ID).
SURVEY_IDS = r"^[\s,]*[0-9]{1,10}(?:\s*,[\s,]*[0-9]{1,10})*[\s,]*$"
# What survey.api.schemas refuses in every string it reads: C0 and C1 controls, DEL and
# the Unicode line and paragraph separators (survey.api.schemas.CONTROL).
_CONTROLS = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
PLAIN = rf"^[^{_CONTROLS}]*$"
# As PLAIN, with at least one character that is neither a control nor white space.
NOT_BLANK = rf"^[^{_CONTROLS}]*[^\s{_CONTROLS}][^{_CONTROLS}]*$"


def text(max_length: int, required: bool = False, **extra: Any) -> dict[str, Any]:
    """A string the API trims: no control characters; blank (or null) is absent unless required."""
    schema = {
        "type": "string",
        "maxLength": max_length,
        "pattern": NOT_BLANK if required else PLAIN,
    }
    schema.update(extra)
    return schema if required else nullable(schema)


def comma_list(values: tuple[str, ...] | list[str], empty: bool) -> dict[str, Any]:
    """A comma-separated list of values, spaces around them allowed, as the scores API reads it.

    With ``values`` empty, any non-blank text (codes the admin maintains); ``empty`` says
    whether a list with nothing in it is taken (it means the default).
    """
    if not values:
        some = rf"^[^{_CONTROLS}]*[^\s,{_CONTROLS}][^{_CONTROLS}]*$"  # one code at least
        return {"type": "string", "pattern": PLAIN if empty else some}
    item = "(?:" + "|".join(values) + ")"
    listed = rf"{item}(?:\s*,[\s,]*{item})*"
    if empty:
        listed = f"(?:{listed})?"
    return {"type": "string", "pattern": rf"^[\s,]*{listed}[\s,]*$"}


def component_schemas() -> dict[str, Any]:
    """Return the request, response and problem schemas, by name."""
    customer = {
        "type": "object",
        "required": ["external_id"],
        "description": "Null or blank optional fields are absent: what is stored is kept.",
        "properties": {
            "external_id": text(100, required=True),
            "name": text(200),
            "phone": text(40, description="E.164, e.g. +8613800138000 (or 13800138000)."),
            "email": text(254, format="email"),
            "locale": nullable({"type": "string", "enum": list(LOCALES)}),
            "timezone": nullable(
                {
                    "type": "string",
                    "enum": sorted(place_zones()),
                    "description": (
                        "The IANA zone of a place, e.g. Asia/Shanghai; not UTC or an offset. "
                        "Absent, the bank's default zone applies."
                    ),
                }
            ),
        },
    }
    complaint = {
        "type": "object",
        "description": (
            "For a complaint: its case, opened, first-reply and resolved times. Posts with "
            "the same case_id (each under its own external_id) are one complaint case: a "
            "later post records the case's progress. A field left out or null is no news; "
            "a time the case has recorded is not changed and a case is not reopened (409 "
            "naming the field, nothing stored; a reopened complaint is a new case); cause "
            "and resolved_first_contact take the latest value given."
        ),
        "properties": {
            "case_id": text(
                100,
                description=(
                    "The complaint system's case id: posts sharing it are one complaint case "
                    "of one customer (another customer's case id is a 409). While the case "
                    "is open no survey goes out (suppression_reason open_complaint); the "
                    "post that resolves it is decided about as resolved, and the case gets "
                    "at most one survey, about its resolution: later posts of a resolved "
                    "case are suppressed as frequency. Without a case_id, an open complaint "
                    "is closed by a resolved one of the customer with the same opened_at."
                ),
            ),
            "opened_at": nullable(INSTANT),
            "first_reply_at": nullable(INSTANT),
            "resolved_at": nullable(INSTANT),
            "resolved_first_contact": nullable({"type": "boolean"}),
            "cause": nullable({"type": "string", "enum": list(CAUSES)}),
        },
    }
    interaction = {
        "type": "object",
        "required": ["external_id", "occurred_at", "channel", "type", "customer"],
        "properties": {
            "external_id": text(
                100,
                required=True,
                description="The bank's id; posting it again is a replay, answered 200.",
            ),
            "occurred_at": INSTANT,
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "type": {"type": "string", "enum": list(TYPES)},
            "business_line": text(
                40, description="A business line code the admin maintains; unknown is an error."
            ),
            "team": text(60, description="A team code the admin maintains; unknown is an error."),
            "agent": text(
                60, description="An agent code; an unknown one is created under the team."
            ),
            "category": nullable({"type": "string", "enum": list(CATEGORIES)}),
            "wait_seconds": nullable({"type": "integer", "minimum": 0, "maximum": MAX_INT}),
            "customer": ref("Customer"),
            "complaint": nullable(ref("Complaint")),
        },
        # Only a complaint has a complaint block; on an inquiry or outbound call it is a 400.
        "if": {"required": ["type"], "properties": {"type": {"not": {"const": "complaint"}}}},
        "then": {"properties": {"complaint": {"type": "null"}}},
        "example": {
            "external_id": "CALL-2026-000123",
            "occurred_at": "2026-11-29T10:15:00+08:00",
            "channel": "phone",
            "type": "complaint",
            "business_line": "personal",
            "team": "personal-complaints",
            "agent": "A1042",
            "category": "credit_card",
            "wait_seconds": 185,
            "customer": {
                "external_id": "C-88231",
                "name": "王芳",
                "phone": "+8613800138000",
                "email": "wang@example.cn",
                "locale": "zh",
                "timezone": "Asia/Shanghai",
            },
            "complaint": {
                "case_id": "CMP-2026-0042",
                "opened_at": "2026-11-29T10:15:00+08:00",
                "first_reply_at": "2026-11-29T11:00:00+08:00",
                "resolved_at": None,
                "resolved_first_contact": False,
                "cause": "process",
            },
        },
    }
    result = {
        "type": "object",
        "required": ["id", "invitation", "suppression_reason"],
        "properties": {
            "id": {"type": "integer"},
            "invitation": nullable(
                {
                    "type": "object",
                    "required": ["id", "channel", "state", "scheduled_at"],
                    "properties": {
                        "id": {"type": "integer"},
                        "channel": nullable({"type": "string", "enum": list(SEND_CHANNELS)}),
                        "state": {"type": "string", "enum": list(INVITATION_STATES)},
                        "scheduled_at": {
                            **INSTANT,
                            "description": "Quiet hours defer it; they suppress nothing.",
                        },
                        "waits_for_allowed_hours": {
                            "type": "boolean",
                            "description": (
                                "True when the send waits for the customer's allowed hours "
                                "to begin (then scheduled_at is that moment, and note says "
                                "so in words)."
                            ),
                        },
                        "note": {
                            "type": "string",
                            "description": "Why the send waits, and until when, in words.",
                        },
                    },
                }
            ),
            "suppression_reason": nullable(
                {
                    "type": "string",
                    "enum": list(SUPPRESSION_REASONS),
                    "description": (
                        "Why no invitation: open_complaint while the customer has a complaint "
                        "(case) open; frequency for a survey within the window, or a post of "
                        "a complaint case whose one survey was decided when it was resolved."
                    ),
                }
            ),
        },
    }
    delivery = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "channel": {"type": "string", "enum": list(SEND_CHANNELS)},
            "provider": {"type": "string"},
            "provider_id": nullable({"type": "string"}),
            "state": {"type": "string", "enum": list(DELIVERY_STATES)},
            "purpose": {
                "type": "string",
                "enum": list(DELIVERY_PURPOSES),
                "description": "the invitation itself, or its one reminder",
            },
            "attempt": {
                "type": "integer",
                "minimum": 1,
                "description": "which try on this channel (retries count up, at most 5)",
            },
            "error": nullable({"type": "string"}),
            "error_code": nullable(
                {"type": "string", "description": "the provider's code, e.g. Twilio's 21610"}
            ),
            "created_at": INSTANT,
            "updated_at": INSTANT,
        },
    }
    invitation = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "state": {"type": "string", "enum": list(INVITATION_STATES)},
            "channel": nullable({"type": "string", "enum": list(SEND_CHANNELS)}),
            "scheduled_at": INSTANT,
            "sent_at": nullable(INSTANT),
            "completed_at": nullable(INSTANT),
            "expires_at": INSTANT,
            "reminder_due_at": nullable(INSTANT),
            "suppression_reason": nullable(
                {
                    "type": "string",
                    "enum": list(SUPPRESSION_REASONS),
                    "description": "why a cancelled invitation was not sent",
                }
            ),
            "failure_reason": nullable(
                {"type": "string", "description": "what each channel said when none could carry it"}
            ),
            "survey_version": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "number": {"type": "integer"}},
            },
            "deliveries": {"type": "array", "items": ref("Delivery")},
        },
    }
    share = nullable({"type": "number", "minimum": 0, "maximum": 1})
    points = nullable({"type": "number", "minimum": -100, "maximum": 100})
    group = {
        "type": "object",
        "required": [
            "key",
            "n",
            "csat",
            "csat_low",
            "csat_high",
            "mean",
            "nps_n",
            "nps",
            "nps_moe",
            "ces_n",
            "ces",
        ],
        "properties": {
            "key": {
                "type": "object",
                "description": (
                    "The group_by fields and their values: codes for business_line, team and "
                    "agent; the survey id as a string for survey; day as 2026-11-29, week as "
                    "its Monday (2026-11-23), month as 2026-11; null where an answer has none "
                    "(e.g. no agent, or no complaint cause)."
                ),
                "additionalProperties": nullable({"type": "string"}),
            },
            "n": {
                "type": "integer",
                "description": (
                    "5-point answers behind csat and mean: the overall dimension unless "
                    "dimension is grouped or filtered."
                ),
            },
            "csat": {**share, "description": "Share of 4–5; null below min_n."},
            "csat_low": {**share, "description": "Wilson 95% lower bound of csat."},
            "csat_high": {**share, "description": "Wilson 95% upper bound of csat."},
            "mean": nullable({"type": "number", "minimum": 1, "maximum": 5}),
            "mean_low": nullable(
                {
                    "type": "number",
                    "description": (
                        "95% t interval of mean (n − 1 degrees of freedom); null below n = 2 "
                        "or min_n."
                    ),
                }
            ),
            "mean_high": nullable({"type": "number"}),
            "nps_n": {"type": "integer"},
            "nps": {**points, "description": "Promoters (9–10) minus detractors (0–6), points."},
            "nps_moe": nullable(
                {"type": "number", "minimum": 0, "description": "95% margin of nps, points."}
            ),
            "ces_n": {"type": "integer"},
            "ces": {**share, "description": "Share of 5–7 on the 7-point effort scale."},
            "compare": {
                "type": "object",
                "description": (
                    "Only with compare=: csat, nps and mean of this group against its "
                    "reference (the previous period, or the rest of its parent)."
                ),
                "properties": {metric: ref("Comparison") for metric in ("csat", "nps", "mean")},
            },
        },
    }
    comparison = {
        "type": "object",
        "required": ["difference", "p_value", "q_value", "test", "mark"],
        "properties": {
            "difference": nullable(
                {
                    "type": "number",
                    "description": (
                        "Group minus reference: csat as a fraction, nps in points, mean in "
                        "scale points; null when either side is below min_n."
                    ),
                }
            ),
            "p_value": nullable({"type": "number", "minimum": 0, "maximum": 1}),
            "q_value": nullable(
                {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1,
                    "description": "Benjamini–Hochberg adjusted p within this response.",
                }
            ),
            "test": nullable(
                {
                    "type": "string",
                    "enum": ["z", "fisher", "welch"],
                    "description": (
                        "The test that gave p: z (csat: pooled two-proportion; nps: "
                        "difference over its standard error), fisher (csat, an expected "
                        "cell below 5) or welch (mean)."
                    ),
                }
            ),
            "mark": nullable(
                {
                    "type": "string",
                    "enum": ["▲", "▼"],
                    "description": "Only where q_value < 0.05.",
                }
            ),
        },
    }
    scores = {
        "type": "object",
        "required": ["min_n", "groups"],
        "properties": {
            "from": DAY,
            "to": DAY,
            "min_n": {"type": "integer", "description": "Below it a group shows counts only."},
            "compare": {
                "type": "object",
                "description": "Only with compare=: what each group was compared with.",
                "properties": {
                    "against": {"type": "string", "enum": ["previous", "year", "rest"]},
                    # The period before the one asked for: it may begin before 2000, where no
                    # answer can be, and then simply holds none.
                    "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"},
                },
            },
            "groups": {"type": "array", "items": ref("ScoreGroup")},
        },
    }
    problem = {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {
                        "field": {"type": "string", "examples": ["customer.phone"]},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }
    return {
        "Customer": customer,
        "Complaint": complaint,
        "Interaction": interaction,
        "InteractionResult": result,
        "Delivery": delivery,
        "Invitation": invitation,
        "ScoreGroup": group,
        "Comparison": comparison,
        "Scores": scores,
        **drivers_schemas(),
        **complaints_schemas(),
        "Problem": problem,
    }


def drivers_schemas() -> dict[str, Any]:
    """The body of GET /drivers and of one driver in it, by name."""
    correlation = nullable({"type": "number", "minimum": -1, "maximum": 1})
    driver = {
        "type": "object",
        "required": ["dimension", "n", "r", "r_low", "r_high"],
        "properties": {
            "dimension": {"type": "string", "enum": [d for d in DIMENSIONS if d != "overall"]},
            "n": {
                "type": "integer",
                "minimum": 0,
                "description": "Responses with both this dimension's and the overall rating.",
            },
            "r": {**correlation, "description": "Pearson's r; null when it cannot be told."},
            "r_low": {**correlation, "description": "Lower bound of r's 95% interval (Fisher z)."},
            "r_high": {**correlation, "description": "Upper bound of r's 95% interval."},
        },
    }
    drivers = {
        "type": "object",
        "required": ["n_responses", "limit", "wording", "drivers"],
        "properties": {
            "from": DAY,
            "to": DAY,
            "n_responses": {
                "type": "integer",
                "minimum": 0,
                "description": "Counted responses read (matching the filters, at most limit).",
            },
            "limit": {"type": "integer", "description": "The most responses a request reads."},
            "wording": {
                "type": "string",
                "description": "How to present them, in the caller's language: an association.",
            },
            "drivers": {"type": "array", "items": ref("Driver")},
        },
    }
    return {"Driver": driver, "Drivers": drivers}


def complaints_schemas() -> dict[str, Any]:
    """The body of GET /complaints and its parts, by name."""
    share = nullable({"type": "number", "minimum": 0, "maximum": 1})
    count = {"type": "integer", "minimum": 0}
    satisfaction = {
        "type": "object",
        "description": (
            "CSAT of the complaint-handling dimension's 5-point answers (share of 4-5) with "
            "its Wilson 95% interval and the mean; scores are null below min_n."
        ),
        "required": ["n", "csat", "csat_low", "csat_high", "mean"],
        "properties": {
            "n": {**count, "description": "5-point complaint-handling answers counted."},
            "csat": share,
            "csat_low": share,
            "csat_high": share,
            "mean": nullable({"type": "number", "minimum": 1, "maximum": 5}),
        },
    }
    case_share = {
        "type": "object",
        "required": ["key", "cases", "share"],
        "properties": {
            "key": nullable({"type": "string", "description": "null: not given."}),
            "cases": count,
            "share": {**share, "description": "Of all the cases; null when there are none."},
        },
    }
    commitment = {
        "type": "object",
        "required": ["commitment", "limit", "unit", "met", "missed", "pending", "decided"],
        "properties": {
            "commitment": {"type": "string", "enum": ["first_reply", "final", "regulator"]},
            "limit": {"type": "integer", "description": "The organisation setting."},
            "unit": {"type": "string", "enum": ["hours", "working_days", "days"]},
            "met": count,
            "missed": count,
            "pending": {
                **count,
                "description": "Not done yet and still inside the deadline: neither met nor missed.",
            },
            "decided": {**count, "description": "met + missed: the share's denominator."},
            "share_met": {**share, "description": "met / decided; null when none is decided."},
        },
    }
    compared = {
        "type": "object",
        "required": ["commitment", "met", "missed", "difference", "p_value", "q_value", "mark"],
        "properties": {
            "commitment": {"type": "string", "enum": ["first_reply", "final", "regulator"]},
            "met": ref("ComplaintSatisfaction"),
            "missed": ref("ComplaintSatisfaction"),
            "difference": nullable(
                {"type": "number", "description": "CSAT met - missed (fraction)."}
            ),
            "p_value": nullable({"type": "number", "minimum": 0, "maximum": 1}),
            "q_value": nullable(
                {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1,
                    "description": "Benjamini-Hochberg over the commitments compared.",
                }
            ),
            "test": nullable({"type": "string", "enum": ["z", "fisher"]}),
            "mark": nullable(
                {"type": "string", "enum": ["▲", "▼"], "description": "Only where q < 0.05."}
            ),
        },
    }
    body = {
        "type": "object",
        "required": [
            "from",
            "to",
            "as_of",
            "min_n",
            "cases",
            "year_earlier",
            "by_category",
            "by_cause",
            "commitments",
            "first_contact",
            "satisfaction",
            "met_versus_missed",
        ],
        "properties": {
            "from": DAY,
            "to": DAY,
            "as_of": {
                "type": "string",
                "format": "date-time",
                "description": "When met, missed and pending were decided (now).",
            },
            "min_n": {"type": "integer"},
            "cases": {
                "type": "object",
                "required": ["total", "open", "resolved"],
                "properties": {"total": count, "open": count, "resolved": count},
            },
            "year_earlier": {
                "type": "object",
                "description": "The same days one year earlier, with the same filters.",
                "required": ["from", "to", "total", "change", "change_share"],
                "properties": {
                    "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"},
                    "total": count,
                    "change": {"type": "integer", "description": "total now - total then."},
                    "change_share": nullable(
                        {"type": "number", "description": "change / total then."}
                    ),
                },
            },
            "by_category": {"type": "array", "items": ref("ComplaintShare")},
            "by_cause": {"type": "array", "items": ref("ComplaintShare")},
            "commitments": {"type": "array", "items": ref("ComplaintCommitment")},
            "first_contact": {
                "type": "object",
                "required": ["resolved", "first_contact", "rate"],
                "properties": {
                    "resolved": count,
                    "first_contact": count,
                    "rate": {**share, "description": "first_contact / resolved."},
                },
            },
            "satisfaction": ref("ComplaintSatisfaction"),
            "met_versus_missed": {"type": "array", "items": ref("ComplaintComparison")},
        },
    }
    return {
        "ComplaintSatisfaction": satisfaction,
        "ComplaintShare": case_share,
        "ComplaintCommitment": commitment,
        "ComplaintComparison": compared,
        "Complaints": body,
    }
