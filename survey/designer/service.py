"""Building and publishing surveys."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import Choice, Question, Survey, SurveyVersion


class PublishError(ValueError):
    """A draft that cannot be published yet; the message says why."""


def create_from_starter(starter: dict[str, Any], created_by_id: int | None = None) -> Survey:
    """Create a survey whose first draft holds a starter's questions."""
    survey = Survey(name=starter["name"], created_by_id=created_by_id)
    version = SurveyVersion(
        survey=survey,
        number=1,
        state="draft",
        **{
            f: starter.get(f, "")
            for f in ("title_zh", "title_en", "intro_zh", "intro_en", "thanks_zh", "thanks_en")
        },
    )
    for position, spec in enumerate(starter["questions"], start=1):
        question = Question(
            position=position,
            key=spec["key"],
            kind=spec["kind"],
            dimension=spec.get("dimension"),
            text_zh=spec["text_zh"],
            text_en=spec["text_en"],
            required=spec.get("required", True),
            ask_web=spec.get("ask_web", True),
            ask_sms=spec.get("ask_sms", spec["kind"] != "text"),
            ask_voice=spec.get("ask_voice", spec["kind"] != "text"),
            condition=spec.get("condition"),
        )
        for c_pos, choice in enumerate(spec.get("choices", []), start=1):
            question.choices.append(Choice(position=c_pos, **choice))
        version.questions.append(question)
    db.session.add(survey)
    return survey


def publish(version: SurveyVersion, user_id: int | None = None) -> SurveyVersion:
    """Freeze a draft as the survey's live version; the previous live version retires."""
    if version.state != "draft":
        raise PublishError("only a draft can be published")
    missing = [q.key for q in version.questions if not q.text_zh.strip() or not q.text_en.strip()]
    if missing:
        raise PublishError(f"questions without text in both languages: {', '.join(missing)}")
    if not version.questions:
        raise PublishError("a survey needs at least one question")
    db.session.execute(
        sa.update(SurveyVersion)
        .where(SurveyVersion.survey_id == version.survey_id, SurveyVersion.state == "published")
        .values(state="retired")
    )
    version.state = "published"
    version.published_at = clock.now()
    version.published_by_id = user_id
    return version
