"""The follow-up work queue and case pages: thin views over survey/followup/service.py."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from survey import clock
from survey.auth.service import role_required
from survey.dashboard import bp
from survey.dashboard.filters import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    SURVEY_CHANNEL_LABELS,
    choices,
)
from survey.extensions import db
from survey.followup import service
from survey.i18n import current_language
from survey.models import FollowUpCase
from survey.respond.steps import shown_answer

OUTCOME_LABELS = {
    "reached_resolved": _l("Reached, resolved"),
    "reached_unresolved": _l("Reached, not resolved"),
    "not_reached": _l("Not reached"),
    "declined": _l("Customer declined"),
}
TRIGGER_LABELS = {
    "overall": _l("Low overall rating"),
    "nps": _l("Low likelihood to recommend"),
    "complaint_handling": _l("Low complaint-handling rating"),
    "keyword": _l("A keyword in the comment"),
}
VIEW_LABELS = {
    "open": _l("All open"),
    "mine": _l("Mine"),
    "unassigned": _l("Unassigned"),
    "overdue": _l("Overdue"),
    "closed": _l("Closed"),
}
ACTION_LABELS = {
    "followup.open": _l("Case opened"),
    "followup.note": _l("Note added"),
    "followup.reassign": _l("Reassigned"),
    "followup.close": _l("Closed"),
    "followup.view_contact": _l("Contact details viewed"),
    "followup.notify_new": _l("Owner e-mailed about the new case"),
    "followup.notify_overdue": _l("Owner e-mailed that the case is overdue"),
}


@bp.app_template_global()
def followup_count() -> int:
    """The signed-in user's open cases, for the navigation."""
    if not current_user.is_authenticated:
        return 0
    return service.nav_count(current_user)


def _me():
    return current_user._get_current_object()


@bp.route("/followups")
@role_required("admin", "manager", "quality")
def followups():
    """List the follow-up cases of one view (mine, unassigned, overdue…), overdue first."""
    flt = service.QueueFilter.read(request.args)
    now = clock.now()
    return render_template(
        "dashboard/followups.html",
        flt=flt,
        cases=service.queue(_me(), flt, now),
        counts=service.counts(_me(), now),
        lines=choices(current_language()).get("business_line", []),
        now=now,
        views=VIEW_LABELS,
        outcomes=OUTCOME_LABELS,
        triggers=TRIGGER_LABELS,
        page_size=service.PAGE_SIZE,
    )


def _case_or_404(case_id: int) -> FollowUpCase:
    case = service.get(case_id)
    if case is None:
        abort(404)
    return case


def _case_page(case: FollowUpCase, contact=None, status: int = 200):
    lang = current_language()
    response = case.response
    answered = [
        (a.question, shown_answer(a.question, _value(a), lang))
        for a in sorted(response.answers, key=lambda a: a.question.position)
    ]
    return (
        render_template(
            "dashboard/followup_case.html",
            case=case,
            response=response,
            interaction=response.invitation.interaction,
            answered=answered,
            contact=contact,
            can_edit=service.can_edit(_me()),
            can_see_contact=service.can_see_contact(_me(), case),
            assignable=service.assignable(),
            history=service.history(case),
            now=clock.now(),
            outcomes=OUTCOME_LABELS,
            triggers=TRIGGER_LABELS,
            actions=ACTION_LABELS,
            channel_labels=CHANNEL_LABELS,
            category_labels=CATEGORY_LABELS,
            survey_channel_labels=SURVEY_CHANNEL_LABELS,
            lang=lang,
        ),
        status,
    )


def _value(answer):
    if answer.choice is not None:
        return answer.choice.value
    return answer.value_int if answer.value_int is not None else answer.value_text


@bp.route("/followups/<int:case_id>")
@role_required("admin", "manager", "quality")
def followup_case(case_id: int):
    """Show one case: the answers behind it, notes, owner, due time and history."""
    return _case_page(_case_or_404(case_id))


@bp.route("/followups/<int:case_id>/contact", methods=["POST"])
@role_required("admin", "quality")
def followup_contact(case_id: int):
    """Show the customer's phone and e-mail to the owner or an admin, and audit it."""
    case = _case_or_404(case_id)
    try:
        contact = service.show_contact(_me(), case)
    except PermissionError:
        abort(403)
    db.session.commit()
    return _case_page(case, contact=contact)


def _change(case_id: int, change) -> object:
    case = _case_or_404(case_id)
    try:
        message = change(case)
    except PermissionError:
        abort(403)
    except service.CaseError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _case_page(case, status=400)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("dashboard.followup_case", case_id=case.id), 303)


@bp.route("/followups/<int:case_id>/note", methods=["POST"])
@role_required("admin", "quality")
def followup_note(case_id: int):
    """Add a note to a case."""

    def change(case):
        service.add_note(_me(), case, request.form.get("body", ""))
        return _("Note added.")

    return _change(case_id, change)


@bp.route("/followups/<int:case_id>/assign", methods=["POST"])
@role_required("admin", "quality")
def followup_assign(case_id: int):
    """Give a case to a quality user (or take it)."""

    def change(case):
        raw = request.form.get("owner", "")
        owner_id = _me().id if raw == "me" else (int(raw) if raw.isdigit() else None)
        service.reassign(_me(), case, owner_id)
        return _("The case now belongs to %(who)s.", who=case.owner.name or case.owner.email)

    return _change(case_id, change)


@bp.route("/followups/<int:case_id>/close", methods=["POST"])
@role_required("admin", "quality")
def followup_close(case_id: int):
    """Close a case with its outcome."""

    def change(case):
        service.close(
            _me(), case, request.form.get("outcome", ""), request.form.get("note", "")[:5000]
        )
        return _("Case closed: %(outcome)s.", outcome=OUTCOME_LABELS[case.outcome])

    return _change(case_id, change)
