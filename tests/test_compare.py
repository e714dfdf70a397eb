"""Comparisons of a score table's groups with their references, against SciPy and statsmodels."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from survey.scoring.compare import (
    DOWN,
    UP,
    Comparison,
    Counts,
    compare_pair,
    compare_table,
    previous_period,
    rest,
    row_json,
    total,
)


def rating(values: list[int]) -> Counts:
    """The rollup's counts of some 5-point answers."""
    return Counts(
        n=len(values),
        total=sum(values),
        total_sq=sum(v * v for v in values),
        top=sum(v >= 4 for v in values),
        bottom=sum(v <= 2 for v in values),
    )


def nps(values: list[int]) -> Counts:
    """The rollup's counts of some 0–10 answers."""
    return Counts(
        n=len(values),
        total=sum(values),
        total_sq=sum(v * v for v in values),
        top=sum(v >= 9 for v in values),
        bottom=sum(v <= 6 for v in values),
    )


def kinds(ratings: list[int], scores: list[int]) -> dict[str, Counts]:
    return {"rating_5": rating(ratings), "nps_0_10": nps(scores)}


def test_the_rest_of_a_parent_is_the_parent_minus_the_group():
    team = kinds([5, 4, 3], [10, 9, 2])
    other_team = kinds([1, 2, 5, 5], [0, 7, 9, 10])
    parent = total([team, other_team])
    assert parent["rating_5"] == rating([5, 4, 3, 1, 2, 5, 5])
    assert rest(parent, team) == other_team


def test_a_group_that_is_not_part_of_its_parent_is_refused():
    with pytest.raises(ValueError):
        rating([5, 5]) - rating([5, 5, 5])


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    assert previous_period(date(2026, 11, 1), date(2026, 11, 30)) == (
        date(2026, 10, 2),
        date(2026, 10, 31),
    )
    assert previous_period(date(2026, 3, 1), date(2026, 3, 1)) == (
        date(2026, 2, 28),
        date(2026, 2, 28),
    )


def test_counts_read_from_a_row_without_sums_of_squares():
    assert Counts.from_mapping({"n": 3, "total": 12, "top": 2, "bottom": 0}) == Counts(3, 12, 0, 2)


def test_differences_are_group_minus_reference_in_each_metrics_units():
    group = kinds([5, 5, 4, 3, 1, 5], [10, 10, 9, 7, 3, 0])
    reference = kinds([3, 4, 2, 2, 1, 5, 3], [9, 8, 6, 5, 2, 10, 1])
    row = compare_pair(group, reference, min_n=5)
    assert row["csat"].difference == pytest.approx(4 / 6 - 2 / 7)
    assert row["nps"].difference == pytest.approx(((3 - 2) / 6 - (2 - 4) / 7) * 100)
    assert row["mean"].difference == pytest.approx(23 / 6 - 20 / 7)
    assert row["mean"].test == "welch" and row["nps"].test == "z"
    assert row["csat"].test == "fisher"  # 13 answers: expected cells below 5
    assert row["csat"].p_value == pytest.approx(sp.fisher_exact([[4, 2], [2, 5]]).pvalue, rel=1e-12)
    assert row["mean"].p_value == pytest.approx(
        sp.ttest_ind([5, 5, 4, 3, 1, 5], [3, 4, 2, 2, 1, 5, 3], equal_var=False).pvalue, rel=1e-9
    )


def test_below_the_minimum_n_on_either_side_there_is_no_difference_and_no_test():
    small = kinds([5, 5, 5, 5], [10, 10, 10, 10])
    large = kinds([1] * 50 + [2] * 50, [0] * 50 + [5] * 50)
    for row in (compare_pair(small, large, min_n=5), compare_pair(large, small, min_n=5)):
        assert row == {"csat": Comparison(), "nps": Comparison(), "mean": Comparison()}
    assert compare_pair(small, large, min_n=4)["csat"].p_value is not None


def test_a_metric_without_a_test_still_shows_its_difference():
    # All promoters on one side: NPS has no standard error there, so no test.
    row = compare_pair(kinds([5] * 6, [10] * 6), kinds([4] * 6, [9, 0, 7, 8, 10, 3]), min_n=5)
    assert row["nps"].difference == pytest.approx(100 - (2 - 2) / 6 * 100)
    assert (row["nps"].p_value, row["nps"].test, row["nps"].mark) == (None, None, None)
    # Both sides give every answer the same: no Welch test either.
    assert row["mean"] == Comparison(difference=1.0)


def test_q_values_adjust_each_metric_within_the_table_and_marks_follow_them():
    # Two teams clearly apart from the rest, one like it, one too small to test.
    table = [
        (
            kinds([5] * 180 + [3] * 20, [10] * 150 + [3] * 50),
            kinds([4] * 100 + [2] * 100, [8] * 100 + [9] * 50 + [6] * 50),
        ),
        (
            kinds([1] * 120 + [4] * 80, [0] * 160 + [10] * 40),
            kinds([4] * 150 + [2] * 50, [9] * 150 + [5] * 50),
        ),
        (
            kinds([4] * 60 + [3] * 40, [9] * 50 + [5] * 50),
            kinds([4] * 61 + [3] * 39, [9] * 49 + [5] * 51),
        ),
        (kinds([5, 5], [10, 10]), kinds([1] * 30, [0] * 30)),
    ]
    rows = compare_table(table, min_n=5)
    for metric in ("csat", "nps", "mean"):
        p = [row[metric].p_value for row in rows[:3]]
        assert rows[3][metric].p_value is None and rows[3][metric].q_value is None
        expected = multipletests(p, method="fdr_bh")[1]
        assert [row[metric].q_value for row in rows[:3]] == pytest.approx(list(expected))
    assert [rows[i]["csat"].mark for i in range(4)] == [UP, DOWN, None, None]
    assert [rows[i]["mean"].mark for i in range(4)] == [UP, DOWN, None, None]
    assert [rows[i]["nps"].mark for i in range(4)] == [UP, DOWN, None, None]
    first = rows[0]["csat"]
    assert first.test == "z"
    assert first.p_value == pytest.approx(proportions_ztest([200, 100], [200, 200])[1], rel=1e-9)
    assert row_json(rows[0])["csat"] == {
        "difference": first.difference,
        "p_value": first.p_value,
        "q_value": first.q_value,
        "test": "z",
        "mark": UP,
    }


def test_a_mark_needs_the_adjusted_q_not_the_raw_p():
    # p just under 0.05 in two rows of a table of six: BH lifts their q over 0.05.
    table = [(kinds([5] * 31 + [1] * 9, []), kinds([5] * 22 + [1] * 18, []))] * 2
    table += [(kinds([5] * 20 + [1] * 20, []), kinds([5] * 20 + [1] * 20, []))] * 4
    rows = compare_table(table, min_n=5)
    assert rows[0]["csat"].p_value < 0.05
    assert rows[0]["csat"].q_value >= 0.05
    assert all(row["csat"].mark is None for row in rows)


answers = st.lists(st.integers(1, 5), max_size=40)
scores = st.lists(st.integers(0, 10), max_size=40)
sides = st.builds(kinds, answers, scores)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(sides, sides), max_size=8), st.integers(1, 6))
def test_a_table_matches_an_independent_computation(table, min_n):
    rows = compare_table(table, min_n)
    for metric in ("csat", "nps", "mean"):
        tested = [row[metric].p_value for row in rows if row[metric].p_value is not None]
        q = iter(multipletests(tested, method="fdr_bh")[1] if tested else [])
        for (group, reference), row in zip(table, rows, strict=True):
            comparison = row[metric]
            kind = "nps_0_10" if metric == "nps" else "rating_5"
            g, r = group[kind], reference[kind]
            if min(g.n, r.n) < min_n or min(g.n, r.n) == 0:
                assert comparison == Comparison()
                continue
            if metric == "csat":
                assert comparison.difference == pytest.approx(g.top / g.n - r.top / r.n)
            elif metric == "mean":
                assert comparison.difference == pytest.approx(g.total / g.n - r.total / r.n)
            else:
                assert comparison.difference == pytest.approx(
                    ((g.top - g.bottom) / g.n - (r.top - r.bottom) / r.n) * 100
                )
            if comparison.p_value is None:
                assert comparison.q_value is None and comparison.mark is None
                continue
            expected_q = next(q)
            assert comparison.q_value == pytest.approx(expected_q, rel=1e-12)
            marked = expected_q < 0.05 and comparison.difference != 0
            assert (comparison.mark is not None) == marked
            if marked:
                assert comparison.mark == (UP if comparison.difference > 0 else DOWN)
