"""Admin pages for importing agents from CSV, and the progress of each import."""

from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from survey.admin import bp, forms
from survey.admin.services import agent_import as service
from survey.auth.service import role_required
from survey.extensions import db
from survey.models import ImportJob


def _wants_json() -> bool:
    # The page's script sends the file itself, to show the upload's progress.
    return request.headers.get("X-Requested-With") == "fetch"


@bp.route("/org/agents/import", methods=["GET", "POST"])
@role_required("admin")
def import_agents_page():
    """Upload a CSV file of agents; a file that cannot be read is refused beside the field."""
    form = forms.AgentImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            job = service.submit(
                current_user._get_current_object(), upload.read(), upload.filename or ""
            )
        except service.FileProblem as problem:
            db.session.rollback()
            form.file.errors.append(str(problem))
        else:
            target = url_for("admin.import_job", job_id=job.id)
            return jsonify(location=target) if _wants_json() else redirect(target, 303)
    status = 400 if form.errors else 200
    if _wants_json():
        return jsonify(html=render_template("admin/org/_import_form.html", form=form)), status
    return render_template("admin/org/import.html", form=form, jobs=service.recent_jobs()), status


@bp.route("/org/imports/<int:job_id>")
@role_required("admin")
def import_job(job_id: int):
    """Show an import's progress while it runs, then what it added and each row it refused."""
    job = db.session.get(ImportJob, job_id) or abort(404)
    return render_template(
        "admin/org/import_job.html",
        job=job,
        progress=service.progress_of(job),
        row_error_text=service.row_error_text,
    )


@bp.route("/org/imports/<int:job_id>.json")
@role_required("admin")
def import_job_progress(job_id: int):
    """Answer the progress bar's poll: rows done of rows in the file, and the state."""
    job = db.session.get(ImportJob, job_id) or abort(404)
    return jsonify(service.progress_of(job))
