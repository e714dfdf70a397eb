"""API: complaint cases against the bank's commitments, on the scores' days and filters."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from survey import settings
from survey.api import bp
from survey.auth.service import api_key_required
from survey.errors import problem
from survey.scoring import complaint_cases, complaints, queries


@bp.get("/complaints")
@api_key_required("scores")
def get_complaints():
    """Return the complaint cases opened in a range of days: types, causes, commitments, satisfaction."""
    try:
        query = complaint_cases.parse(request.args.to_dict())
    except queries.QueryError as error:
        return problem(
            400,
            _("Invalid query"),
            _("Some parameters are wrong; see errors."),
            errors=error.errors,
        )
    found = complaint_cases.report(query, int(settings.get("min_n")))
    return jsonify(complaints.as_json(found))
