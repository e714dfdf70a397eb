"""API: the OpenAPI 3.1 document of JSON API v1 (DESIGN.md's contracts, in machine form)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from survey.api import bp
from survey.models.interaction import CATEGORIES, CAUSES, CHANNELS, TYPES
from survey.models.invitation import DELIVERY_STATES, INVITATION_STATES
from survey.models.rule import SURVEY_CHANNELS as SEND_CHANNELS
from survey.models.survey import DIMENSIONS
from survey.scoring.queries import GROUP_FIELDS, SURVEY_CHANNELS

SUPPRESSION_REASONS = (
    "no_rule",
    "sampled_out",
    "opted_out",
    "frequency",
    "open_complaint",
    "no_contact",
)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow null as well (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


INSTANT = {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset."}
DAY = {"type": "string", "format": "date"}


def _schemas() -> dict[str, Any]:
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
            "opened_at": _nullable(INSTANT),
            "first_reply_at": _nullable(INSTANT),
            "resolved_at": _nullable(INSTANT),
            "resolved_first_contact": _nullable({"type": "boolean"}),
            "cause": _nullable({"type": "string", "enum": list(CAUSES)}),
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
            "customer": _ref("Customer"),
            "complaint": _nullable(_ref("Complaint")),
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
            "invitation": _nullable(
                {
                    "type": "object",
                    "required": ["id", "channel", "state", "scheduled_at"],
                    "properties": {
                        "id": {"type": "integer"},
                        "channel": _nullable({"type": "string", "enum": list(SEND_CHANNELS)}),
                        "state": {"type": "string", "enum": list(INVITATION_STATES)},
                        "scheduled_at": {
                            **INSTANT,
                            "description": "Quiet hours defer it; they suppress nothing.",
                        },
                    },
                }
            ),
            "suppression_reason": _nullable({"type": "string", "enum": list(SUPPRESSION_REASONS)}),
        },
    }
    delivery = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "channel": {"type": "string", "enum": list(SEND_CHANNELS)},
            "provider": {"type": "string"},
            "provider_id": _nullable({"type": "string"}),
            "state": {"type": "string", "enum": list(DELIVERY_STATES)},
            "error": _nullable({"type": "string"}),
            "created_at": INSTANT,
        },
    }
    invitation = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "state": {"type": "string", "enum": list(INVITATION_STATES)},
            "channel": _nullable({"type": "string", "enum": list(SEND_CHANNELS)}),
            "scheduled_at": INSTANT,
            "sent_at": _nullable(INSTANT),
            "completed_at": _nullable(INSTANT),
            "expires_at": INSTANT,
            "survey_version": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "number": {"type": "integer"}},
            },
            "deliveries": {"type": "array", "items": _ref("Delivery")},
        },
    }
    share = _nullable({"type": "number", "minimum": 0, "maximum": 1})
    points = _nullable({"type": "number", "minimum": -100, "maximum": 100})
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
                "additionalProperties": _nullable({"type": "string"}),
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
            "mean": _nullable({"type": "number", "minimum": 1, "maximum": 5}),
            "nps_n": {"type": "integer"},
            "nps": {**points, "description": "Promoters (9–10) minus detractors (0–6), points."},
            "nps_moe": _nullable(
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
            "groups": {"type": "array", "items": _ref("ScoreGroup")},
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


def _csv(description: str, values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {
        "description": f"{description} Comma-separated, any of: {', '.join(values)}.",
        "schema": {"type": "string"},
    }


def _score_parameters() -> list[dict[str, Any]]:
    filters = {
        "dimension": ("Only these dimensions.", DIMENSIONS),
        "business_line": ("Only these business line codes.", ()),
        "team": ("Only these team codes.", ()),
        "agent": ("Only these agent codes.", ()),
        "channel": ("Only interactions on these channels.", CHANNELS),
        "survey_channel": ("Only answers given on these channels.", SURVEY_CHANNELS),
        "category": ("Only these categories.", CATEGORIES),
        "type": ("Only these interaction types.", TYPES),
    }
    parameters: list[dict[str, Any]] = [
        {
            "name": "from",
            "in": "query",
            "description": "First day (the bank's zone), inclusive; default 29 days before 'to'.",
            "schema": DAY,
        },
        {
            "name": "to",
            "in": "query",
            "description": "Last day (the bank's zone), inclusive; default today.",
            "schema": DAY,
        },
        {"name": "group_by", "in": "query", **_csv("Fields to group by.", GROUP_FIELDS)},
    ]
    for name, (text, values) in filters.items():
        parameter = {"name": name, "in": "query"}
        if values:
            parameter.update(_csv(text, values))
        else:
            parameter.update(
                {"description": f"{text} Comma-separated.", "schema": {"type": "string"}}
            )
        parameters.append(parameter)
    return parameters


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of JSON API v1."""
    unauthorized = _problem("No valid API key (Authorization: Bearer <key>).")
    forbidden = _problem("The key lacks the needed scope.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "满意度 Satisfaction survey API",
            "version": "1",
            "description": (
                "Post the bank's interactions, follow the invitations they cause, and read "
                "scores. Errors are RFC 9457 problem JSON naming every bad field; nothing is "
                "half-written on an error."
            ),
        },
        "servers": [{"url": current_app.config["SURVEY_PUBLIC_URL"] + "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/interactions": {
                "post": {
                    "operationId": "postInteraction",
                    "summary": "Post one interaction, with its customer and complaint block.",
                    "description": (
                        "Idempotent on external_id: a replay answers 200 with the same result "
                        "and never makes a second invitation. Needs the 'interactions' scope."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Interaction")}},
                    },
                    "responses": {
                        "201": _json("Taken in.", _ref("InteractionResult")),
                        "200": _json(
                            "A replay: the first result again.", _ref("InteractionResult")
                        ),
                        "400": _problem("A bad body; errors names every bad field."),
                        "401": unauthorized,
                        "403": forbidden,
                        "409": _problem("The external_id was posted before with another body."),
                    },
                }
            },
            "/invitations/{id}": {
                "get": {
                    "operationId": "getInvitation",
                    "summary": "An invitation's state and deliveries.",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": _json("The invitation.", _ref("Invitation")),
                        "401": unauthorized,
                        "403": forbidden,
                        "404": _problem("No such invitation."),
                    },
                }
            },
            "/scores": {
                "get": {
                    "operationId": "getScores",
                    "summary": "Scores per group over a range of days, read from the rollup.",
                    "description": (
                        "Shares are fractions 0–1, NPS and its margin are points −100…100. "
                        "Without group_by there is one group with an empty key. Needs the "
                        "'scores' scope."
                    ),
                    "parameters": _score_parameters(),
                    "responses": {
                        "200": _json("Scores.", _ref("Scores")),
                        "400": _problem("A bad parameter; errors names it."),
                        "401": unauthorized,
                        "403": forbidden,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": _json("OpenAPI 3.1.", {"type": "object"})},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from `survey apikey create NAME`.",
                }
            },
            "schemas": _schemas(),
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    """Return the OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document())
