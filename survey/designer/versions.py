"""Views: publishing a draft (with an optional second manager's approval), history and diffs."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import settings
from survey.designer import bp, checks, common, diff, service
from survey.extensions import db
from survey.models import DispatchRule, SurveyVersion, User


def _version(survey, number: int) -> SurveyVersion:
    version = next((v for v in survey.versions if v.number == number), None)
    if version is None:
        abort(404)
    return version


def _publish_page(survey, draft, status: int = 200):
    requested_by = (
        db.session.get(User, draft.publish_requested_by_id)
        if draft.publish_requested_by_id
        else None
    )
    return (
        render_template(
            "designer/publish.html",
            survey=survey,
            version=draft,
            problems=service.publish_problems(draft),
            warnings=checks.warnings(draft),
            needs_approval=settings.get("publish_needs_approval"),
            requested_by=requested_by,
            changes=diff.compare(diff.snapshot(survey.published()), diff.snapshot(draft))
            if survey.published()
            else None,
        ),
        status,
    )


@bp.route("/surveys/<int:survey_id>/publish", methods=["GET"])
@common.viewers_only
def review(survey_id: int):
    """Show what publishing the draft would do: problems that stop it, warnings, changes."""
    survey = common.get_survey(survey_id)
    return _publish_page(survey, common.get_draft(survey))


@bp.route("/surveys/<int:survey_id>/publish", methods=["POST"])
@common.editors_only
def publish(survey_id: int):
    """Publish the draft, or ask a second manager to approve it when the bank requires that."""
    survey = common.get_survey(survey_id)
    draft = common.get_draft(survey)
    if str(draft.lock_version) != request.form.get("lock_version"):
        flash(_("The draft changed while you were reviewing it. Review it again."), "error")
        return _publish_page(survey, draft, 409)
    try:
        if not settings.get("publish_needs_approval"):
            service.publish(draft, current_user.id)
        elif draft.publish_requested_by_id not in (None, current_user.id):
            service.approve_publication(draft, current_user.id)
        else:
            service.request_publication(draft, current_user.id)
    except service.PublishError:
        db.session.rollback()
        return _publish_page(survey, draft, 400)
    db.session.commit()
    if draft.state == "published":
        flash(
            _("Version %(n)d is published. New invitations use it from now on.", n=draft.number),
            "success",
        )
        return redirect(url_for("designer.history", survey_id=survey.id))
    flash(_("Publication requested. Another manager must approve it."), "success")
    return redirect(url_for("designer.review", survey_id=survey.id))


@bp.route("/surveys/<int:survey_id>/versions")
@common.viewers_only
def history(survey_id: int):
    """List every version of a survey: who published it, when, and what changed."""
    survey = common.get_survey(survey_id)
    publishers = {
        u.id: u
        for u in db.session.scalars(
            db.select(User).where(
                User.id.in_([v.published_by_id for v in survey.versions if v.published_by_id])
            )
        )
    }
    rules = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(DispatchRule)
        .where(DispatchRule.survey_id == survey.id)
    )
    return render_template(
        "designer/history.html",
        survey=survey,
        versions=list(reversed(survey.versions)),
        publishers=publishers,
        rules=rules,
    )


@bp.route("/surveys/<int:survey_id>/versions/<int:number>")
@common.viewers_only
def version(survey_id: int, number: int):
    """Show one version as it stands (published versions never change)."""
    survey = common.get_survey(survey_id)
    return render_template("designer/version.html", survey=survey, version=_version(survey, number))


@bp.route("/surveys/<int:survey_id>/diff")
@common.viewers_only
def compare(survey_id: int):
    """Show what changed between two versions of a survey."""
    survey = common.get_survey(survey_id)
    numbers = [v.number for v in survey.versions]
    old_n = request.args.get("from", type=int) or (numbers[-2] if len(numbers) > 1 else numbers[-1])
    new_n = request.args.get("to", type=int) or numbers[-1]
    old, new = _version(survey, old_n), _version(survey, new_n)
    return render_template(
        "designer/diff.html",
        survey=survey,
        old=old,
        new=new,
        numbers=numbers,
        changes=diff.compare(diff.snapshot(old), diff.snapshot(new)),
    )
