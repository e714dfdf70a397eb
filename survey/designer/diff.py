"""What changed between two versions of a survey, or between a draft as seen and as saved.

Both sides are snapshots (plain dicts), so the same comparison serves the
version history and the "someone else changed this draft" warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from survey.models import SurveyVersion

DETAIL_FIELDS = ("title_zh", "title_en", "intro_zh", "intro_en", "thanks_zh", "thanks_en")
QUESTION_FIELDS = (
    "kind",
    "dimension",
    "text_zh",
    "text_en",
    "required",
    "ask_web",
    "ask_sms",
    "ask_voice",
    "condition",
    "choices",
)


def snapshot(version: SurveyVersion) -> dict[str, Any]:
    """Return the content of a version as plain data."""
    return {
        **{f: getattr(version, f) for f in DETAIL_FIELDS},
        "questions": [
            {
                "key": q.key,
                **{f: getattr(q, f) for f in QUESTION_FIELDS if f != "choices"},
                "choices": [[c.value, c.label_zh, c.label_en] for c in q.choices],
            }
            for q in version.questions
        ],
    }


@dataclass
class Change:
    field: str
    old: Any
    new: Any


@dataclass
class QuestionChange:
    key: str
    label: str
    changes: list[Change]


@dataclass
class VersionDiff:
    details: list[Change] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[QuestionChange] = field(default_factory=list)
    reordered: bool = False

    @property
    def empty(self) -> bool:
        return not (self.details or self.added or self.removed or self.changed or self.reordered)


def _label(question: dict[str, Any]) -> str:
    return question.get("text_zh") or question.get("text_en") or question["key"]


def compare(old: dict[str, Any], new: dict[str, Any]) -> VersionDiff:
    """Compare two snapshots: details, questions added, removed and changed, and order."""
    result = VersionDiff()
    result.details = [
        Change(f, old.get(f), new.get(f)) for f in DETAIL_FIELDS if old.get(f) != new.get(f)
    ]
    old_q = {q["key"]: q for q in old.get("questions", [])}
    new_q = {q["key"]: q for q in new.get("questions", [])}
    result.added = [q for key, q in new_q.items() if key not in old_q]
    result.removed = [q for key, q in old_q.items() if key not in new_q]
    for key, after in new_q.items():
        before = old_q.get(key)
        if before is None:
            continue
        changes = [
            Change(f, before.get(f), after.get(f))
            for f in QUESTION_FIELDS
            if before.get(f) != after.get(f)
        ]
        if changes:
            result.changed.append(QuestionChange(key, _label(after), changes))
    kept_old = [k for k in old_q if k in new_q]
    kept_new = [k for k in new_q if k in old_q]
    result.reordered = kept_old != kept_new
    return result
