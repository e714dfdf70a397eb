"""Dashboard views: thin, they ask scoring services and render."""

from flask import render_template

from survey.auth.service import role_required
from survey.dashboard import bp


@bp.route("/")
@role_required("admin", "manager", "quality")
def home():
    """Show the overview of satisfaction scores."""
    return render_template("dashboard/home.html")
