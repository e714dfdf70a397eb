"""Building surveys: create, duplicate, archive, edit the draft, and publish versions.

Every edit of a draft names the ``lock_version`` its page showed; an edit made
from an older page raises ``DraftChanged`` instead of overwriting someone
else's work. The caller commits (or rolls back) once per request, so an edit
is saved whole or not at all.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from survey import audit, clock
from survey.designer import conditions, trail
from survey.designer.diff import DETAIL_FIELDS
from survey.extensions import db
from survey.models import Choice, Question, Survey, SurveyVersion


class PublishError(ValueError):
    """A draft that cannot be published yet; the message says why."""


class DraftChanged(Exception):
    """The draft was saved by someone else since this page showed it."""

    def __init__(self, version: SurveyVersion) -> None:
        super().__init__("the draft changed")
        self.version = version


def create_from_starter(starter: dict[str, Any], created_by_id: int | None = None) -> Survey:
    """Create a survey whose first draft holds a starter's questions."""
    survey = Survey(name=starter["name"], created_by_id=created_by_id)
    version = SurveyVersion(
        survey=survey, number=1, state="draft", **{f: starter.get(f, "") for f in DETAIL_FIELDS}
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
    db.session.flush()
    trail.record(
        "survey.create",
        "survey",
        survey.id,
        user_id=created_by_id,
        after={"name": survey.name, "questions": [q.key for q in version.questions]},
    )
    return survey


def create_blank(name: str, created_by_id: int | None = None) -> Survey:
    """Create a survey with an empty first draft."""
    return create_from_starter({"name": name, "questions": []}, created_by_id)


def duplicate(survey: Survey, name: str, created_by_id: int | None = None) -> Survey:
    """Create a new survey whose first draft copies the original's newest version."""
    source = survey.versions[-1]
    copy = Survey(name=name, created_by_id=created_by_id)
    db.session.add(copy)
    _copy_version(source, copy, number=1)
    db.session.flush()
    trail.record(
        "survey.duplicate",
        "survey",
        copy.id,
        user_id=created_by_id,
        after={"name": name, "from_survey_id": survey.id, "from_version": source.number},
    )
    return copy


def set_archived(survey: Survey, archived: bool) -> None:
    """Archive a survey (hidden from lists and rules) or bring it back."""
    before = survey.archived
    survey.archived = archived
    trail.record(
        "survey.archive" if archived else "survey.restore",
        "survey",
        survey.id,
        before={"archived": before},
        after={"archived": archived},
    )


def draft_of(survey: Survey) -> SurveyVersion | None:
    """Return the survey's draft, if it has one."""
    return next((v for v in survey.versions if v.state == "draft"), None)


def start_draft(survey: Survey) -> SurveyVersion:
    """Return the draft, starting one as a copy of the newest version if there is none."""
    draft = draft_of(survey)
    if draft is not None:
        return draft
    source = survey.published() or survey.versions[-1]
    draft = _copy_version(source, survey, number=survey.versions[-1].number + 1)
    trail.version_change("survey.draft", draft, after={"from_version": source.number})
    return draft


def _copy_version(source: SurveyVersion, survey: Survey, number: int) -> SurveyVersion:
    # Built without autoflush: reading the source's questions must not flush a half-built copy.
    with db.session.no_autoflush:
        version = SurveyVersion(
            number=number,
            state="draft",
            **{f: getattr(source, f) for f in DETAIL_FIELDS},
        )
        for q in source.questions:
            copy = Question(
                position=q.position,
                key=q.key,
                kind=q.kind,
                dimension=q.dimension,
                text_zh=q.text_zh,
                text_en=q.text_en,
                required=q.required,
                ask_web=q.ask_web,
                ask_sms=q.ask_sms,
                ask_voice=q.ask_voice,
                condition=dict(q.condition) if q.condition else None,
            )
            for c in q.choices:
                copy.choices.append(
                    Choice(
                        position=c.position, value=c.value, label_zh=c.label_zh, label_en=c.label_en
                    )
                )
            version.questions.append(copy)
        version.survey = survey
        db.session.add(version)
    return version


def claim(version: SurveyVersion, seen_lock: int) -> None:
    """Take the draft for one edit: raise DraftChanged if it moved on since ``seen_lock``."""
    if version.state != "draft":
        raise DraftChanged(version)
    # One conditional UPDATE: the database, not this process, decides who saved first.
    result = db.session.execute(
        sa.update(SurveyVersion)
        .where(SurveyVersion.id == version.id, SurveyVersion.lock_version == seen_lock)
        .values(lock_version=SurveyVersion.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(version)
        raise DraftChanged(version)
    set_committed_value(version, "lock_version", seen_lock + 1)
    # An approval asked for an earlier text does not approve this one.
    version.publish_requested_by_id = None
    version.publish_requested_at = None


def update_details(version: SurveyVersion, seen_lock: int, name: str, details: dict) -> None:
    """Save the survey's name and the draft's titles, introductions and thanks."""
    claim(version, seen_lock)
    was = {"name": version.survey.name, **{f: getattr(version, f) for f in DETAIL_FIELDS}}
    version.survey.name = name
    for f in DETAIL_FIELDS:
        setattr(version, f, details.get(f) or "")
    now = {"name": name, **{f: getattr(version, f) for f in DETAIL_FIELDS}}
    before, after = audit.changes(was, now)
    trail.version_change("survey.edit", version, before=before, after=after)


def _next_key(survey: Survey) -> str:
    """A key never used by any version of the survey, so old answers keep their meaning."""
    used = {q.key for v in survey.versions for q in v.questions}
    n = 1
    while f"q{n}" in used:
        n += 1
    return f"q{n}"


def save_question(
    version: SurveyVersion, seen_lock: int, spec: dict[str, Any], question: Question | None = None
) -> Question:
    """Add a question to the end of the draft, or change one; ``spec`` comes from a valid form."""
    claim(version, seen_lock)
    was = _question_fields(question) if question is not None else {}
    if question is None:
        question = Question(key=_next_key(version.survey), position=len(version.questions) + 1)
        version.questions.append(question)
    for f in ("kind", "dimension", "text_zh", "text_en", "required", "ask_web", "ask_sms"):
        setattr(question, f, spec[f])
    # A free-text answer cannot be keyed in on a telephone.
    question.ask_voice = bool(spec["ask_voice"]) and spec["kind"] != "text"
    question.condition = spec.get("condition")
    question.choices.clear()
    db.session.flush()
    if spec["kind"] == "single_choice":
        for pos, (label_zh, label_en) in enumerate(spec.get("choices", []), start=1):
            question.choices.append(
                Choice(position=pos, value=str(pos), label_zh=label_zh, label_en=label_en)
            )
    before, after = audit.changes(was, _question_fields(question))
    trail.version_change(
        "question.edit" if was else "question.add",
        version,
        before=before or None,
        after={"question": question.key, **after},
    )
    return question


def _question_fields(question: Question) -> dict[str, Any]:
    """A question's saved fields, as the audit trail shows them."""
    fields = ("kind", "dimension", "text_zh", "text_en", "required", "ask_web", "ask_sms")
    return {
        **{f: getattr(question, f) for f in fields},
        "ask_voice": question.ask_voice,
        "condition": question.condition,
        "choices": [[c.label_zh, c.label_en] for c in question.choices],
    }


def delete_question(version: SurveyVersion, seen_lock: int, question: Question) -> None:
    """Remove a question from the draft; conditions that named it are reported before publishing."""
    claim(version, seen_lock)
    removed = {
        "question": question.key,
        "position": question.position,
        **_question_fields(question),
    }
    version.questions.remove(question)
    _renumber(version)
    trail.version_change("question.remove", version, before=removed)


def move_question(version: SurveyVersion, seen_lock: int, question: Question, step: int) -> None:
    """Move a question one place up (step -1) or down (step +1)."""
    order = list(version.questions)
    i = order.index(question)
    j = max(0, min(len(order) - 1, i + step))
    order[i], order[j] = order[j], order[i]
    reorder_questions(version, seen_lock, [q.id for q in order])


class OrderMismatch(ValueError):
    """A new order that does not name each question of the draft exactly once."""


def reorder_questions(version: SurveyVersion, seen_lock: int, question_ids: list[int]) -> None:
    """Put the draft's questions in the order given (by id), e.g. after a drag in the editor."""
    by_id = {q.id: q for q in version.questions}
    if sorted(question_ids) != sorted(by_id):
        if version.lock_version != seen_lock:
            raise DraftChanged(version)  # the page showed other questions: say what changed
        raise OrderMismatch("the new order must name each question of the draft once")
    claim(version, seen_lock)
    was = [q.key for q in version.questions]
    version.questions[:] = [by_id[i] for i in question_ids]
    _renumber(version)
    now = [q.key for q in version.questions]
    if now != was:
        trail.version_change(
            "question.reorder", version, before={"order": was}, after={"order": now}
        )


def _renumber(version: SurveyVersion) -> None:
    # Positions are unconstrained, so they can be rewritten in place in one flush.
    for pos, q in enumerate(version.questions, start=1):
        q.position = pos
    db.session.flush()


def publish_problems(version: SurveyVersion) -> list[str]:
    """Say why a draft cannot be published yet (an empty list when it can)."""
    from flask_babel import gettext as _

    found = []
    if not version.questions:
        found.append(_("A survey needs at least one question."))
    if not version.title_zh.strip() or not version.title_en.strip():
        found.append(_("The survey needs a title in both Chinese and English."))
    for q in version.questions:
        if not q.text_zh.strip() or not q.text_en.strip():
            found.append(
                _("Question %(n)d needs its text in both Chinese and English.", n=q.position)
            )
        if q.kind == "single_choice" and len(q.choices) < 2:
            found.append(_("Question %(n)d needs at least two choices.", n=q.position))
        if q.kind == "single_choice" and any(
            not c.label_zh.strip() or not c.label_en.strip() for c in q.choices
        ):
            found.append(
                _("Question %(n)d needs every choice in both Chinese and English.", n=q.position)
            )
    by_key = {q.key: q.position for q in version.questions}
    for key, text in conditions.version_problems(version.questions).items():
        found.append(_("Question %(n)d: %(problem)s", n=by_key[key], problem=text))
    return found


def publish(version: SurveyVersion, user_id: int | None = None) -> SurveyVersion:
    """Freeze a draft as the survey's live version; the previous live version retires."""
    if version.state != "draft":
        raise PublishError("only a draft can be published")
    problems = publish_problems(version)
    if problems:
        raise PublishError(" ".join(problems))
    db.session.execute(
        sa.update(SurveyVersion)
        .where(SurveyVersion.survey_id == version.survey_id, SurveyVersion.state == "published")
        .values(state="retired")
        .execution_options(synchronize_session="fetch")
    )
    version.state = "published"
    version.published_at = clock.now()
    version.published_by_id = user_id
    trail.version_change("survey.publish", version, user_id=user_id, after={"state": "published"})
    return version


def request_publication(version: SurveyVersion, user_id: int) -> None:
    """Ask a second manager to approve publishing this draft."""
    problems = publish_problems(version)
    if problems:
        raise PublishError(" ".join(problems))
    version.publish_requested_by_id = user_id
    version.publish_requested_at = clock.now()
    trail.version_change(
        "survey.publish_requested", version, user_id=user_id, after={"state": version.state}
    )


def approve_publication(version: SurveyVersion, user_id: int) -> SurveyVersion:
    """Publish a draft whose publication someone else asked for."""
    if version.publish_requested_by_id is None:
        raise PublishError("nobody has asked to publish this draft")
    if version.publish_requested_by_id == user_id:
        raise PublishError("a second manager must approve")
    return publish(version, user_id)
