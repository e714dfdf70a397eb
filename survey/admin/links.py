"""The public page behind a one-time set-password link (an invitation or a reset)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from survey.admin import forms
from survey.admin.services import users as service
from survey.auth.service import AccountError
from survey.extensions import db

bp = Blueprint("account", __name__)


@bp.route("/account/password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Let the holder of a one-time link choose their password, then send them to sign in."""
    link = service.open_link(token)
    if link is None:
        message = _(
            "This link does not work any more: it was used already, it expired, or a newer one "
            "was made. Ask your administrator for a new link."
        )
        return render_template("error.html", status=410, message=message), 410
    form = forms.SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = service.set_password_from_link(link, form.password.data)
        except AccountError:
            form.password.errors.append(_("A password needs at least 10 characters."))
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()  # whoever was signed in here, the link's owner now signs in
            flash(_("Your password is set. Sign in with it now."), "success")
            return redirect(url_for("auth.login", email=user.email))
    return render_template(
        "admin/set_password.html", form=form, user=link.user, purpose=link.purpose
    )
