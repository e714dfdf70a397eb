"""What every designer view shares: who may do what, and finding the survey asked for."""

from __future__ import annotations

import json
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from survey.auth.service import role_required
from survey.designer import bp, diff, service
from survey.designer.forms import DraftForm
from survey.extensions import db
from survey.models import Question, Survey, SurveyVersion

EDITORS = ("admin", "manager")
# Quality staff read surveys and rules; they change neither.
viewers_only = role_required("admin", "manager", "quality")
editors_only = role_required(*EDITORS)


def get_survey(survey_id: int) -> Survey:
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        abort(404)
    return survey


def get_draft(survey: Survey) -> SurveyVersion:
    """Return the draft to edit; a survey without one has nothing editable (start a draft first)."""
    draft = service.draft_of(survey)
    if draft is None:
        abort(409)
    return draft


def get_question(version: SurveyVersion, question_id: int) -> Question:
    question = next((q for q in version.questions if q.id == question_id), None)
    if question is None:
        abort(404)
    return question


def stamp(form: DraftForm, version: SurveyVersion) -> DraftForm:
    """Mark a form with the saved state of the draft it was shown with."""
    form.lock_version.data = str(version.lock_version)
    form.seen.data = json.dumps(diff.snapshot(version), ensure_ascii=False)
    return form


def conflict(error: service.DraftChanged, form: DraftForm) -> dict[str, Any]:
    """Say that the draft moved on, and what changed since the page was opened; restamp the form.

    The form keeps what the user typed, so saving again is a deliberate choice.
    """
    version = error.version
    seen = form.seen_snapshot()
    changes = diff.compare(seen, diff.snapshot(version)) if seen else None
    stamp(form, version)
    message = (
        _("Someone else saved this draft since you opened it. Nothing of yours was saved yet.")
        if version.state == "draft"
        else _("This version was published since you opened it. Nothing of yours was saved.")
    )
    return {"conflict": message, "conflict_changes": changes}


@bp.context_processor
def _labels() -> dict[str, Any]:
    from survey.designer.forms import DIMENSION_LABELS, KIND_LABELS, OPERATOR_LABELS

    return {
        "KIND_LABELS": KIND_LABELS,
        "DIMENSION_LABELS": DIMENSION_LABELS,
        "OPERATOR_LABELS": OPERATOR_LABELS,
        "can_edit": current_user.is_authenticated and current_user.role in EDITORS,
    }
