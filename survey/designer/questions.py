"""Views: adding, changing, reordering and removing the questions of a draft."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from survey.designer import bp, common, service
from survey.designer.forms import DetailsForm, DraftForm, QuestionForm
from survey.designer.surveys import editor_context
from survey.extensions import db
from survey.models import Question, SurveyVersion


def _earlier(version: SurveyVersion, question: Question | None) -> list[Question]:
    """The questions a condition may point at: those before this one (all, for a new one)."""
    if question is None:
        return list(version.questions)
    return [q for q in version.questions if q.position < question.position]


def _render(form: QuestionForm, survey, question, status: int = 200, **extra):
    return (
        render_template(
            "designer/question.html", form=form, survey=survey, question=question, **extra
        ),
        status,
    )


@bp.route("/surveys/<int:survey_id>/questions/new", methods=["GET", "POST"])
@common.editors_only
def new_question(survey_id: int):
    """Add a question at the end of the draft."""
    return _edit(survey_id, None)


@bp.route("/surveys/<int:survey_id>/questions/<int:question_id>", methods=["GET", "POST"])
@common.editors_only
def edit_question(survey_id: int, question_id: int):
    """Change one question of the draft."""
    return _edit(survey_id, question_id)


def _edit(survey_id: int, question_id: int | None):
    survey = common.get_survey(survey_id)
    draft = common.get_draft(survey)
    question = common.get_question(draft, question_id) if question_id else None
    earlier = _earlier(draft, question)
    if request.method == "GET":
        form = (
            QuestionForm.for_question(question, earlier)
            if question
            else QuestionForm(earlier=earlier, data={"condition_op": "<="})
        )
        common.stamp(form, draft)
        return _render(form, survey, question)
    form = QuestionForm(earlier=earlier)
    if not form.validate():
        return _render(form, survey, question, 400)
    try:
        service.save_question(draft, form.seen_lock(), form.spec(), question)
    except service.DraftChanged as error:
        return _render(form, survey, question, 409, **common.conflict(error, form))
    db.session.commit()
    flash(_("Question saved."), "success")
    return redirect(url_for("designer.survey", survey_id=survey.id, _anchor="questions"))


@bp.route("/surveys/<int:survey_id>/questions/arrange", methods=["POST"])
@common.editors_only
def arrange_questions(survey_id: int):
    """Move a question up or down, or remove it; one form holds every button, so no JS is needed."""
    survey = common.get_survey(survey_id)
    draft = common.get_draft(survey)
    form = DraftForm()
    action, _sep, raw_id = (request.form.get("action") or "").partition(":")
    if action not in ("up", "down", "delete") or not raw_id.isdigit() or not form.validate():
        flash(_("That change could not be understood; nothing was changed."), "error")
        return redirect(url_for("designer.survey", survey_id=survey.id))
    question = common.get_question(draft, int(raw_id))
    try:
        if action == "delete":
            service.delete_question(draft, form.seen_lock(), question)
        else:
            service.move_question(draft, form.seen_lock(), question, -1 if action == "up" else 1)
    except service.DraftChanged as error:
        return _conflict_page(survey, form, error)
    db.session.commit()
    flash(_("Question removed.") if action == "delete" else _("Order saved."), "success")
    return redirect(url_for("designer.survey", survey_id=survey.id, _anchor="questions"))


@bp.route("/surveys/<int:survey_id>/questions/order", methods=["POST"])
@common.editors_only
def order_questions(survey_id: int):
    """Save a new order of the draft's questions, as a drag in the editor left them."""
    survey = common.get_survey(survey_id)
    draft = common.get_draft(survey)
    form = DraftForm()
    raw = (request.form.get("order") or "").split(",")
    if not form.validate() or not all(part.strip().isdigit() for part in raw):
        flash(_("That change could not be understood; nothing was changed."), "error")
        return redirect(url_for("designer.survey", survey_id=survey.id))
    try:
        service.reorder_questions(draft, form.seen_lock(), [int(part) for part in raw])
    except service.DraftChanged as error:
        return _conflict_page(survey, form, error)
    except service.OrderMismatch:
        db.session.rollback()
        flash(_("That change could not be understood; nothing was changed."), "error")
        return redirect(url_for("designer.survey", survey_id=survey.id))
    db.session.commit()
    flash(_("Order saved."), "success")
    return redirect(url_for("designer.survey", survey_id=survey.id, _anchor="questions"))


def _conflict_page(survey, form: DraftForm, error: service.DraftChanged):
    """The editor again, saying what changed since the page was opened; nothing was saved."""
    context = {**editor_context(survey, arrange=form), **common.conflict(error, form)}
    details = common.stamp(
        DetailsForm(formdata=None, obj=error.version, name=survey.name), error.version
    )
    return render_template("designer/editor.html", form=details, **context), 409
