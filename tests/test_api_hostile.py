"""Hostile bodies posted to the JSON API: each one a 400 or 413 problem naming the field, nothing stored.

Found by a fuzz probe (issue 8): deep nesting, lone surrogates, time zones that are
folders or no place at all, times centuries off, control characters in names and
bodies of many megabytes. DESIGN.md rule 6: bad input gets a clear error and changes
nothing; a stack trace is a bug.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.admin.services import settings_fields as settings_form
from survey.api.bodies import API_MAX_BODY_BYTES
from survey.extensions import db
from survey.models import Address, Agent, Customer, Interaction, Invitation
from tests.fixtures.dispatch import interaction_body

WRITTEN = (Interaction, Invitation, Customer, Address, Agent)
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
COMPLAINT = {
    "opened_at": "2026-11-28T09:00:00+08:00",
    "first_reply_at": "2026-11-28T09:30:00+08:00",
    "resolved_at": None,
    "resolved_first_contact": False,
    "cause": "process",
}


@pytest.fixture(autouse=True)
def _fixed_now():
    clock.freeze(NOW)


def _counts() -> dict[str, int]:
    db.session.rollback()
    return {
        m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in WRITTEN
    }


def _post_raw(post_interaction, raw: str | bytes):
    return post_interaction(raw, content_type="application/json")


def _named(response) -> list[str]:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    return [e["field"] for e in response.get_json()["errors"]]


def _with(path: str, value: object, body: dict | None = None) -> dict:
    """Return a valid body with one field (``customer.name``) set to a value."""
    body = body or interaction_body()
    *parents, name = path.split(".")
    target = body
    for parent in parents:
        target = target.setdefault(parent, {})
    target[name] = value
    return body


# Nesting


@pytest.mark.parametrize("where", ["top", "customer.name", "note"])
def test_json_nested_a_thousand_levels_deep_is_a_400_problem(
    post_interaction, dispatch_ready, where
):
    before = _counts()
    deep = "[" * 1000 + "]" * 1000
    raw = deep if where == "top" else json.dumps(_with(where, "DEEP")).replace('"DEEP"', deep)
    response = _post_raw(post_interaction, raw)
    assert response.status_code == 400
    assert response.get_json()["status"] == 400
    assert _named(response) == [""]
    assert _counts() == before


def test_nesting_far_deeper_than_an_interaction_needs_is_refused(post_interaction, dispatch_ready):
    # Deep enough to parse, but each later pass over the body would recurse as deep again.
    raw = json.dumps(_with("note", "DEEP")).replace('"DEEP"', "[" * 200 + "]" * 200)
    response = _post_raw(post_interaction, raw)
    assert response.status_code == 400 and _named(response) == [""]


# Lone surrogates


@pytest.mark.parametrize(
    "field",
    [
        "external_id",
        "channel",
        "type",
        "business_line",
        "team",
        "agent",
        "category",
        "occurred_at",
        "customer.external_id",
        "customer.name",
        "customer.phone",
        "customer.email",
        "customer.locale",
        "customer.timezone",
        "complaint.cause",
        "complaint.opened_at",
        "note",
        "customer.note",
    ],
)
def test_a_lone_surrogate_in_any_string_is_a_400_naming_the_field(
    post_interaction, dispatch_ready, field
):
    before = _counts()
    body = interaction_body(type="complaint", team="personal-complaints", complaint=dict(COMPLAINT))
    # json.dumps writes a lone surrogate as the escape \ud800, as a hostile client would send it.
    raw = json.dumps(_with(field, "王\ud800芳", body))
    assert "\\ud800" in raw
    response = _post_raw(post_interaction, raw)
    assert response.status_code == 400
    assert _named(response) == [field]
    assert _counts() == before


def test_a_lone_surrogate_in_a_field_name_is_a_400(post_interaction, dispatch_ready):
    raw = json.dumps(_with("customer.x\udfff", "1"))
    response = _post_raw(post_interaction, raw)
    assert response.status_code == 400
    assert _named(response) == ["customer.x\\udfff"]


def test_a_surrogate_pair_is_an_ordinary_character(post_interaction, dispatch_ready):
    # 𠀋 (U+2000B), a rare family-name character, is written as the pair \ud840\udc0b.
    raw = json.dumps(_with("customer.name", "王\U0002000b"))
    assert "\\ud840\\udc0b" in raw
    assert _post_raw(post_interaction, raw).status_code == 201
    assert db.session.scalar(sa.select(Customer.name)) == "王\U0002000b"


# Time zones

NOT_A_PLACE = [
    "America",
    "Etc",
    "America/Argentina",
    "__pycache__",
    "Factory",
    "posixrules",
    "right/UTC",
    "posix/Asia/Shanghai",
    "localtime",
    "UTC",
    "Etc/UTC",
    "Etc/GMT+8",
    "GMT",
    "EST5EDT",
    "CET",
    "../../../etc/passwd",
    "Asia/../Asia/Shanghai",
    "asia/shanghai",
]


@pytest.mark.parametrize("zone", NOT_A_PLACE)
def test_a_customer_zone_that_is_no_place_is_a_400_naming_the_field(
    post_interaction, dispatch_ready, zone
):
    before = _counts()
    response = post_interaction(_with("customer.timezone", zone))
    assert response.status_code == 400
    assert _named(response) == ["customer.timezone"]
    assert _counts() == before


@pytest.mark.parametrize(
    "zone", ["America/Argentina/Buenos_Aires", "Europe/London", "Asia/Hong_Kong", "PRC"]
)
def test_a_customer_zone_that_is_a_place_is_stored(post_interaction, dispatch_ready, zone):
    assert post_interaction(_with("customer.timezone", zone)).status_code == 201
    assert db.session.scalar(sa.select(Customer.timezone)) == zone


@pytest.mark.parametrize("zone", ["America", "Factory", "posixrules", "right/UTC", "Etc/UTC"])
def test_the_banks_default_zone_follows_the_same_rule(app, zone):
    _values, errors = settings_form.validate({"default_timezone": zone})
    assert "default_timezone" in errors
    _values, errors = settings_form.validate({"default_timezone": "Asia/Hong_Kong"})
    assert "default_timezone" not in errors


# Plausible times


@pytest.mark.parametrize(
    "at",
    [
        "1900-01-01T00:00:00+08:00",
        "1999-12-31T23:59:59+00:00",
        "2000-01-01T07:59:59+08:00",  # 23:59:59 UTC the day before the floor
        "2999-01-01T00:00:00+08:00",
        (NOW + timedelta(days=1, seconds=1)).isoformat(),
    ],
)
@pytest.mark.parametrize("field", ["occurred_at", "complaint.opened_at", "complaint.resolved_at"])
def test_a_time_outside_the_plausible_window_is_a_400_naming_the_field(
    post_interaction, dispatch_ready, at, field
):
    before = _counts()
    body = interaction_body(type="complaint", team="personal-complaints", complaint=dict(COMPLAINT))
    response = post_interaction(_with(field, at, body))
    assert response.status_code == 400
    assert _named(response) == [field]
    message = response.get_json()["errors"][0]["message"]
    assert "2000-01-01" in message
    assert _counts() == before


@pytest.mark.parametrize("at", ["2000-01-01T00:00:00+00:00", (NOW + timedelta(days=1)).isoformat()])
def test_the_edges_of_the_plausible_window_are_accepted(post_interaction, dispatch_ready, at):
    assert post_interaction(interaction_body(occurred_at=at)).status_code == 201


def test_the_window_moves_with_the_one_clock(post_interaction, dispatch_ready):
    ahead = (NOW + timedelta(days=3)).isoformat()
    assert post_interaction(interaction_body(occurred_at=ahead)).status_code == 400
    clock.advance(timedelta(days=2))
    assert post_interaction(interaction_body(occurred_at=ahead)).status_code == 201


# Control characters


@pytest.mark.parametrize(
    "field, value, shown",
    [
        ("customer.name", "王\t芳", "U+0009"),
        ("customer.name", "王芳\n", "U+000A"),
        ("customer.name", "\x1b[31m王芳", "U+001B"),
        ("customer.name", "王\x85芳", "U+0085"),
        ("customer.name", "王\u2028芳", "U+2028"),
        ("agent", "A10\r42", "U+000D"),
        ("external_id", "CALL\x7f1", "U+007F"),
        ("customer.external_id", "C-\x00", "U+0000"),
        ("team", "personal-inquiries\t", "U+0009"),
    ],
)
def test_control_characters_are_a_400_that_says_which(
    post_interaction, dispatch_ready, field, value, shown
):
    before = _counts()
    response = post_interaction(_with(field, value))
    assert response.status_code == 400
    assert _named(response) == [field]
    assert shown in response.get_json()["errors"][0]["message"]
    assert _counts() == before


# Body size


def _padded(size: int) -> bytes:
    """Return a valid body of exactly ``size`` bytes (an unknown field carries the padding)."""
    empty = json.dumps(_with("note", "")).encode()
    return json.dumps(_with("note", "x" * (size - len(empty)))).encode()


def test_a_body_over_64_kb_is_a_413_problem_and_nothing_is_stored(post_interaction, dispatch_ready):
    before = _counts()
    response = _post_raw(post_interaction, _padded(API_MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 413 and "64 KB" in problem["detail"]
    assert _counts() == before


def test_a_body_of_15_mib_is_a_413_problem(post_interaction, dispatch_ready):
    response = _post_raw(post_interaction, b"[" + b"1," * (15 * 2**19) + b"1]")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_a_body_of_exactly_64_kb_is_taken_in(post_interaction, dispatch_ready):
    body = _padded(API_MAX_BODY_BYTES)
    assert len(body) == API_MAX_BODY_BYTES == 64 * 1024
    assert _post_raw(post_interaction, body).status_code == 201


@pytest.mark.parametrize("extra", [1, 100, 2**20])
def test_a_body_streamed_without_its_length_is_held_to_the_same_limit(
    client, api_key, dispatch_ready, extra
):
    before = _counts()
    response = client.post(
        "/api/v1/interactions",
        input_stream=io.BytesIO(_padded(API_MAX_BODY_BYTES + extra)),
        headers={
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        # What a server that reads chunked bodies itself (gunicorn) tells the app.
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert _counts() == before


def test_a_body_streamed_without_its_length_within_the_limit_is_taken_in(
    client, api_key, dispatch_ready
):
    response = client.post(
        "/api/v1/interactions",
        input_stream=io.BytesIO(_padded(API_MAX_BODY_BYTES)),
        headers={
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 201


def test_the_rest_of_the_app_keeps_its_own_body_limit(app, client):
    # A 100 KB form to the sign-in page is no API body: it is read, not refused as too large.
    response = client.post("/auth/login", data={"email": "a@example.cn", "password": "x" * 100_000})
    assert response.status_code != 413
