"""The sends nobody can confirm ("may not have been sent"), and the choice to send one again."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey.admin import bp, forms
from survey.admin.services import undelivered as service
from survey.auth.service import role_required
from survey.extensions import db
from survey.paging import requested_page

PER_PAGE = 50


@bp.route("/undelivered")
@role_required("admin")
def undelivered():
    """List the invitations that may not have been sent, each with a way to send it again."""
    page = db.paginate(service.listing(), page=requested_page(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/undelivered.html", page=page, form=forms.ActionForm())


@bp.route("/undelivered/<int:delivery_id>/send-again", methods=["POST"])
@role_required("admin")
def send_again(delivery_id: int):
    """Send an invitation in doubt once more, as the administrator decided."""
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    invitation = service.send_again(current_user._get_current_object(), delivery_id)
    if invitation is None:
        flash(
            _(
                "That invitation no longer awaits a decision: it was sent again, answered or expired."
            ),
            "error",
        )
    else:
        flash(
            _(
                "Invitation %(id)d is being sent again; it leaves this list, and the audit trail "
                "records your decision.",
                id=invitation.id,
            ),
            "success",
        )
    return redirect(url_for("admin.undelivered"))
