"""The period report on screen and as a PDF: thin views over survey.report."""

from __future__ import annotations

from flask import Response, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from survey import settings
from survey.auth.service import role_required
from survey.dashboard import bp
from survey.i18n import current_language
from survey.report import pdf
from survey.report import request as asked_for
from survey.report.build import build
from survey.scoring import queries

PRESET_LABELS = {
    "last_month": _l("Last month"),
    "last_quarter": _l("Last quarter"),
    "last_year": _l("Last year"),
    "this_month": _l("This month so far"),
    "this_quarter": _l("This quarter so far"),
    "this_year": _l("This year so far"),
}


def _asked():
    return asked_for.read(request.args, queries.today())


@bp.route("/dashboard/report")
@role_required("admin", "manager", "quality")
def report():
    """Show the customer-service report of a period, in the page's language."""
    asked = _asked()
    lang = current_language()
    found = build(asked.period, lang) if asked.period else None
    pdf_args = {"lang": lang}
    if asked.period:
        pdf_args.update(
            {"from": asked.period.first.isoformat(), "to": asked.period.last.isoformat()}
        )
    return (
        render_template(
            "dashboard/report.html",
            r=found,
            asked=asked,
            args=request.args,
            presets=PRESET_LABELS,
            pdf_url=url_for("dashboard.report_pdf", **pdf_args),
            bank_zone=settings.bank_zone(),
            **pdf.context(),
        ),
        400 if asked.errors else 200,
    )


@bp.route("/dashboard/report.pdf")
@role_required("admin", "manager", "quality")
def report_pdf():
    """The same report as an A4 PDF, rendered with a CJK font."""
    asked = _asked()
    if asked.period is None:
        return report()
    found = build(asked.period, current_language())
    name = f"report-{asked.period.first.isoformat()}-{asked.period.last.isoformat()}.pdf"
    return Response(
        pdf.render(found),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
