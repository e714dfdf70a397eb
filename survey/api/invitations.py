"""API: invitations, their state and deliveries."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from survey.api import bp, results, schemas
from survey.auth.service import api_key_required
from survey.errors import problem
from survey.extensions import db
from survey.models import Invitation


@bp.get("/invitations/<int:invitation_id>")
@api_key_required("interactions")
def get_invitation(invitation_id: int):
    """Show an invitation's state and its deliveries."""
    # An id past the column's range is not there (and the database would refuse the query).
    invitation = (
        db.session.get(Invitation, invitation_id) if invitation_id <= schemas.MAX_INT else None
    )
    if invitation is None:
        return problem(404, _("Not Found"), _("There is no invitation with this id."))
    return jsonify(results.invitation_detail(invitation))
