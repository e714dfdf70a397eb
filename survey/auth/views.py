"""Sign-in, sign-out, password change."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from survey.auth import bp, forms, service
from survey.extensions import db, limiter


def _safe_next(target: str | None) -> str | None:
    """Accept only local paths as a place to return to after sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    """Sign a staff member in."""
    form = forms.LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("E-mail address or password is wrong."))
        else:
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("dashboard.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign the current user out."""
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Let a signed-in user change their password."""
    form = forms.PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            try:
                service.check_password_policy(form.new.data)
            except service.AccountError:
                form.new.errors.append(_("A password needs at least 10 characters."))
            else:
                current_user.set_password(form.new.data)
                current_user.session_version += 1
                db.session.commit()
                login_user(current_user)
                flash(_("Your password is changed."), "success")
                return redirect(url_for("dashboard.home"))
    return render_template("auth/password.html", form=form)
