"""API keys: hashed at rest, shown once, Bearer-only, scoped, revocable, and their use recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.auth import service
from survey.extensions import db
from survey.models import ApiKey

NOON = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


def _key(name: str = "CRM", scopes: tuple[str, ...] = ("interactions", "scores")) -> str:
    _row, key = service.create_api_key(name, scopes)
    db.session.commit()
    return key


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _row(name: str = "CRM") -> ApiKey:
    db.session.expire_all()
    return db.session.scalar(sa.select(ApiKey).where(ApiKey.name == name))


def test_a_valid_key_is_let_through(client, api_probe):
    key = _key()
    response = client.get(api_probe, headers=_bearer(key))
    assert response.status_code == 200
    assert response.get_json() == {"key": "CRM"}


def test_the_key_is_stored_only_as_a_hash(app):
    key = _key()
    row = _row()
    assert key.startswith("sk_") and len(key) >= 40
    assert row.key_hash != key and key not in (row.key_hash, row.prefix, row.name)
    assert key.startswith(row.prefix) and len(row.prefix) < 16


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer sk_not-a-key-we-ever-made"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["no-header", "empty", "unknown-key", "basic-auth"],
)
def test_a_request_without_a_valid_key_gets_401_problem_json(client, api_probe, headers):
    _key()
    response = client.get(api_probe, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["status"] == 401 and body["title"] and body["detail"]


def test_the_bearer_scheme_name_is_case_insensitive(client, api_probe):
    key = _key()
    assert client.get(api_probe, headers={"Authorization": f"bearer {key}"}).status_code == 200


def test_a_revoked_key_gets_401(client, api_probe):
    key = _key()
    _row().revoked_at = clock.now()
    db.session.commit()
    response = client.get(api_probe, headers=_bearer(key))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_key_revoked_by_another_process_is_refused_within_the_cache_bound(app, client, api_probe):
    key = _key()
    clock.freeze(NOON)
    assert client.get(api_probe, headers=_bearer(key)).status_code == 200
    # Revoked as another web worker would: straight in the database, this process not told.
    with db.engine.begin() as other:
        other.execute(sa.update(ApiKey).values(revoked_at=NOON))
    clock.advance(timedelta(seconds=service.API_KEY_CACHE_SECONDS))
    response = client.get(api_probe, headers=_bearer(key))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_key_revoked_in_this_process_is_refused_at_once_though_cached(app, client, api_probe):
    key = _key()
    clock.freeze(NOON)
    assert client.get(api_probe, headers=_bearer(key)).status_code == 200
    _row().revoked_at = NOON
    db.session.commit()
    service.forget_api_keys()  # what the admin's revoke does after its commit
    assert client.get(api_probe, headers=_bearer(key)).status_code == 401


def test_a_key_without_the_scope_gets_403_problem_json(client, api_probe):
    key = _key(scopes=("interactions",))
    response = client.get(api_probe, headers=_bearer(key))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "scores" in response.get_json()["detail"]


def test_last_use_is_recorded_to_the_minute(client, api_probe):
    key = _key()
    assert _row().last_used_at is None
    clock.freeze(NOON)
    client.get(api_probe, headers=_bearer(key))
    assert _row().last_used_at == NOON
    clock.advance(timedelta(seconds=30))  # within the minute: no write for every call
    client.get(api_probe, headers=_bearer(key))
    assert _row().last_used_at == NOON
    clock.advance(timedelta(seconds=31))
    client.get(api_probe, headers=_bearer(key))
    assert _row().last_used_at == NOON + timedelta(seconds=61)


def test_a_refused_request_does_not_count_as_use(client, api_probe):
    key = _key(scopes=("interactions",))
    client.get(api_probe, headers=_bearer(key))
    assert _row().last_used_at is None


def test_unknown_scopes_and_nameless_keys_are_refused(app):
    with pytest.raises(service.AccountError):
        service.create_api_key("CRM", ("everything",))
    with pytest.raises(service.AccountError):
        service.create_api_key("  ")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


INTERACTION = {
    "external_id": "CALL-2026-000123",
    "occurred_at": "2026-11-29T10:15:00+08:00",
    "channel": "phone",
    "type": "inquiry",
    "customer": {"external_id": "C-88231", "phone": "+8613800138000", "locale": "zh"},
}


def test_the_interactions_api_takes_a_valid_key_and_refuses_others(app, client):
    key = _key(scopes=("interactions",))
    assert client.post("/api/v1/interactions", json=INTERACTION).status_code == 401
    scores_only = _key("BI", scopes=("scores",))
    refused = client.post("/api/v1/interactions", json=INTERACTION, headers=_bearer(scores_only))
    assert refused.status_code == 403
    response = client.post("/api/v1/interactions", json=INTERACTION, headers=_bearer(key))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _row().last_used_at is not None


def test_a_missing_or_wrong_key_is_refused_in_the_caller_s_language(client):
    zh = client.get("/api/v1/scores", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 401
    assert zh.mimetype == "application/problem+json"
    assert zh.json["title"] == "未授权"
    assert "API 密钥" in zh.json["detail"] and "Bearer" in zh.json["detail"]
    en = client.get(
        "/api/v1/scores", headers={"Accept-Language": "en", "Authorization": "Bearer nope"}
    )
    assert en.status_code == 401
    assert en.json["title"] == "Unauthorized"
    assert en.headers["WWW-Authenticate"] == 'Bearer realm="survey"'


def test_a_signed_in_staff_member_s_own_language_answers_their_api_call(client, make_user):
    """A browser call with the staff session cookie is answered in the member's setting."""
    from tests.fixtures.access import sign_in

    make_user("admin", "zh-admin@bank.example", locale="zh")
    assert sign_in(client, "zh-admin@bank.example").status_code == 302
    refused = client.get("/api/v1/scores", headers={"Accept-Language": "en"})
    assert refused.status_code == 401
    assert refused.json["title"] == "未授权"
    anonymous = client.application.test_client()
    assert anonymous.get("/api/v1/scores", headers={"Accept-Language": "en"}).json["title"] == (
        "Unauthorized"
    )
