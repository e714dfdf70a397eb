"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document of exactly the routes the API has."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from survey.scoring.queries import FILTER_FIELDS, GROUP_FIELDS, OTHER_PARAMS

PREFIX = "/api/v1"


def _document(client) -> dict:
    reply = client.get(f"{PREFIX}/openapi.json")
    assert reply.status_code == 200 and reply.mimetype == "application/json"
    return reply.get_json()


def test_the_document_is_valid_openapi_3_1_and_needs_no_key(client):
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_api_route_is_documented_and_every_documented_path_exists(app, client):
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "{}", rule.rule[len(PREFIX) :])
            routes.setdefault(path, set()).update(
                m.lower() for m in rule.methods if m not in ("HEAD", "OPTIONS")
            )
    documented = {
        re.sub(r"\{[^}]+\}", "{}", path): {
            m for m in item if m in ("get", "post", "put", "patch", "delete")
        }
        for path, item in _document(client)["paths"].items()
    }
    assert documented == routes


def test_the_scores_operation_documents_every_parameter(client):
    parameters = _document(client)["paths"]["/scores"]["get"]["parameters"]
    names = {p["name"] for p in parameters}
    assert names == {*FILTER_FIELDS, *OTHER_PARAMS}
    group_by = next(p for p in parameters if p["name"] == "group_by")
    assert all(field in group_by["description"] for field in GROUP_FIELDS)


def test_the_interaction_body_requires_what_design_requires(client):
    schemas = _document(client)["components"]["schemas"]
    assert set(schemas["Interaction"]["required"]) == {
        "external_id",
        "occurred_at",
        "channel",
        "type",
        "customer",
    }
    assert schemas["Customer"]["required"] == ["external_id"]
    responses = _document(client)["paths"]["/interactions"]["post"]["responses"]
    assert {"200", "201", "400", "401", "409"} <= set(responses)
    problem = responses["400"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}


def test_api_operations_need_a_bearer_key(client):
    document = _document(client)
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/openapi.json"]["get"]["security"] == []


def test_the_complaints_operation_documents_the_filters_that_apply_to_cases(client):
    from survey.scoring.complaint_cases import PARAMETERS

    parameters = _document(client)["paths"]["/complaints"]["get"]["parameters"]
    assert {p["name"] for p in parameters} == set(PARAMETERS)
    assert "type" not in {p["name"] for p in parameters}


def test_the_funnel_operation_documents_every_parameter_it_takes(client):
    from survey.funnel.report import PARAMETERS

    operation = _document(client)["paths"]["/funnel"]["get"]
    assert {p["name"] for p in operation["parameters"]} == set(PARAMETERS)
    channel = next(p for p in operation["parameters"] if p["name"] == "survey_channel")
    assert all(c in channel["description"] for c in ("sms", "email", "voice"))
    assert "(completed + closed_partial) / sent" in operation["description"]
