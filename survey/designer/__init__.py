"""Survey builder and dispatch rules, for managers (quality staff may look)."""

from flask import Blueprint

bp = Blueprint("designer", __name__)

from survey.designer import previews, questions, rules, surveys, versions  # noqa: E402,F401
