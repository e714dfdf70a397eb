"""Survey builder and dispatch rules, for managers."""

from flask import Blueprint

bp = Blueprint("designer", __name__)

from survey.designer import views  # noqa: E402,F401
