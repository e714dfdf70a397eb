"""API: the response funnel per survey channel, read from its own rollup."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from survey.api import bp
from survey.auth.service import api_key_required
from survey.errors import problem
from survey.funnel import report
from survey.scoring import queries


@bp.get("/funnel")
@api_key_required("scores")
def get_funnel():
    """Return invited → sent → delivered → opened → started → completed per survey channel."""
    try:
        query = report.parse(request.args)
    except queries.QueryError as error:
        return problem(
            400,
            _("Invalid query"),
            _("Some parameters are wrong; see errors."),
            errors=error.errors,
        )
    return jsonify(report.funnel(query))
