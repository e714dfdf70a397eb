"""Scores, charts, comments, follow-ups and exports, for quality staff."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from survey.dashboard import (  # noqa: E402,F401
    actions,
    export_jobs,
    exports,
    followups,
    report,
    views,
)
