"""Views: the list of surveys, creating, duplicating and archiving them, and the draft editor."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey.designer import bp, checks, common, service
from survey.designer.forms import DetailsForm, DraftForm, DuplicateForm, NewSurveyForm, options
from survey.designer.starters import STARTERS
from survey.extensions import db
from survey.models import Survey


@bp.route("/")
@common.viewers_only
def home():
    """Send the designer's visitors to the list of surveys."""
    return redirect(url_for("designer.surveys"))


@bp.route("/surveys")
@common.viewers_only
def surveys():
    """List the surveys, newest first; archived ones on request."""
    archived = request.args.get("archived") == "1"
    rows = db.session.scalars(
        sa.select(Survey).where(Survey.archived.is_(archived)).order_by(Survey.id.desc())
    ).all()
    return render_template("designer/surveys.html", surveys=rows, archived=archived)


def _new_survey_form() -> NewSurveyForm:
    form = NewSurveyForm()
    form.starter.choices = options(
        [("blank", _("A blank survey"))] + [(key, s["name"]) for key, s in STARTERS.items()]
    )
    return form


@bp.route("/surveys/new", methods=["GET", "POST"])
@common.editors_only
def new_survey():
    """Create a survey, blank or from a template."""
    form = _new_survey_form()
    if request.method == "GET" and request.args.get("starter") in STARTERS:
        form.starter.data = request.args["starter"]
        form.name.data = STARTERS[form.starter.data]["name"]
    if form.validate_on_submit():
        if form.starter.data == "blank":
            survey = service.create_blank(form.name.data.strip(), current_user.id)
        else:
            starter = {**STARTERS[form.starter.data], "name": form.name.data.strip()}
            survey = service.create_from_starter(starter, current_user.id)
        db.session.commit()
        flash(_("Survey created. It is a draft until you publish it."), "success")
        return redirect(url_for("designer.survey", survey_id=survey.id))
    return render_template("designer/new.html", form=form, starters=STARTERS)


@bp.route("/surveys/<int:survey_id>/duplicate", methods=["GET", "POST"])
@common.editors_only
def duplicate(survey_id: int):
    """Copy a survey's newest version into a new survey's first draft."""
    survey = common.get_survey(survey_id)
    form = DuplicateForm()
    if request.method == "GET":
        form.name.data = _("Copy of %(name)s", name=survey.name)
    if form.validate_on_submit():
        copy = service.duplicate(survey, form.name.data.strip(), current_user.id)
        db.session.commit()
        flash(_("Survey copied."), "success")
        return redirect(url_for("designer.survey", survey_id=copy.id))
    return render_template("designer/duplicate.html", form=form, survey=survey)


@bp.route("/surveys/<int:survey_id>/archive", methods=["POST"])
@common.editors_only
def archive(survey_id: int):
    """Archive a survey, or bring an archived one back."""
    survey = common.get_survey(survey_id)
    service.set_archived(survey, not survey.archived)
    db.session.commit()
    flash(_("Survey archived.") if survey.archived else _("Survey restored."), "success")
    return redirect(url_for("designer.surveys"))


def editor_context(survey: Survey, arrange: DraftForm | None = None) -> dict:
    """What the editor page shows besides the details form."""
    draft = service.draft_of(survey)
    shown = draft or survey.published() or survey.versions[-1]
    if arrange is None and draft is not None:
        arrange = common.stamp(DraftForm(formdata=None), draft)
    return {
        "arrange": arrange,
        "survey": survey,
        "version": shown,
        "draft": draft,
        "live": survey.published(),
        "condition_problems": checks.condition_problems(shown),
    }


@bp.route("/surveys/<int:survey_id>")
@common.viewers_only
def survey(survey_id: int):
    """Show a survey: its draft in the editor, or its live version with a way to edit it."""
    survey = common.get_survey(survey_id)
    context = editor_context(survey)
    form = DetailsForm(obj=context["version"], name=survey.name)
    if context["draft"]:
        common.stamp(form, context["draft"])
    return render_template("designer/editor.html", form=form, **context)


@bp.route("/surveys/<int:survey_id>/details", methods=["POST"])
@common.editors_only
def save_details(survey_id: int):
    """Save the draft's name, titles, introductions and thank-you messages."""
    survey = common.get_survey(survey_id)
    draft = common.get_draft(survey)
    form = DetailsForm()
    if not form.validate_on_submit():
        return render_template("designer/editor.html", form=form, **editor_context(survey)), 400
    details = {f: (getattr(form, f).data or "").strip() for f in service.DETAIL_FIELDS}
    try:
        service.update_details(draft, form.seen_lock(), form.name.data.strip(), details)
    except service.DraftChanged as error:
        db.session.rollback()
        context = {**editor_context(survey), **common.conflict(error, form)}
        return render_template("designer/editor.html", form=form, **context), 409
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("designer.survey", survey_id=survey.id))


@bp.route("/surveys/<int:survey_id>/draft", methods=["POST"])
@common.editors_only
def start_draft(survey_id: int):
    """Start a new draft as a copy of the live version, leaving the live version untouched."""
    survey = common.get_survey(survey_id)
    draft = service.start_draft(survey)
    db.session.commit()
    flash(
        _(
            "Version %(n)d is a new draft. The published version stays live until you publish this one.",
            n=draft.number,
        ),
        "success",
    )
    return redirect(url_for("designer.survey", survey_id=survey.id))
