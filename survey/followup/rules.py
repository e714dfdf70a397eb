"""The follow-up rules: which answers make a customer someone the bank should call back.

The admin keeps the thresholds and the keyword list in the organisation settings
(default: overall ≤ 2 on the 5-point scale, NPS ≤ 3, complaint handling ≤ 2, or a
comment containing a keyword). The same rules decide, on every channel, whether the
consent question is asked, and, when the response is counted, whether a case opens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from survey import settings
from survey.models import Choice, Question, Response

OVERALL, NPS, COMPLAINT, KEYWORD = "overall", "nps", "complaint_handling", "keyword"


@dataclass(frozen=True)
class Rules:
    """The follow-up thresholds (-1: that rule is off) and the keywords."""

    overall_max: int = 2
    nps_max: int = 3
    complaint_max: int = 2
    keywords: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls) -> Rules:
        return cls(
            overall_max=int(settings.get("followup_overall_max")),
            nps_max=int(settings.get("followup_nps_max")),
            complaint_max=int(settings.get("followup_complaint_max")),
            keywords=tuple(settings.get("followup_keywords")),
        )

    def triggers(self, given: Iterable[tuple[Question, Any]]) -> list[str]:
        """Return the rules these answers meet, in a fixed order; empty when none.

        :param given: (question, value) pairs; a value is an int for scales, a ``Choice``,
            or the text of a comment, as the answer service stores them.
        """
        met: set[str] = set()
        folded = [word.casefold() for word in self.keywords]
        for question, value in given:
            if value is None or isinstance(value, Choice):
                continue
            if question.kind == "text":
                text = str(value).casefold()
                if any(word in text for word in folded):
                    met.add(KEYWORD)
            elif question.kind == "rating_5" and isinstance(value, int):
                if question.dimension == "overall" and value <= self.overall_max:
                    met.add(OVERALL)
                if question.dimension == "complaint_handling" and value <= self.complaint_max:
                    met.add(COMPLAINT)
            elif question.kind == "nps_0_10" and isinstance(value, int) and value <= self.nps_max:
                met.add(NPS)
        return [rule for rule in (OVERALL, NPS, COMPLAINT, KEYWORD) if rule in met]


def answered(response: Response | None) -> list[tuple[Question, Any]]:
    """The stored answers of a response as (question, value) pairs."""
    if response is None:
        return []
    pairs: list[tuple[Question, Any]] = []
    for answer in response.answers:
        if answer.choice is not None:
            pairs.append((answer.question, answer.choice))
        elif answer.value_int is not None:
            pairs.append((answer.question, answer.value_int))
        elif answer.value_text is not None:
            pairs.append((answer.question, answer.value_text))
    return pairs


def response_triggers(response: Response | None, rules: Rules | None = None) -> list[str]:
    """The follow-up rules a response's stored answers meet."""
    return (rules or Rules.from_settings()).triggers(answered(response))
