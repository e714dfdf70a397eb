"""Accounts, roles and API keys: the rules of who may do what."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, current_app, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from survey import audit, busy, clock, prepared, stamped
from survey.extensions import db, login
from survey.followup import service as followup_service
from survey.models import ApiKey, User
from survey.models.user import API_SCOPES, ROLES

API_KEY_PREFIX = "sk_"
LANGUAGES = ("zh", "en")
# Writing last_used_at on every call would make each API request a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)

# The role names people see; the codes stay English everywhere else.
ROLE_LABELS = {"admin": _l("admin"), "manager": _l("manager"), "quality": _l("quality")}


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


class WrongPassword(AccountError):
    """The current password given does not match."""


def init_app(app: Flask) -> None:
    login.login_view = "auth.login"
    login.login_message = None  # the login page explains itself
    login.session_protection = "strong"
    app.jinja_env.globals["role_label"] = role_label
    from survey.auth import sessions

    sessions.init_app(app)


def role_label(role: str) -> str:
    """Return the role's name in the current language."""
    return str(ROLE_LABELS.get(role, role))


# The user, with the open follow-up cases they own (the navigation's count) and the config
# stamp (the filter lists and settings every page keeps): one round trip, not three.
_SIGNED_IN_USER = sa.select(User, followup_service.OPEN_CASES_OF_USER, stamped.STAMP_COLUMN).where(
    User.id == sa.bindparam("user_id")
)
# The same statement as plain columns, for the driver's cursor (survey.prepared): every staff
# request runs it first, and SQLAlchemy's ORM execution of it cost more than the database's.
_USER_COLUMNS = tuple(column.key for column in User.__table__.columns)
_SIGNED_IN_ROW = sa.select(
    *User.__table__.columns, followup_service.OPEN_CASES_OF_USER, stamped.STAMP_COLUMN
).where(User.id == sa.bindparam("user_id"))


@login.user_loader
def load_user(session_id: str) -> User | None:
    """Load the signed-in user; a session from before a deactivation or password change ends."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit():
        return None
    row = _signed_in_row(int(user_id))
    if row is None:
        return None
    user, open_cases, stamp = row
    if not user.active or str(user.session_version) != version:
        return None
    # What every staff page's frame reads besides the user, read in the same statement.
    followup_service.read_with_user(user.id, open_cases)
    stamped.read_with(stamp)
    return user


def _signed_in_row(user_id: int) -> tuple[User, int, str | None] | None:
    """The user (in the session, as a query would leave it), their open cases, the config stamp.

    At the start of a request the session holds nothing: the row is read on the driver's
    cursor and made the session's loaded ``User`` (``make_transient_to_detached``, then
    ``add``: no write, no history). A session that already holds this user or has changes
    to flush (a test, a CLI command) reads it through the ORM, which keeps what it holds.
    """
    session = db.session()
    identity = sa.inspect(User).identity_key_from_primary_key((user_id,))
    if identity in session.identity_map or session.new or session.dirty or session.deleted:
        return db.session.execute(_SIGNED_IN_USER, {"user_id": user_id}).one_or_none()
    rows = prepared.run_on(session.connection(), _SIGNED_IN_ROW, {"user_id": user_id}).rows
    if not rows:
        return None
    *values, open_cases, stamp = rows[0]
    user = User(**dict(zip(_USER_COLUMNS, values, strict=True)))
    sa.orm.make_transient_to_detached(user)
    session.add(user)
    return user, open_cases, stamp


def create_user(
    email: str, role: str, password: str | None = None, name: str = "", locale: str | None = None
) -> User:
    """Create a staff account; the e-mail address is its sign-in name."""
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise AccountError("an e-mail address is needed")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise AccountError(f"a user {email} exists already")
    user = User(email=email, role=role, name=name, locale=locale)
    if password is not None:
        check_password_policy(password)
        user.set_password(password)
    db.session.add(user)
    return user


def check_password_policy(password: str) -> None:
    """Refuse passwords that are too short to be worth having."""
    if len(password) < 10:
        raise AccountError("a password needs at least 10 characters")


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; every other session of the user ends."""
    if not user.check_password(current):
        raise WrongPassword("the current password is wrong")
    check_password_policy(new)
    user.set_password(new)
    user.session_version += 1
    audit.record(user, "user.password_change", "user", user.id)


def set_locale(user: User, locale: str) -> None:
    """Remember the user's language."""
    if locale not in LANGUAGES:
        raise AccountError(f"language must be one of {', '.join(LANGUAGES)}")
    user.locale = locale


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None; either way, add it to the trail.

    The trail keeps the address tried (and, through ``audit.record``, the IP), never the
    password; the caller commits.
    """
    tried = email.strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == tried))
    if user is None or not user.active or not user.check_password(password):
        reason = "unknown" if user is None else "inactive" if not user.active else "password"
        audit.record(
            tried[:200] or "?",
            "auth.sign_in_failed",
            "user",
            user.id if user else None,
            after={"email": tried[:200], "reason": reason},
        )
        return None
    user.last_login_at = clock.now()
    audit.record(user, "auth.sign_in", "user", user.id, after={"email": user.email})
    return user


def _record_use(key: LiveKey) -> None:
    """Note when a key was last used, at most once a minute, in a short write of its own.

    Committed here: read-only views never commit, and the record must not be lost; and
    at once, so the view's own write transaction does not start this early. One UPDATE
    by id, not a load of the row: the key itself comes from the cache.
    """
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        db.session.execute(_RECORD_USE, {"key_id": key.id, "now": now})
        db.session.commit()
        key.last_used_at = now


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(name: str, scopes: tuple[str, ...] = API_SCOPES) -> tuple[ApiKey, str]:
    """Create an API key; return the row and the key itself, which is shown once and not stored."""
    unknown = set(scopes) - set(API_SCOPES)
    if unknown:
        raise AccountError(f"unknown scopes: {', '.join(sorted(unknown))}")
    if not name.strip():
        raise AccountError("an API key needs a name")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name.strip(), prefix=key[:10], key_hash=_digest(key), scopes=",".join(scopes))
    db.session.add(row)
    return row, key


# Built once, run bound: every API request asks.
_API_KEY_BY_HASH = sa.select(
    ApiKey.id, ApiKey.name, ApiKey.scopes, ApiKey.last_used_at, ApiKey.revoked_at
).where(ApiKey.key_hash == sa.bindparam("key_hash"))
_RECORD_USE = (
    sa.update(ApiKey)
    .where(ApiKey.id == sa.bindparam("key_id"))
    .values(last_used_at=sa.bindparam("now"))
    .execution_options(synchronize_session=False)
)

# How long a process trusts what it read about a key. A key revoked by the admin is
# refused at once by the process that revoked it (``forget_api_keys``), and by every
# other process (the other web workers) within this bound: the cost of a read a request.
API_KEY_CACHE_SECONDS = 5
_CACHE_KEY = "survey.api_keys"


@dataclass
class LiveKey:
    """A live API key as a request needs it: who it is and what it may do."""

    id: int
    name: str
    scopes: frozenset[str]
    last_used_at: datetime | None
    read_at: datetime

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def _key_cache() -> dict[str, LiveKey]:
    return current_app.extensions.setdefault(_CACHE_KEY, {})


def forget_api_keys() -> None:
    """Drop this process's cached keys (a key was revoked here: refuse it from the next request)."""
    _key_cache().clear()


def api_key_for(key: str) -> LiveKey | None:
    """Return the live API key for a presented key, or None.

    Read from the database at most once every ``API_KEY_CACHE_SECONDS`` a key and a
    process; an unknown or revoked key is read every time (nothing is cached for it).
    """
    digest = _digest(key)
    cache = _key_cache()
    now = clock.now()
    cached = cache.get(digest)
    if cached is not None and timedelta(0) <= now - cached.read_at < _CACHE_FOR:
        return cached
    row = db.session.execute(_API_KEY_BY_HASH, {"key_hash": digest}).first()
    if row is None or row.revoked_at is not None:
        cache.pop(digest, None)
        return None
    if len(cache) >= _CACHE_MOST:
        cache.clear()  # keys are few; this only bounds a flood of made-up ones that matched
    live = cache[digest] = LiveKey(
        row.id, row.name, frozenset(row.scopes.split(",")), row.last_used_at, now
    )
    return live


_CACHE_FOR = timedelta(seconds=API_KEY_CACHE_SECONDS)
_CACHE_MOST = 1000


def role_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only signed-in users with one of these roles through: others sign in, or get 403."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def bearer_key(header: str) -> LiveKey | None:
    """Return the live API key an ``Authorization: Bearer <key>`` header presents, or None."""
    scheme, _sep, key = header.partition(" ")
    return api_key_for(key.strip()) if scheme.lower() == "bearer" and key else None


def note_use(key: LiveKey) -> None:
    """Record that a key was used (at most once a minute), tried again while SQLite is busy."""
    busy.retry_when_busy(lambda: _record_use(key))


def api_key_required(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let through requests with a live Bearer API key that has this scope (401/403 otherwise)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from survey.errors import problem

            row = bearer_key(request.headers.get("Authorization", ""))
            if row is None:
                response = problem(
                    401,
                    _("Unauthorized"),
                    _("A valid API key is needed: Authorization: Bearer <key>."),
                )
                response.headers["WWW-Authenticate"] = 'Bearer realm="survey"'
                return response
            if not row.has_scope(scope):
                return problem(
                    403,
                    _("Forbidden"),
                    _("This API key lacks the '%(scope)s' scope.", scope=scope),
                )
            note_use(row)
            g.api_key = row
            return view(*args, **kwargs)

        return wrapper

    return decorator
