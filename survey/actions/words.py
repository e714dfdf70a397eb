"""An action's verdict in plain words, for its page and the period report."""

from __future__ import annotations

from flask_babel import gettext as _

from survey.actions import effect
from survey.models import ImprovementAction


def rest_name(action: ImprovementAction) -> str:
    if action.target_kind == "dimension":
        return _("the other dimensions")
    return _("the rest of the bank")


def _points(value: float) -> str:
    return f"{value * 100:.1f}"


def sentence(judged, target: str, rest: str, windows: effect.Windows, min_n: int) -> str:
    """The verdict in plain words."""
    if judged.verdict == "open":
        return _(
            "Not judged yet: the after window is still open until %(date)s.",
            date=windows.after[1].isoformat(),
        )
    if judged.verdict == "not_enough":
        fewest = min(w.n for w in (judged.target_before, judged.target_after,
                                   judged.rest_before, judged.rest_after))  # fmt: skip
        return _(
            "Not enough answers yet: each of the four windows needs at least %(min_n)s "
            "answers, and the fewest has %(n)s.",
            min_n=min_n,
            n=fewest,
        )
    interval = {"low": _points(judged.low), "high": _points(judged.high)}
    if judged.verdict == "improved":
        return _(
            "CSAT of %(target)s rose %(points)s points more than %(rest)s "
            "(95%% interval %(low)s to %(high)s): improved.",
            target=target, rest=rest, points=_points(judged.estimate), **interval,
        )  # fmt: skip
    if judged.verdict == "fell":
        return _(
            "CSAT of %(target)s fell %(points)s points behind %(rest)s "
            "(95%% interval %(low)s to %(high)s): fell.",
            target=target, rest=rest, points=_points(-judged.estimate), **interval,
        )  # fmt: skip
    signed = f"{judged.estimate * 100:+.1f}"
    return _(
        "CSAT of %(target)s moved %(points)s points against %(rest)s, but the 95%% interval "
        "(%(low)s to %(high)s) includes 0: no clear change.",
        target=target, rest=rest, points=signed, **interval,
    )  # fmt: skip
