"""survey.scoring.queries.counts: one group's counts per kind, however many rows hold them."""

from __future__ import annotations

from datetime import date

from survey.models.rollup import FINEST
from survey.scoring import planner, queries
from survey.scoring.rollup import periods

DAY = date(2026, 6, 10)


def _put(db, agent_id: int, kind: str, n: int, top: int, channel: str = "phone") -> None:
    """One row of the finest rollup table (the plan these tests read)."""
    row = {
        **periods(DAY),
        **dict.fromkeys(("business_line_id", "team_id", "survey_id"), 0),
        **dict.fromkeys(("survey_channel", "category", "interaction_type", "cause"), ""),
        "agent_id": agent_id,
        "channel": channel,
        "kind": kind,
        "dimension": "overall",
        "n": n,
        "total": 4 * n,
        "total_sq": 16 * n,
        "top": top,
        "bottom": 0,
    }
    db.session.execute(FINEST.table.insert().values(**row))
    db.session.commit()


def _counts(group_by: tuple[str, ...]) -> queries.Tally:
    sums, _plan = queries.counts(
        queries.ScoreQuery(DAY, DAY, group_by=group_by), planner.finest(DAY, DAY)
    )
    return sums


def test_ids_with_no_code_count_as_one_group_and_absent_kinds_stay_absent(db):
    # No agent (0) and an agent id whose row is gone are both shown as none: one group.
    _put(db, 0, "rating_5", 3, 2)
    _put(db, 987_654, "rating_5", 4, 4)
    _put(db, 987_654, "rating_5", 1, 0, channel="chat")
    _put(db, 987_654, "nps_0_10", 5, 1)
    assert _counts(("agent",)) == {
        (None,): {
            "rating_5": {"n": 8, "total": 32, "total_sq": 128, "top": 6, "bottom": 0},
            "nps_0_10": {"n": 5, "total": 20, "total_sq": 80, "top": 1, "bottom": 0},
        }
    }
    # Without a grouping, one group; a kind nobody answered is not there at all.
    assert set(_counts(())[()]) == {"rating_5", "nps_0_10"}
    by_channel = _counts(("channel",))
    assert set(by_channel) == {("phone",), ("chat",)}
    assert by_channel[("chat",)] == {
        "rating_5": {"n": 1, "total": 4, "total_sq": 16, "top": 0, "bottom": 0}
    }
