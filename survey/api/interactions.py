"""API: interactions posted by the bank's systems."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from survey.api import bodies, bp, fast, results, schemas
from survey.auth.service import api_key_required
from survey.dispatch import cases, intake
from survey.errors import problem


@bp.post("/interactions")
@api_key_required("interactions")
def post_interaction():
    """Take in one interaction and say whether its customer gets a survey."""
    try:
        body = bodies.read_json(request)
    except bodies.BodyProblem as refused:
        return problem(refused.status, refused.title, refused.detail, errors=refused.errors)
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
    except cases.CaseConflict as conflict:
        return problem(
            409,
            _("Conflict"),
            _(
                "This post contradicts its complaint case as recorded; nothing was stored. "
                "A case's recorded times are not changed and a case is not reopened."
            ),
            errors=[{"field": p.field, "message": p.message} for p in conflict.problems],
        )
    response = jsonify(results.interaction_result(outcome))
    response.status_code = 201 if outcome.created else 200
    fast.offer(request.environ)
    return response
