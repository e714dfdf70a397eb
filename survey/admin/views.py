"""Administration views."""

from flask import render_template

from survey.admin import bp
from survey.auth.service import role_required


@bp.route("/dev/outbox")
@role_required("admin")
def outbox():
    """Show what the outbox channel sent, newest first."""
    return render_template("error.html", status=200, message="outbox")
