"""API keys as the admin keeps them: create (the key is shown once), list, revoke."""

from __future__ import annotations

import sqlalchemy as sa

from survey import audit, clock
from survey.auth import service as auth_service
from survey.extensions import db
from survey.models import ApiKey, User


def _snapshot(row: ApiKey) -> dict[str, object]:
    return {"name": row.name, "prefix": row.prefix, "scopes": row.scopes.split(",")}


def list_keys() -> list[ApiKey]:
    """Return every key, live ones first, newest first."""
    return list(
        db.session.scalars(
            sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        )
    )


def get_key(key_id: int) -> ApiKey | None:
    return db.session.get(ApiKey, key_id)


def create(actor: User | str, name: str, scopes: tuple[str, ...]) -> tuple[ApiKey, str]:
    """Create a key; return the row and the key itself, which is never stored or shown again."""
    row, key = auth_service.create_api_key(name, scopes)
    db.session.flush()
    audit.record(actor, "apikey.create", "api_key", row.id, None, _snapshot(row))
    return row, key


def revoke(actor: User, row: ApiKey) -> None:
    """Refuse the key: its next request here gets 401, other web processes refuse it within
    auth.service.API_KEY_CACHE_SECONDS (they keep a key they read that long)."""
    if row.revoked_at is not None:
        return
    row.revoked_at = clock.now()
    audit.record(actor, "apikey.revoke", "api_key", row.id, {"revoked": False}, {"revoked": True})
    # This process refuses it from the next request; the others within the cache's bound.
    auth_service.forget_api_keys()
