"""Export jobs: prepare a large responses export in the background, watch it, download it.

Only the person who asked (and admins) may see a job or download its file; every
request for one and every download is in the audit trail.
"""

from __future__ import annotations

from flask import Response, abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey.auth.service import role_required
from survey.dashboard import bp
from survey.dashboard.exports import TYPES, render_export_page
from survey.exports import jobs as service
from survey.extensions import db
from survey.i18n import current_language
from survey.models import ExportJob
from survey.scoring import queries


@bp.route("/export/responses/prepare", methods=["POST"])
@role_required("admin", "manager", "quality")
def prepare_export():
    """Record a responses export for the filters, to be written by a worker; go to its page."""
    fmt = request.form.get("format", "")
    args = {k: v for k, v in request.form.items() if k not in ("format", "csrf_token", "lang")}
    args.pop("group_by", None)
    args.pop("compare", None)
    errors: list[dict[str, str]] = []
    if fmt not in TYPES:
        errors.append({"field": "format", "message": _("Choose CSV or XLSX.")})
    try:
        query = queries.parse(args)
    except queries.QueryError as error:
        errors += error.errors
    if errors:
        return render_export_page(args, errors, 400)
    job = service.prepare(current_user._get_current_object(), query, fmt, current_language())
    # The language goes on in the address, as the form's own action carried it: a session
    # cookie overwritten by a slower response of the page before must not switch it.
    return redirect(url_for("dashboard.export_job", export_id=job.id, lang=job.language), 303)


def _job(job_id: int) -> ExportJob:
    """The job, if this person may see it; anyone else is told it does not exist."""
    job = db.session.get(ExportJob, job_id)
    if job is None or not service.visible_to(current_user, job):
        abort(404)
    return job


@bp.route("/export/jobs/<int:export_id>")
@role_required("admin", "manager", "quality")
def export_job(export_id: int):
    """Show an export's progress while a worker writes it, then its download link."""
    return _job_page(_job(export_id))


def _job_page(job: ExportJob, status: int = 200) -> Response:
    page = render_template(
        "dashboard/export_job.html",
        job=job,
        progress=service.progress_of(job),
        ready=service.download_path(job) is not None,
        jobs=service.recent_jobs(current_user),
        keep_hours=service.KEEP_HOURS,
    )
    return Response(page, status=status)


@bp.route("/export/jobs/<int:export_id>.json")
@role_required("admin", "manager", "quality")
def export_job_progress(export_id: int):
    """Answer the progress bar's poll: rows written of rows to write, and the state."""
    return jsonify(service.progress_of(_job(export_id)))


@bp.route("/export/jobs/<int:export_id>/download")
@role_required("admin", "manager", "quality")
def export_job_download(export_id: int):
    """Send the finished file (audited); an expired or unfinished one gets the job page."""
    job = _job(export_id)
    path = service.download_path(job)
    if path is None:
        # Gone once it has expired (or its file is missing); not there yet while it runs.
        return _job_page(job, 410 if job.state in ("done", "expired") else 409)
    service.record_download(current_user._get_current_object(), job)
    return send_file(
        path,
        mimetype=TYPES[job.format],
        as_attachment=True,
        download_name=job.download_name,
        max_age=0,
    )
