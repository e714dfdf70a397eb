"""The JSON API v1 and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from survey.api import docs, interactions, invitations, scores  # noqa: E402,F401
