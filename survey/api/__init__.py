"""The JSON API v1 and its OpenAPI document."""

from flask import Blueprint, request

from survey.api import bodies
from survey.errors import problem

bp = Blueprint("api", __name__)


@bp.before_request
def _limit_body():
    """Refuse a body over the API's limit before anything reads it; the rest of the app keeps its own."""
    bodies.limit_body(request)
    if request.content_length is not None and request.content_length > bodies.API_MAX_BODY_BYTES:
        refused = bodies.too_large()
        return problem(refused.status, refused.title, refused.detail)
    return None


from survey.api import (  # noqa: E402,F401
    complaints,
    docs,
    drivers,
    funnel,
    interactions,
    invitations,
    scores,
)
