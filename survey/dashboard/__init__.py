"""Scores, charts, comments, follow-ups and exports, for quality staff."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from survey.dashboard import actions, export_jobs, exports, report, views  # noqa: E402,F401
