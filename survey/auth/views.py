"""Sign-in, sign-out, password change, and the signed-in user's language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError

from survey import busy, i18n
from survey.auth import bp, forms, service, sessions
from survey.extensions import db, limiter
from survey.models import User


def _safe_next(target: str | None) -> str | None:
    """Accept only a path on this site as a place to return to after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read "/\evil.example" as "//evil.example"; control characters hide the same trick.
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _sign_in_failed(response: Response) -> bool:
    """Count a sign-in POST against the limit unless it signed someone in."""
    return response.status_code != 302


def _submitted_email() -> str:
    return (request.form.get("email") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
# Ten failed attempts a minute from one address, or against one account, then 429; and an
# account is locked for the rest of the hour after 30 failed attempts in an hour, so a slow
# guesser (ten a minute, from many addresses) gets 30 guesses an hour, not 600.
@limiter.limit("10 per minute;100 per hour", methods=["POST"], deduct_when=_sign_in_failed)
@limiter.limit(
    "10 per minute;30 per hour",
    methods=["POST"],
    key_func=_submitted_email,
    scope="login-account",
    deduct_when=_sign_in_failed,
)
def login():
    """Sign a staff member in."""
    target = _safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target or url_for("dashboard.home"))
    form = forms.LoginForm()
    if form.validate_on_submit():
        user = busy.retry_when_busy(lambda: _sign_in(form.email.data, form.password.data))
        if user is None:
            form.password.errors.append(_("E-mail address or password is wrong."))
        else:
            sessions.start(user)
            return redirect(target or url_for("dashboard.home"))
    return render_template("auth/login.html", form=form)


def _sign_in(email: str, password: str) -> User | None:
    """Check the credentials and record the sign-in; one unit, so a busy database can redo it."""
    user = service.authenticate(email, password)
    db.session.commit()  # the sign-in, or the failed attempt, in the audit trail
    return user


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign the current user out."""
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Let a signed-in user change their password; their other sessions end."""
    form = forms.PasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(current_user, form.current.data, form.new.data)
        except service.WrongPassword:
            form.current.errors.append(_("This is not your current password."))
        except service.AccountError:
            form.new.errors.append(_("A password needs at least 10 characters."))
        else:
            db.session.commit()
            # This session carries the new session version (the user, not the proxy to it).
            login_user(current_user._get_current_object())
            flash(_("Your password is changed."), "success")
            return redirect(url_for("dashboard.home"))
    return render_template("auth/password.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Show the signed-in user's account and let them choose their language."""
    form = forms.ProfileForm(locale=current_user.locale or i18n.chosen_language() or "zh")
    if form.validate_on_submit():
        service.set_locale(current_user, form.locale.data)
        db.session.commit()
        i18n.remember(form.locale.data)
        flash(_("Your language is saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


@bp.app_errorhandler(CSRFError)
def csrf_refused(error: CSRFError):
    """Refuse a form sent without this site's token, saying what to do about it."""
    message = _(
        "This form was sent without a valid security token (it may have been open too long, "
        "or come from another site). Nothing was changed. Please reload the page and try again."
    )
    return render_template("error.html", status=400, message=message), 400
