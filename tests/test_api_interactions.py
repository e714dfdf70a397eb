"""POST /api/v1/interactions and GET /api/v1/invitations/<id>: the contract other systems use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator

from survey import clock
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Address, Agent, Customer, Interaction, Invitation
from tests.fixtures.dispatch import interaction_body

WRITTEN = (Interaction, Invitation, Customer, Address, Agent)


def _counts() -> dict[str, int]:
    db.session.rollback()
    return {
        m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in WRITTEN
    }


def test_interactions_need_a_live_api_key(client, dispatch_ready, api_key):
    url = "/api/v1/interactions"
    missing = client.post(url, json=interaction_body())
    wrong = client.post(url, json=interaction_body(), headers={"Authorization": "Bearer sk_nope"})
    good = client.post(url, json=interaction_body(), headers={"Authorization": f"Bearer {api_key}"})
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.mimetype == "application/problem+json"
    assert good.status_code == 201


def test_a_key_without_the_interactions_scope_is_refused(post_interaction, make_api_key, app):
    response = post_interaction(interaction_body(), key=make_api_key(scopes=("scores",)))
    assert response.status_code == 403


def test_accepted_interaction_answers_with_its_invitation(post_interaction, dispatch_ready):
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    response = post_interaction(interaction_body())
    assert response.status_code == 201
    body = response.get_json()
    assert body["suppression_reason"] is None
    invitation = body["invitation"]
    assert invitation["channel"] == "sms" and invitation["state"] == "scheduled"
    # Posted 10:15 Shanghai = 02:15 UTC, no delay, but never scheduled before now.
    assert invitation["scheduled_at"] == "2026-11-29T03:00:00+00:00"
    row = db.session.get(Invitation, invitation["id"])
    assert row.channels == ["sms", "email"] and row.locale == "zh"
    assert len(row.token) >= 24 and row.token != row.unsubscribe_token  # 144 random bits each
    assert row.expires_at == datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 72 hours


def test_every_bad_field_is_named_at_once_and_nothing_is_written(post_interaction, dispatch_ready):
    before = _counts()
    bad = interaction_body(
        occurred_at="2026-11-29T10:15:00",  # no offset
        channel="fax",
        type="praise",
        business_line="treasury",
        team="nobody",
        category="mortgage",
        wait_seconds=-3,
        complaint={"cause": "weather"},
        customer={
            "external_id": "C-1",
            "phone": "call me maybe",
            "email": "not-an-address",
            "locale": "fr",
            "timezone": "Mars/Olympus_Mons",
        },
    )
    del bad["external_id"]
    response = post_interaction(bad)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400 and problem["title"] and problem["type"]
    named = {e["field"] for e in problem["errors"]}
    assert named == {
        "external_id",
        "occurred_at",
        "channel",
        "type",
        "business_line",
        "team",
        "category",
        "wait_seconds",
        "complaint.cause",
        "customer.phone",
        "customer.email",
        "customer.locale",
        "customer.timezone",
    }
    assert all(e["message"] for e in problem["errors"])
    assert _counts() == before


def test_complaint_fields_are_checked_inside_the_block(post_interaction, dispatch_ready):
    response = post_interaction(
        interaction_body(
            type="complaint",
            complaint={
                "opened_at": "yesterday",
                "resolved_at": "2026-11-29T11:00:00",
                "resolved_first_contact": "no",
                "cause": "weather",
            },
        )
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.get_json()["errors"]} == {
        "complaint.opened_at",
        "complaint.resolved_at",
        "complaint.resolved_first_contact",
        "complaint.cause",
    }


def test_only_a_complaint_has_a_complaint_block(post_interaction, dispatch_ready):
    response = post_interaction(interaction_body(type="inquiry", complaint={"cause": "process"}))
    assert response.status_code == 400
    assert [e["field"] for e in response.get_json()["errors"]] == ["complaint"]


def test_a_complaint_is_stored_with_its_block(post_interaction, dispatch_ready):
    complaint = {
        "opened_at": "2026-11-28T09:00:00+08:00",
        "first_reply_at": "2026-11-28T09:30:00+08:00",
        "resolved_at": None,
        "resolved_first_contact": False,
        "cause": "process",
    }
    body = interaction_body(type="complaint", team="personal-complaints", complaint=complaint)
    assert post_interaction(body).status_code == 201
    stored = db.session.scalar(sa.select(Interaction))
    assert stored.complaint_opened_at == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert stored.complaint_cause == "process" and stored.is_open_complaint


def test_a_team_of_another_business_line_is_an_error(post_interaction, dispatch_ready):
    response = post_interaction(interaction_body(team="corporate-inquiries"))
    assert response.status_code == 400
    assert [e["field"] for e in response.get_json()["errors"]] == ["team"]


def test_an_unknown_agent_needs_a_team(post_interaction, dispatch_ready):
    body = interaction_body(agent="A9999")
    del body["team"]
    response = post_interaction(body)
    assert response.status_code == 400
    assert [e["field"] for e in response.get_json()["errors"]] == ["agent"]


def test_an_unknown_agent_is_added_to_the_team(post_interaction, dispatch_ready):
    assert post_interaction(interaction_body(agent="A7777")).status_code == 201
    agent = db.session.scalar(sa.select(Agent).where(Agent.code == "A7777"))
    assert agent is not None and agent.team.code == "personal-inquiries"


def test_an_agent_added_by_a_concurrent_post_is_used_not_added_twice(
    post_interaction, dispatch_ready
):
    from survey.api import schemas
    from survey.dispatch import intake

    # This post was checked while the agent was unknown; another post then added it.
    data, errors = schemas.parse_interaction(interaction_body(external_id="X-1", agent="A5555"))
    assert not errors and data.new_agent_code == "A5555"
    assert post_interaction(interaction_body(external_id="X-2", agent="A5555")).status_code == 201

    outcome = intake.take_in(data)

    assert outcome.created
    agents = db.session.scalars(sa.select(Agent).where(Agent.code == "A5555")).all()
    assert len(agents) == 1
    stored = db.session.scalar(sa.select(Interaction).where(Interaction.external_id == "X-1"))
    assert stored.agent_id == agents[0].id


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_a_problem(post_interaction, dispatch_ready, raw):
    before = _counts()
    response = post_interaction(raw, content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"]
    assert _counts() == before


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"occurred_at": "0001-01-01T00:00:00+08:00"}, "occurred_at"),
        ({"occurred_at": "9999-12-31T23:59:00-08:00"}, "occurred_at"),
        ({"external_id": "CALL\u0000123"}, "external_id"),
        ({"customer": {"external_id": "C-1", "name": "王\u0000芳"}}, "customer.name"),
    ],
)
def test_out_of_range_times_and_nul_characters_are_named_not_a_server_error(
    post_interaction, dispatch_ready, overrides, field
):
    before = _counts()
    response = post_interaction(interaction_body(**overrides))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert _counts() == before


def test_phone_numbers_are_stored_in_e164(post_interaction, dispatch_ready):
    customer = interaction_body()["customer"] | {
        "phone": "138 0013-8000",
        "email": "Wang@Example.CN",
    }
    assert post_interaction(interaction_body(customer=customer)).status_code == 201
    values = set(db.session.scalars(sa.select(Address.value)))
    assert values == {"+8613800138000", "wang@example.cn"}


def test_a_replay_answers_the_same_and_invites_once(post_interaction, dispatch_ready):
    first = post_interaction(interaction_body())
    # Key order and spacing do not make a different body.
    replay = post_interaction(dict(reversed(list(interaction_body().items()))))
    assert first.status_code == 201 and replay.status_code == 200
    assert replay.get_json() == first.get_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_a_different_body_under_the_same_external_id_is_a_conflict(
    post_interaction, dispatch_ready
):
    assert post_interaction(interaction_body()).status_code == 201
    response = post_interaction(interaction_body(wait_seconds=10))
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert db.session.scalar(sa.select(Interaction.wait_seconds)) == 185


def test_no_matching_rule_is_suppressed_as_no_rule(post_interaction, make_org):
    make_org()
    response = post_interaction(interaction_body())
    assert response.status_code == 201
    assert response.get_json()["invitation"] is None
    assert response.get_json()["suppression_reason"] == "no_rule"


def test_a_customer_without_an_address_is_suppressed_as_no_contact(
    post_interaction, dispatch_ready
):
    customer = {"external_id": "C-404", "name": "No Contact"}
    response = post_interaction(interaction_body(customer=customer))
    assert response.get_json() | {"id": 0} == {
        "id": 0,
        "invitation": None,
        "suppression_reason": "no_contact",
    }


def test_customers_are_updated_and_share_addresses(post_interaction, dispatch_ready):
    post_interaction(interaction_body())
    post_interaction(
        interaction_body(
            external_id="CALL-2",
            customer={
                "external_id": "C-88231",
                "name": "Wang Fang",
                "locale": "en",
                "email": "fang@example.com",
            },
        )
    )
    post_interaction(
        interaction_body(
            external_id="CALL-3",
            customer={"external_id": "C-SPOUSE", "phone": "+8613800138000"},
        )
    )
    wang = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-88231"))
    spouse = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-SPOUSE"))
    assert (wang.name, wang.locale, wang.timezone) == ("Wang Fang", "en", "Asia/Shanghai")
    assert {a.value for a in wang.addresses} == {
        "+8613800138000",
        "wang@example.cn",
        "fang@example.com",
    }
    assert [a.value for a in spouse.addresses] == ["+8613800138000"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Address)) == 3


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_the_api_needs_no_csrf_token(post_interaction, dispatch_ready):
    assert post_interaction(interaction_body()).status_code == 201


def test_an_invitation_shows_its_state_and_deliveries(
    client, post_interaction, dispatch_ready, api_key
):
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))  # inside allowed hours
    invitation_id = post_interaction(interaction_body()).get_json()["invitation"]["id"]
    assert sending.send_invitation(invitation_id) == "sent"
    response = client.get(
        f"/api/v1/invitations/{invitation_id}", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "sent" and body["channel"] == "sms"
    assert body["survey_version"]["number"] == 1
    assert body["sent_at"].endswith("+00:00")
    [delivery] = body["deliveries"]
    assert delivery["provider"] == "outbox" and delivery["state"] == "sent"
    assert delivery["provider_id"].startswith("outbox-")


def test_an_unknown_invitation_is_a_404_problem(client, api_key, app):
    response = client.get("/api/v1/invitations/999", headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_an_invitation_id_too_large_for_the_database_is_a_404_problem(client, api_key, app):
    response = client.get(
        "/api/v1/invitations/99999999999999999999", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def _interaction_schema(client) -> Draft202012Validator:
    document = client.get("/api/v1/openapi.json").get_json()
    root = {"$ref": "#/components/schemas/Interaction", "components": document["components"]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("kind", ["inquiry", "outbound"])
def test_a_complaint_block_off_a_complaint_is_refused_by_the_app_and_the_document(
    client, post_interaction, dispatch_ready, kind
):
    body = interaction_body(type=kind, complaint={"cause": "process"})
    assert not _interaction_schema(client).is_valid(body)
    response = post_interaction(body)
    assert response.status_code == 400
    assert [e["field"] for e in response.get_json()["errors"]] == ["complaint"]
    # A null block is no block, for both.
    body = interaction_body(type=kind, complaint=None)
    assert _interaction_schema(client).is_valid(body)
    assert post_interaction(body).status_code == 201


def test_null_optional_fields_are_absent_for_the_app_and_the_document(
    client, post_interaction, dispatch_ready
):
    customer = {"external_id": "C-1", "name": None, "phone": "+8613800138000"}
    customer |= {"email": None, "locale": None, "timezone": None}
    body = interaction_body(
        agent=None, category=None, wait_seconds=None, business_line=None, customer=customer
    )
    body |= {"type": "complaint", "team": "personal-complaints"}
    body["complaint"] = {"cause": None, "opened_at": None, "resolved_first_contact": None}
    assert _interaction_schema(client).is_valid(body)
    assert post_interaction(body).status_code == 201


def test_the_document_sends_the_example_the_app_takes(client, post_interaction, dispatch_ready):
    document = client.get("/api/v1/openapi.json").get_json()
    example = document["components"]["schemas"]["Interaction"]["example"]
    assert _interaction_schema(client).is_valid(example)
    assert post_interaction(example).status_code == 201


@pytest.mark.parametrize(
    "case_id",
    [42, ["CMP-1"], "C" * 101, "CMP\n42", "CMP\u000042", "CMP\u202842"],
    ids=["number", "list", "too-long", "line-break", "nul", "line-separator"],
)
def test_a_bad_complaint_case_id_is_named_by_the_app_and_refused_by_the_document(
    client, post_interaction, dispatch_ready, case_id
):
    body = interaction_body(
        type="complaint", team="personal-complaints", complaint={"case_id": case_id}
    )
    assert not _interaction_schema(client).is_valid(body)
    before = _counts()
    response = post_interaction(body)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["complaint.case_id"]
    assert _counts() == before


def test_the_documents_complaint_block_describes_the_case_id(client):
    document = client.get("/api/v1/openapi.json").get_json()
    complaint = document["components"]["schemas"]["Complaint"]
    case_id = complaint["properties"]["case_id"]
    assert "one complaint case" in case_id["description"]
    assert _interaction_schema(client).is_valid(
        interaction_body(
            type="complaint", team="personal-complaints", complaint={"case_id": "CMP-2026-0042"}
        )
    )
