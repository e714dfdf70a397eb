"""API: the OpenAPI 3.1 document of JSON API v1 (DESIGN.md's contracts, in machine form)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from survey.api import bp, funnel_docs
from survey.api.bodies import API_MAX_BODY_BYTES
from survey.api.openapi_schemas import DAY, SURVEY_IDS, comma_list, component_schemas, ref
from survey.models.interaction import CATEGORIES, CAUSES, CHANNELS, TYPES
from survey.models.survey import DIMENSIONS
from survey.scoring import complaint_cases
from survey.scoring.drivers import LIMIT as DRIVERS_LIMIT
from survey.scoring.queries import FILTER_FIELDS, GROUP_FIELDS, SURVEY_CHANNELS


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": ref("Problem")}},
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _csv(description: str, values: tuple[str, ...] | list[str], empty: bool) -> dict[str, Any]:
    listed = f" Comma-separated, any of: {', '.join(values)}." if values else " Comma-separated."
    said = " Empty means no grouping." if empty else " Empty is a 400: leave it out for all."
    return {
        "description": description + listed + said,
        "schema": comma_list(values, empty=empty),
    }


def _day(description: str) -> dict[str, Any]:
    return {
        "description": description + " Empty means the default.",
        "schema": {"anyOf": [DAY, {"type": "string", "maxLength": 0}]},
    }


COMPARE_PARAMETER: dict[str, Any] = {
    "name": "compare",
    "in": "query",
    "description": (
        "Test each group against a reference at 95%: previous (the same group in the "
        "previous period of the same length; not with day, week or month grouping), year "
        "(the same group over the same days a year earlier; not with a time grouping either) "
        "or rest "
        "(the rest of its parent: an agent's team, a team's business line, otherwise every "
        "group). CSAT: pooled two-proportion z-test, Fisher's exact test when an expected "
        "cell is below 5; NPS: z on the difference; mean: Welch's t-test; q values are "
        "Benjamini–Hochberg within the response."
    ),
    "schema": {"type": "string", "enum": ["previous", "year", "rest"]},
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
        "cause": ("Only complaints with these causes.", CAUSES),
    }
    parameters: list[dict[str, Any]] = [
        {
            "name": "from",
            "in": "query",
            **_day("First day (the bank's zone), inclusive; default 29 days before 'to'."),
        },
        {
            "name": "to",
            "in": "query",
            **_day("Last day (the bank's zone), inclusive; default today."),
        },
        {"name": "group_by", "in": "query", **_csv("Fields to group by.", GROUP_FIELDS, True)},
    ]
    for name, (text, values) in filters.items():
        parameters.append({"name": name, "in": "query", **_csv(text, values, empty=False)})
    parameters.append(
        {
            "name": "survey",
            "in": "query",
            "description": (
                "Only answers to these surveys (any of their versions), by survey id. "
                "Comma-separated ids; an id with no survey is a 400 naming survey. "
                "Empty is a 400: leave it out for all."
            ),
            "schema": {"type": "string", "pattern": SURVEY_IDS},
        }
    )
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
                        "and never makes a second invitation. Complaint posts sharing "
                        "complaint.case_id are one case: its survey is held while it is open "
                        "and goes out once, about its resolution; dispatch rules may filter on "
                        "complaint_state (open or resolved). Needs the 'interactions' scope."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("Interaction")}},
                    },
                    "responses": {
                        "201": _json("Taken in.", ref("InteractionResult")),
                        "200": _json("A replay: the first result again.", ref("InteractionResult")),
                        "400": _problem("A bad body; errors names every bad field."),
                        "401": unauthorized,
                        "403": forbidden,
                        "409": _problem(
                            "The external_id was posted before with another body, or the post "
                            "contradicts its complaint case (errors names the field: "
                            "complaint.case_id of another customer, a recorded time changed, "
                            "a reply or resolution before the case opened); nothing was stored."
                        ),
                        "413": _problem(
                            f"A body over {API_MAX_BODY_BYTES // 1024} KB; nothing was stored."
                        ),
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
                        "200": _json("The invitation.", ref("Invitation")),
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
                        "'scores' scope. Grouped by type the key holds the interaction type, "
                        "by cause the complaint's cause (null when none), by survey the "
                        "survey id as a string. Answered from the coarsest rollup table "
                        "that gives exactly the same numbers."
                    ),
                    "parameters": [*_score_parameters(), COMPARE_PARAMETER],
                    "responses": {
                        "200": _json("Scores.", ref("Scores")),
                        "400": _problem("A bad parameter; errors names it."),
                        "401": unauthorized,
                        "403": forbidden,
                    },
                }
            },
            "/drivers": _drivers_operation(unauthorized, forbidden),
            "/complaints": _complaints_operation(unauthorized, forbidden),
            "/funnel": funnel_docs.operation(
                _score_parameters(),
                {
                    "400": _problem("A bad parameter; errors names it."),
                    "401": unauthorized,
                    "403": forbidden,
                },
            ),
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
            "schemas": {**component_schemas(), **funnel_docs.schemas()},
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    """Return the OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document())


def _drivers_operation(unauthorized: dict[str, Any], forbidden: dict[str, Any]) -> dict[str, Any]:
    """Describe GET /drivers: the scores' days and filters, no grouping."""
    taken = ("from", "to", *FILTER_FIELDS)
    return {
        "get": {
            "operationId": "getDrivers",
            "summary": "The dimensions most closely associated with overall satisfaction.",
            "description": (
                "Per response, each dimension's 5-point answer paired with the same "
                "response's overall 5-point answer: Pearson's r with its n and 95% interval "
                "(Fisher z), strongest first. An association, not a cause. Read from the "
                f"answers of at most the latest {DRIVERS_LIMIT:,} counted responses matching "
                "the filters (the dimension filter picks the dimensions reported), and kept "
                "until new answers are counted. r is null below the minimum n, below 4 "
                "pairs, or when either rating does not vary. Needs the 'scores' scope."
            ),
            "parameters": [p for p in _score_parameters() if p["name"] in taken],
            "responses": {
                "200": _json("Drivers.", ref("Drivers")),
                "400": _problem("A bad parameter; errors names it."),
                "401": unauthorized,
                "403": forbidden,
            },
        }
    }


def _complaints_operation(
    unauthorized: dict[str, Any], forbidden: dict[str, Any]
) -> dict[str, Any]:
    """Describe GET /complaints: the scores' days and the filters that apply to cases."""
    return {
        "get": {
            "operationId": "getComplaints",
            "summary": "Complaint cases against the bank's commitments, with satisfaction.",
            "description": (
                "Counts complaint cases (posts sharing complaint.case_id are one), each on the "
                "day it was opened in the bank's zone (without an opening time, its first "
                "post's). Business line, team, category and cause filter the case itself; "
                "agent and channel keep cases with a post by that agent or on that channel; "
                "survey and survey_channel narrow only the satisfaction figures. Each "
                "commitment (first reply within N hours, final result within N working days "
                "of the admin's calendar, decided within the regulator's N days) is met, "
                "missed, or pending while a case is not done and its deadline has not passed; "
                "share_met is of the decided cases. Satisfaction is the complaint-handling "
                "dimension of the responses about these cases; met against missed uses the "
                "CSAT test of /scores' compare with Benjamini-Hochberg q over the commitments. "
                "Needs the 'scores' scope."
            ),
            "parameters": [
                p for p in _score_parameters() if p["name"] in complaint_cases.PARAMETERS
            ],
            "responses": {
                "200": _json("Complaint figures.", ref("Complaints")),
                "400": _problem("A bad parameter; errors names it."),
                "401": unauthorized,
                "403": forbidden,
            },
        }
    }
