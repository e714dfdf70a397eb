"""API: interactions posted by the bank's systems."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from survey.api import bp, schemas
from survey.auth.service import api_key_required
from survey.dispatch import intake
from survey.errors import problem


@bp.post("/interactions")
@api_key_required("interactions")
def post_interaction():
    """Take in one interaction and say whether its customer gets a survey."""
    body = request.get_json(silent=True)
    if body is None:
        return problem(
            400,
            _("Bad Request"),
            _("The body must be JSON (Content-Type: application/json)."),
            errors=[{"field": "", "message": _("The body must be a JSON object.")}],
        )
    data, errors = schemas.parse_interaction(body)
    if data is None:
        return problem(
            400,
            _("Invalid interaction"),
            _("Some fields are missing or wrong; nothing was stored."),
            errors=[e.as_json() for e in errors],
        )
    try:
        outcome = intake.take_in(data)
    except intake.ReplayConflict:
        return problem(
            409,
            _("Conflict"),
            _(
                "An interaction with this external_id was posted before with a different body; "
                "the first one stands."
            ),
        )
    response = jsonify(schemas.interaction_result(outcome.interaction, outcome.invitation))
    response.status_code = 201 if outcome.created else 200
    return response
