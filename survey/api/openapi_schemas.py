"""OpenAPI 3.1 component schemas of JSON API v1: the bodies DESIGN.md fixes, as JSON Schema."""

from __future__ import annotations

from typing import Any

from survey.dispatch.decide import SUPPRESSION_REASONS
from survey.models.interaction import CATEGORIES, CAUSES, CHANNELS, TYPES
from survey.models.invitation import DELIVERY_STATES, INVITATION_STATES
from survey.models.rule import SURVEY_CHANNELS as SEND_CHANNELS


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow null as well (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict[str, str]:
    """Point at a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


INSTANT = {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset."}
DAY = {"type": "string", "format": "date"}


def component_schemas() -> dict[str, Any]:
    """Return the request, response and problem schemas, by name."""
    customer = {
        "type": "object",
        "required": ["external_id"],
        "properties": {
            "external_id": {"type": "string", "maxLength": 100},
            "name": {"type": "string", "maxLength": 200},
            "phone": {"type": "string", "description": "E.164, e.g. +8613800138000."},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "locale": {"type": "string", "enum": ["zh", "en"]},
            "timezone": {"type": "string", "description": "IANA zone, e.g. Asia/Shanghai."},
        },
    }
    complaint = {
        "type": "object",
        "description": "For a complaint: its opened, first-reply and resolved times.",
        "properties": {
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
            "external_id": {
                "type": "string",
                "maxLength": 100,
                "description": "The bank's id; posting it again is a replay, answered 200.",
            },
            "occurred_at": INSTANT,
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "type": {"type": "string", "enum": list(TYPES)},
            "business_line": {
                "type": "string",
                "description": "A business line code the admin maintains; unknown is an error.",
            },
            "team": {
                "type": "string",
                "description": "A team code the admin maintains; unknown is an error.",
            },
            "agent": {
                "type": "string",
                "description": "An agent code; an unknown one is created under the team.",
            },
            "category": {"type": "string", "enum": list(CATEGORIES)},
            "wait_seconds": {"type": "integer", "minimum": 0},
            "customer": ref("Customer"),
            "complaint": nullable(ref("Complaint")),
        },
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
                    },
                }
            ),
            "suppression_reason": nullable({"type": "string", "enum": list(SUPPRESSION_REASONS)}),
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
                    "agent; day as 2026-11-29, week as its Monday (2026-11-23), month as "
                    "2026-11; null where an answer has none (e.g. no agent)."
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
            "nps_n": {"type": "integer"},
            "nps": {**points, "description": "Promoters (9–10) minus detractors (0–6), points."},
            "nps_moe": nullable(
                {"type": "number", "minimum": 0, "description": "95% margin of nps, points."}
            ),
            "ces_n": {"type": "integer"},
            "ces": {**share, "description": "Share of 5–7 on the 7-point effort scale."},
        },
    }
    scores = {
        "type": "object",
        "required": ["min_n", "groups"],
        "properties": {
            "from": DAY,
            "to": DAY,
            "min_n": {"type": "integer", "description": "Below it a group shows counts only."},
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
        "Scores": scores,
        "Problem": problem,
    }
