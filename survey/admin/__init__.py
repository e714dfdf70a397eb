"""Administration: users, API keys, organisation, settings, audit, /dev/outbox."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from survey.admin import outbox, views  # noqa: E402,F401
