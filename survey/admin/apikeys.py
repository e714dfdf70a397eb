"""Admin pages for the API keys other systems use: list, create (shown once), revoke."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey.admin import bp, forms
from survey.admin.services import apikeys as service
from survey.auth import service as auth_service
from survey.auth.service import AccountError, role_required
from survey.extensions import db


@bp.route("/api-keys")
@role_required("admin")
def api_keys():
    """List every API key: name, prefix, scopes, when made, last used, revoked."""
    return render_template(
        "admin/apikeys/list.html", keys=service.list_keys(), form=forms.ActionForm()
    )


@bp.route("/api-keys/new", methods=["GET", "POST"])
@role_required("admin")
def new_api_key():
    """Create an API key and show it this once."""
    form = forms.ApiKeyForm()
    if form.validate_on_submit():
        try:
            row, key = service.create(
                current_user._get_current_object(), form.name.data, tuple(form.scopes.data)
            )
        except AccountError:
            form.scopes.errors.append(_("Choose at least one."))
        else:
            db.session.commit()
            return render_template("admin/apikeys/created.html", row=row, key=key)
    return render_template("admin/apikeys/new.html", form=form)


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke_api_key(key_id: int):
    """Revoke an API key: its next request is refused."""
    row = service.get_key(key_id) or abort(404)
    if forms.ActionForm().validate_on_submit():
        service.revoke(current_user._get_current_object(), row)
        db.session.commit()
        # Again after the commit: a request of another thread may have read it live meanwhile.
        auth_service.forget_api_keys()
        # Here at once; other web processes keep a key they read for a few seconds.
        flash(
            _(
                "The key “%(name)s” is revoked; every server refuses requests with it "
                "within %(seconds)d seconds.",
                name=row.name,
                seconds=auth_service.API_KEY_CACHE_SECONDS,
            ),
            "success",
        )
    return redirect(url_for("admin.api_keys"))
