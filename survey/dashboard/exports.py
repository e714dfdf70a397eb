"""Export views: score tables and raw responses as CSV or XLSX, for quality staff.

The same filters as GET /api/v1/scores; every export is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask import Response, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

from survey import audit, clock, settings
from survey.auth.service import role_required
from survey.dashboard import bp, comments
from survey.exports import comments as comment_table
from survey.exports import jobs as export_jobs
from survey.exports import tables, writers
from survey.extensions import db
from survey.scoring import complaint_cases, complaints, queries

TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Up to this many responses an XLSX is built in the request; more are prepared by a worker.
DIRECT_XLSX_ROWS = 50_000


@bp.route("/export")
@role_required("admin", "manager", "quality")
def export_page():
    """Offer the current filters' scores table and responses as CSV and XLSX."""
    return render_export_page(request.args.to_dict(), [])


def render_export_page(query: dict[str, str], errors: list[dict[str, str]], status: int = 200):
    """The export page with its filters, any errors, and the signed-in person's recent exports."""
    page = render_template(
        "dashboard/export.html",
        query=query,
        errors=errors,
        jobs=export_jobs.recent_jobs(current_user),
        keep_hours=export_jobs.KEEP_HOURS,
        direct_xlsx_rows=DIRECT_XLSX_ROWS,
    )
    return Response(page, status=status)


@bp.route("/export/scores.csv", defaults={"fmt": "csv"})
@bp.route("/export/scores.xlsx", defaults={"fmt": "xlsx"})
@role_required("admin", "manager", "quality")
def export_scores(fmt: str):
    """Download the scores table for the filters (as the scores API would group them)."""
    query, problem = _query()
    if problem is not None:
        return problem
    header, rows = tables.score_table(query)
    _record("export.scores", fmt, query)
    return _download(f"scores-{query.date_from}-{query.date_to}", fmt, header, rows, "scores")


@bp.route("/export/complaints.csv", defaults={"fmt": "csv"})
@bp.route("/export/complaints.xlsx", defaults={"fmt": "xlsx"})
@role_required("admin", "manager", "quality")
def export_complaints(fmt: str):
    """Download the complaints page's tables for the filters, one figure a row."""
    args = request.args.to_dict()
    try:
        query = complaint_cases.parse(args)
    except queries.QueryError as error:
        page = render_template("dashboard/export.html", query=args, errors=error.errors)
        return Response(page, status=400)
    figures = complaints.as_json(complaint_cases.report(query, int(settings.get("min_n"))))
    header, rows = tables.complaint_table(figures)
    _record("export.complaints", fmt, query)
    return _download(
        f"complaints-{query.date_from}-{query.date_to}", fmt, header, rows, "complaints"
    )


@bp.route("/export/responses.csv", defaults={"fmt": "csv"})
@bp.route("/export/responses.xlsx", defaults={"fmt": "xlsx"})
@role_required("admin", "manager", "quality")
def export_responses(fmt: str):
    """Download one row per counted response in the filters, with its segment and answers."""
    query, problem = _query(allow_group_by=False)
    if problem is not None:
        return problem
    if fmt == "xlsx" and tables.response_count(query) > DIRECT_XLSX_ROWS:
        # An XLSX is zipped only once complete: this many rows would keep the request waiting
        # for minutes; a worker prepares it instead, with progress (export_jobs.py).
        limit = format(DIRECT_XLSX_ROWS, ",")
        message = _(
            "More than %(n)s responses: prepare the XLSX file in the background below.", n=limit
        )
        return render_export_page(
            request.args.to_dict(), [{"field": "format", "message": message}], 400
        )
    header, keys = tables.response_header(query)
    _record("export.responses", fmt, query)
    rows = tables.response_rows(query, keys)
    return _download(f"responses-{query.date_from}-{query.date_to}", fmt, header, rows, "responses")


@bp.route("/export/comments.csv", defaults={"fmt": "csv"})
@bp.route("/export/comments.xlsx", defaults={"fmt": "xlsx"})
@role_required("admin", "manager", "quality")
def export_comments(fmt: str):
    """Download the comments in the filters (and search), masked, with scores and segment."""
    query, problem = _query(allow_group_by=False, own=comments.PARAMS + ("sort",))
    if problem is not None:
        return problem
    try:
        search = comments.read(request.args.to_dict(), query)
    except comments.CommentError as error:
        page = render_template("dashboard/export.html", query=request.args, errors=error.errors)
        return Response(page, status=400)
    audit.record(
        current_user,
        "export.comments",
        "export",
        None,
        after={"format": fmt, **tables.describe(query), **search.url_args()},
    )
    db.session.commit()
    header, rows = comment_table.comment_rows(search)
    return _download(f"comments-{query.date_from}-{query.date_to}", fmt, header, rows, "comments")


def _query(allow_group_by: bool = True, own: tuple[str, ...] = ()):
    args = {k: v for k, v in request.args.to_dict().items() if k not in own}
    if not allow_group_by:
        args.pop("group_by", None)
        args.pop("compare", None)
    try:
        return queries.parse(args), None
    except queries.QueryError as error:
        return None, render_export_page(args, error.errors, 400)


def _record(action: str, fmt: str, query: queries.ScoreQuery) -> None:
    audit.record(
        current_user, action, "export", None, after={"format": fmt, **tables.describe(query)}
    )
    db.session.commit()


def _download(
    name: str, fmt: str, header: Sequence[str], rows: Iterable[Sequence[object]], sheet: str
) -> Response:
    """Stream the CSV as it is produced; build the XLSX on disk, then stream the file."""
    stamp = clock.now().strftime("%Y%m%d%H%M")
    headers = {"Content-Disposition": f'attachment; filename="{name}-{stamp}.{fmt}"'}
    if fmt == "csv":
        body = stream_with_context(writers.csv_chunks(header, rows))
    else:
        body = writers.file_chunks(writers.xlsx_file(header, rows, sheet))
    return Response(body, mimetype=TYPES[fmt], headers=headers)
