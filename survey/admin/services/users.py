"""Staff accounts as the admin keeps them: invite, role, deactivate, one-time password links."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey import audit, clock, settings
from survey.auth import service as auth_service
from survey.channels import smtp
from survey.extensions import db
from survey.models import PasswordLink, User
from survey.models.user import ROLES

INVITE_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=24)


class UserError(ValueError):
    """An account change the admin asked for that cannot be made; the message says why."""


def _snapshot(user: User) -> dict[str, object]:
    return {"email": user.email, "name": user.name, "role": user.role, "active": user.active}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def list_users() -> list[User]:
    """Return every account, active ones first, then by e-mail address."""
    return list(db.session.scalars(sa.select(User).order_by(User.active.desc(), User.email)))


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def _active_admins() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(User.role == "admin", User.active.is_(True))
    )


def _issue_link(user: User, purpose: str, actor: User) -> str:
    """Replace the user's open links with a new one and return its token (shown once)."""
    now = clock.now()
    for link in db.session.scalars(
        sa.select(PasswordLink).where(
            PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None)
        )
    ):
        link.used_at = now  # an older link stops working when a new one is made
    token = secrets.token_urlsafe(32)  # 256 random bits
    lifetime = INVITE_LIFETIME if purpose == "invite" else RESET_LIFETIME
    db.session.add(
        PasswordLink(
            user_id=user.id,
            purpose=purpose,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + lifetime,
            created_by_id=actor.id,
        )
    )
    return token


def invite(
    actor: User, email: str, role: str, name: str = "", locale: str | None = None
) -> tuple[User, str]:
    """Create an account without a password; return it and the token of its set-password link.

    ``locale`` is the language of their pages and of the e-mail that brings the link.
    """
    email = email.strip().lower()
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise UserError(_l("An account with this e-mail address exists already."))
    if role not in ROLES:
        raise UserError(_l("Choose one of the roles."))
    try:
        user = auth_service.create_user(
            email, role, None, name=name.strip(), locale=locale if locale in ("zh", "en") else None
        )
    except auth_service.AccountError as error:
        raise UserError(_l("Enter a valid e-mail address.")) from error
    db.session.flush()
    token = _issue_link(user, "invite", actor)
    audit.record(actor, "user.invite", "user", user.id, None, _snapshot(user))
    return user, token


def create_with_password(
    actor: User | str, email: str, role: str, password: str, name: str = ""
) -> User:
    """Create an account that can sign in at once (the command line's way), on record.

    Raises ``auth_service.AccountError`` when the address, role or password will not do.
    """
    user = auth_service.create_user(email, role, password, name=name)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id, None, _snapshot(user))
    return user


def change_role(actor: User, user: User, role: str) -> None:
    """Give the user another role; the last active admin keeps theirs."""
    if role not in ROLES:
        raise UserError(_l("Choose one of the roles."))
    if role == user.role:
        return
    if user.role == "admin" and user.active and _active_admins() <= 1:
        raise UserError(_l("This is the only active admin: make another admin first."))
    audit.record(actor, "user.role", "user", user.id, {"role": user.role}, {"role": role})
    user.role = role


def deactivate(actor: User, user: User) -> None:
    """Stop the user signing in; their open sessions end on their next request."""
    if user.id == actor.id:
        raise UserError(_l("You cannot deactivate your own account."))
    if not user.active:
        return
    if user.role == "admin" and _active_admins() <= 1:
        raise UserError(_l("This is the only active admin: make another admin first."))
    user.active = False
    user.session_version += 1
    audit.record(actor, "user.deactivate", "user", user.id, {"active": True}, {"active": False})


def reactivate(actor: User, user: User) -> None:
    """Let a deactivated user sign in again with their password."""
    if user.active:
        return
    user.active = True
    audit.record(actor, "user.reactivate", "user", user.id, {"active": False}, {"active": True})


def reset_password(actor: User, user: User) -> str:
    """Make a new one-time set-password link for the user and return its token."""
    if not user.active:
        raise UserError(_l("Reactivate the account before making a password link."))
    token = _issue_link(user, "reset", actor)
    audit.record(actor, "user.password_link", "user", user.id, None, {"purpose": "reset"})
    return token


def open_link(token: str) -> PasswordLink | None:
    """Return the link for a token if it can still be used: unused, unexpired, account active."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(
        sa.select(PasswordLink).where(PasswordLink.token_hash == _digest(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= clock.now():
        return None
    if not link.user.active:
        return None
    return link


def set_password_from_link(link: PasswordLink, password: str) -> User:
    """Set the password through a link, which is then spent; the user's other sessions end.

    Raises ``auth_service.AccountError`` when the password does not meet the policy.
    """
    auth_service.check_password_policy(password)
    user = link.user
    user.set_password(password)
    user.session_version += 1
    link.used_at = clock.now()
    audit.record(user, "user.password_set", "user", user.id, None, {"purpose": link.purpose})
    return user


def has_password(user: User) -> bool:
    return bool(user.password_hash)


@dataclass(frozen=True)
class LinkMail:
    """How e-mailing a set-password link went; ``error`` says why it did not arrive."""

    sent: bool
    error: str | None = None


def links_are_emailed() -> bool:
    """Whether set-password links go out by e-mail here (SMTP is configured)."""
    return smtp.mail_configured()


def link_url(token: str) -> str:
    """Return the absolute set-password address of a link's token."""
    return current_app.config["SURVEY_PUBLIC_URL"] + url_for("account.set_password", token=token)


def email_link(user: User, token: str, purpose: str) -> LinkMail | None:
    """E-mail the user their set-password link in their language; None when no e-mail is sent.

    Without SMTP the admin passes the link on, as before; a failed send is reported, not
    raised, so the admin can still hand the link over.
    """
    if not links_are_emailed():
        return None
    link = open_link(token)
    if link is None:
        return LinkMail(sent=False, error=_("the link no longer works"))
    lang = (
        user.locale if user.locale in ("zh", "en") else current_app.config["BABEL_DEFAULT_LOCALE"]
    )
    with force_locale(lang):
        subject, text = _link_mail(user, link_url(token), link.expires_at, purpose, lang)
    result = smtp.send_staff_mail(user.email, subject, text, lang)
    return LinkMail(sent=True) if result.ok else LinkMail(sent=False, error=result.error)


def _link_mail(
    user: User, url: str, expires_at: datetime, purpose: str, lang: str
) -> tuple[str, str]:
    bank = settings.get(f"bank_name_{lang}")
    zone = user.timezone or settings.get("default_timezone")
    until = f"{expires_at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"
    if purpose == "invite":
        subject = _("%(bank)s satisfaction surveys: choose your password", bank=bank)
        opening = _(
            "%(bank)s has made you an account on its satisfaction survey platform. "
            "Choose your password with this link:",
            bank=bank,
        )
    else:
        subject = _("%(bank)s satisfaction surveys: your new password link", bank=bank)
        opening = _(
            "A new password link has been made for your account on the satisfaction survey "
            "platform of %(bank)s. Choose your password with it:",
            bank=bank,
        )
    lines = [
        _("Hello %(name)s,", name=user.name or user.email),
        "",
        opening,
        "",
        url,
        "",
        _("The link works once, until %(time)s.", time=until),
        _("If you did not expect this e-mail, ignore it: nothing changes until the link is used."),
        "",
        bank,
    ]
    return subject, "\n".join(lines)
