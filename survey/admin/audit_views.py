"""The admin page to browse and filter the audit trail."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from wtforms import SelectChoice

from survey import audit
from survey.admin import bp, forms
from survey.admin.labels import audit_entity_label
from survey.admin.zones import viewer_zone
from survey.auth.service import role_required
from survey.paging import requested_page


@bp.route("/audit")
@role_required("admin")
def audit_trail():
    """Show who changed what and when, newest first, filtered by who, what and when."""
    form = forms.AuditFilterForm(request.args)
    form.entity_type.choices = [SelectChoice("", _("Everything"))] + [
        SelectChoice(kind, audit_entity_label(kind)) for kind in audit.entity_types()
    ]
    valid = form.validate()
    flt = audit.AuditFilter(
        actor=form.actor.data or "",
        entity_type=form.entity_type.data or "",
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
    )
    page = requested_page()
    zone = viewer_zone()
    events, more = audit.search(flt, zone, page)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "admin/audit.html", form=form, events=events, page=page, more=more, args=args, zone=zone.key
    )
