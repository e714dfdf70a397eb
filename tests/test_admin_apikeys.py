"""Admins create API keys (shown once), see when they were last used, and revoke them."""

from __future__ import annotations

import re

import sqlalchemy as sa

from survey.extensions import db
from survey.models import ApiKey


def _create(client, name="Call centre", scopes=("interactions", "scores")) -> str:
    response = client.post("/admin/api-keys/new", data={"name": name, "scopes": list(scopes)})
    assert response.status_code == 200
    match = re.search(
        r'id="api-key" type="text" readonly value="([^"]+)"', response.get_data(as_text=True)
    )
    assert match
    return match.group(1)


def test_a_new_key_is_shown_once_with_its_scopes_and_recorded(admin_client, audit_log):
    key = _create(admin_client, scopes=("scores",))
    row = db.session.scalar(sa.select(ApiKey))
    assert row.scopes == "scores" and key.startswith(row.prefix)
    listing = admin_client.get("/admin/api-keys", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Call centre" in listing and row.prefix in listing and key not in listing
    assert "Read scores" in listing and "never" in listing
    (event,) = audit_log("apikey.create")
    assert event.after == {"name": "Call centre", "prefix": row.prefix, "scopes": ["scores"]}


def test_a_key_needs_a_name_and_a_scope(admin_client):
    response = admin_client.post(
        "/admin/api-keys/new", data={"name": ""}, headers={"Accept-Language": "en"}
    )
    page = response.get_data(as_text=True)
    assert "Give the key a name." in page and "Choose at least one." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


def test_a_revoked_key_is_refused_at_once(app, api_probe, admin_client, audit_log):
    key = _create(admin_client)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    assert api.get(api_probe, headers=bearer).status_code == 200
    listing = admin_client.get("/admin/api-keys", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "never" not in listing, "the list shows when the key was last used"
    row = db.session.scalar(sa.select(ApiKey))
    revoked = admin_client.post(
        f"/admin/api-keys/{row.id}/revoke", headers={"Accept-Language": "en"}, follow_redirects=True
    )
    # Other web processes keep a key they read for a few seconds: the page says so.
    assert "every server refuses requests with it within 5 seconds" in revoked.get_data(
        as_text=True
    )
    refused = api.get(api_probe, headers=bearer)
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    (event,) = audit_log("apikey.revoke")
    assert event.after == {"revoked": True}


def test_a_new_key_starts_with_no_scope_chosen_and_asks_for_one_in_chinese(admin_client):
    form = admin_client.get("/admin/api-keys/new").get_data(as_text=True)
    assert "checked" not in form
    response = admin_client.post(
        "/admin/api-keys/new", data={"name": "呼叫中心"}, headers={"Accept-Language": "zh"}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Choose at least one." not in page and "至少" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0
