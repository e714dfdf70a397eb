"""Conditions on earlier answers: which answers each kind of question can give, and sane checks.

A condition is stored on the question it guards as
``{"question": <key of an earlier question>, "op": "<=", "value": 2}``; the
question is asked only when that earlier answer satisfies it. Numeric kinds
compare numbers (yes/no answers are 1 for yes, 0 for no); a single-choice
answer is compared to a choice's value with ``==`` or ``!=``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l

from survey.models import Question

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
NUMERIC_RANGES = {"rating_5": range(1, 6), "nps_0_10": range(0, 11), "ces_7": range(1, 8)}
YES, NO = 1, 0


def possible_answers(question: Question) -> list[Any]:
    """Every answer the question can receive, or an empty list for free text."""
    if question.kind in NUMERIC_RANGES:
        return list(NUMERIC_RANGES[question.kind])
    if question.kind == "yes_no":
        return [YES, NO]
    if question.kind == "single_choice":
        return [c.value for c in question.choices]
    return []


def parse_value(question: Question, raw: str) -> Any:
    """Turn what a manager typed into the value stored in the condition, or raise ValueError."""
    raw = raw.strip()
    if question.kind == "single_choice":
        if not raw:
            raise ValueError(raw)
        return raw
    if question.kind == "yes_no":
        words = {"yes": YES, "no": NO, "是": YES, "否": NO, "1": YES, "0": NO}
        if raw.lower() not in words:
            raise ValueError(raw)
        return words[raw.lower()]
    return int(raw)


def describe_answers(question: Question) -> str:
    """Say which answers a condition on this question can name."""
    if question.kind in NUMERIC_RANGES:
        r = NUMERIC_RANGES[question.kind]
        return str(_l("a number from %(low)d to %(high)d", low=r.start, high=r.stop - 1))
    if question.kind == "yes_no":
        return str(_l("1 for yes, 0 for no"))
    if question.kind == "single_choice":
        return str(
            _l("one of the choice values: %(values)s", values=", ".join(possible_answers(question)))
        )
    return str(_l("free text cannot be a condition"))


def problem(
    condition: dict[str, Any] | None, earlier: Sequence[Question], later: Sequence[Question] = ()
) -> str | None:
    """Say what is wrong with a condition, given the questions before and after it, or None."""
    if not condition:
        return None
    key, op, value = condition.get("question"), condition.get("op"), condition.get("value")
    source = next((q for q in earlier if q.key == key), None)
    if source is None:
        if any(q.key == key for q in later):
            return str(_l("The condition points at a later question; it must come before."))
        return str(_l("The condition points at a question that no longer exists."))
    if source.kind == "text":
        return str(_l("A free-text answer cannot be a condition."))
    if op not in OPERATORS:
        return str(_l("Unknown comparison."))
    if source.kind == "single_choice" and op not in ("==", "!="):
        return str(_l("A choice can only be compared with = or ≠."))
    answers = possible_answers(source)
    if value not in answers:
        return str(
            _l(
                "No answer can be %(value)s: use %(answers)s.",
                value=value,
                answers=describe_answers(source),
            )
        )
    if not any(OPERATORS[op](answer, value) for answer in answers):
        return str(_l("No answer to that question can satisfy this condition."))
    return None


def version_problems(questions: Sequence[Question]) -> dict[str, str]:
    """Return, by question key, what is wrong with each question's condition."""
    found = {}
    for index, question in enumerate(questions):
        text = problem(question.condition, questions[:index], questions[index + 1 :])
        if text:
            found[question.key] = text
    return found
