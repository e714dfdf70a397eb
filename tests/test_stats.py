"""The statistics of survey/scoring/stats.py against hand-computed cases and SciPy/statsmodels.

SciPy and statsmodels are the references here only; the product computes with pure
Python. Edges: n = 0, 1, 2, every answer the same, shares of 0 and 1, Fisher's
switch-over at an expected cell count of 5.
"""

from __future__ import annotations

import itertools
import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from survey.scoring import formulas, stats

REL = 1e-9
ratings = st.lists(st.integers(1, 5), min_size=0, max_size=60)
SOME = settings(max_examples=150, deadline=None)


def sums(values: list[int]) -> tuple[int, int, int]:
    return len(values), sum(values), sum(v * v for v in values)


# --- the mean's interval --------------------------------------------------------------------


def test_mean_interval_of_one_to_five_by_hand():
    # mean 3, s² = 2.5, t(0.975, 4) = 2.7764451; half width 2.7764451·√(2.5/5) = 1.9632432.
    low, high = stats.mean_interval(*sums([1, 2, 3, 4, 5]))
    assert (round(low, 6), round(high, 6)) == (1.036757, 4.963243)


def test_mean_interval_needs_two_answers_and_the_minimum_n():
    assert stats.mean_interval(0, 0, 0) is None
    assert stats.mean_interval(*sums([4])) is None
    assert stats.mean_interval(*sums([4, 5])) is not None
    assert stats.mean_interval(*sums([4, 5, 3, 4]), min_n=5) is None
    assert stats.mean_interval(*sums([4, 5, 3, 4, 2]), min_n=5) is not None


def test_mean_interval_of_identical_answers_is_the_answer():
    assert stats.mean_interval(*sums([4] * 7)) == (4.0, 4.0)
    assert stats.mean_interval(*sums([5, 5])) == (5.0, 5.0)


def test_mean_interval_of_two_answers_uses_one_degree_of_freedom():
    # n = 2: half width t(0.975, 1)·s/√2 with s = √0.5.
    low, high = stats.mean_interval(*sums([4, 5]))
    half = 12.706204736174707 * math.sqrt(0.5) / math.sqrt(2)
    assert (low, high) == pytest.approx((4.5 - half, 4.5 + half), rel=1e-12)


@SOME
@given(ratings)
def test_mean_interval_matches_scipy(values):
    interval = stats.mean_interval(*sums(values))
    if len(values) < 2:
        assert interval is None
        return
    if len(set(values)) == 1:
        assert interval == (values[0], values[0])
        return
    expected = sp.t.interval(
        0.95, len(values) - 1, loc=statistics.fmean(values), scale=sp.sem(values)
    )
    assert interval == pytest.approx(expected, rel=1e-9)


# --- CSAT: z-test and Fisher ----------------------------------------------------------------


def test_fisher_exact_on_every_small_table_matches_scipy():
    for a, b, c, d in itertools.product(range(7), repeat=4):
        expected = sp.fisher_exact([[a, b], [c, d]]).pvalue
        assert stats.fisher_exact(a, b, c, d) == pytest.approx(expected, rel=1e-9), (a, b, c, d)


def test_fisher_exact_on_lopsided_large_tables_matches_scipy():
    for table in ((3, 1, 0, 2000), (1, 999, 40, 60), (2, 5000, 3, 90000), (0, 12, 4, 1000)):
        a, b, c, d = table
        expected = sp.fisher_exact([[a, b], [c, d]]).pvalue
        assert stats.fisher_exact(*table) == pytest.approx(expected, rel=1e-8), table


def test_fisher_exact_of_the_lady_tasting_tea():
    # Fisher's own table [[3, 1], [1, 3]]: P = (1 + 16 + 16 + 1) / 70 … two-sided 34/70.
    assert stats.fisher_exact(3, 1, 1, 3) == pytest.approx(34 / 70, rel=1e-12)


def test_csat_test_switches_to_fisher_below_an_expected_count_of_five():
    # 10 and 10 answers, 10 of them 4–5: every expected cell is exactly 5, so the z-test.
    at_five = stats.csat_test(7, 10, 3, 10)
    assert at_five.test == "z"
    z, p = proportions_ztest([7, 3], [10, 10])
    assert at_five.p_value == pytest.approx(p, rel=1e-12)
    # 9 of them 4–5: the smallest expected cell is 4.5, so Fisher's exact test.
    below = stats.csat_test(7, 10, 2, 10)
    assert below.test == "fisher"
    assert below.p_value == pytest.approx(sp.fisher_exact([[7, 3], [2, 8]]).pvalue, rel=1e-12)


def test_csat_test_by_hand():
    # 80/100 against 60/100: pooled 0.7, SE √(0.21·0.02) = 0.0648074, z = 3.0861, p = 0.002028.
    result = stats.csat_test(80, 100, 60, 100)
    assert result.test == "z"
    assert round(result.p_value, 6) == 0.002028


def test_csat_test_at_shares_of_zero_and_one():
    assert stats.csat_test(0, 40, 0, 60) == stats.TestResult(1.0, "fisher")
    assert stats.csat_test(40, 40, 60, 60) == stats.TestResult(1.0, "fisher")
    everyone_against_no_one = stats.csat_test(50, 50, 0, 50)
    assert everyone_against_no_one.test == "z"
    assert everyone_against_no_one.p_value == pytest.approx(
        proportions_ztest([50, 0], [50, 50])[1], rel=1e-9
    )


def test_csat_test_needs_answers_on_both_sides():
    assert stats.csat_test(0, 0, 3, 10) is None
    assert stats.csat_test(3, 10, 0, 0) is None
    one_each = stats.csat_test(1, 1, 0, 1)
    assert one_each == stats.TestResult(1.0, "fisher")


@SOME
@given(st.integers(1, 400), st.integers(1, 400), st.data())
def test_csat_test_matches_statsmodels_or_scipy(n1, n2, data):
    top1 = data.draw(st.integers(0, n1))
    top2 = data.draw(st.integers(0, n2))
    result = stats.csat_test(top1, n1, top2, n2)
    tops = top1 + top2
    smallest = min(n1, n2) * min(tops, n1 + n2 - tops) / (n1 + n2)
    if smallest < 5:
        assert result.test == "fisher"
        expected = sp.fisher_exact([[top1, n1 - top1], [top2, n2 - top2]]).pvalue
    else:
        assert result.test == "z"
        expected = proportions_ztest([top1, top2], [n1, n2])[1]
    assert result.p_value == pytest.approx(expected, rel=1e-8, abs=1e-300)


# --- NPS --------------------------------------------------------------------------------------


def test_nps_test_by_hand():
    # 50 promoters, 20 detractors of 100 (NPS 30) against 30 and 30 of 100 (NPS 0).
    se1 = math.sqrt((0.5 + 0.2 - 0.3**2) / 100)
    se2 = math.sqrt((0.3 + 0.3 - 0.0**2) / 100)
    z = 0.3 / math.sqrt(se1**2 + se2**2)
    result = stats.nps_test(50, 20, 100, 30, 30, 100)
    assert result == stats.TestResult(pytest.approx(2 * sp.norm.sf(z), rel=1e-12), "z")
    assert round(z, 4) == 2.7273  # 0.3 / √(0.0061 + 0.006)


def test_nps_standard_error_is_the_margins_definition():
    for promoters, detractors, n in ((50, 20, 100), (3, 1, 7), (0, 9, 9), (1, 0, 1)):
        margin = formulas.nps_margin(promoters, detractors, n)
        se = stats.nps_standard_error(promoters, detractors, n)
        assert se * 1.96 * 100 == pytest.approx(margin, rel=1e-12)


def test_nps_test_is_not_made_when_either_side_has_no_spread():
    assert stats.nps_test(10, 0, 10, 3, 4, 10) is None  # all promoters: SE 0
    assert stats.nps_test(3, 4, 10, 0, 0, 8) is None  # all passives: SE 0
    assert stats.nps_test(3, 4, 10, 0, 0, 0) is None
    assert stats.nps_test(1, 0, 1, 1, 1, 2) is None  # one answer has no spread


# --- the mean: Welch ------------------------------------------------------------------------


def test_welch_test_by_hand():
    # [1, 2, 3, 4, 5] (var 2.5) against [4, 4, 5, 5] (var 1/3): t = −1.5/√(0.5 + 1/12), df = 5.25.
    result = stats.welch_test(*sums([1, 2, 3, 4, 5]), *sums([4, 4, 5, 5]))
    a, b = 2.5 / 5, (1 / 3) / 4
    t = (3 - 4.5) / math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / 4 + b * b / 3)
    assert (round(t, 4), round(df, 4)) == (-1.964, 5.25)
    assert result.test == "welch"
    assert result.p_value == pytest.approx(2 * sp.t.sf(abs(t), df), rel=1e-10)


def test_welch_test_needs_two_answers_a_side_and_some_variance():
    assert stats.welch_test(*sums([]), *sums([1, 2])) is None
    assert stats.welch_test(*sums([3]), *sums([1, 2])) is None
    assert stats.welch_test(*sums([4, 4]), *sums([5, 5, 5])) is None
    one_varies = stats.welch_test(*sums([4, 4, 4]), *sums([1, 5, 3]))
    assert one_varies is not None
    expected = sp.ttest_ind_from_stats(4, 0, 3, 3, 2, 3, equal_var=False).pvalue
    assert one_varies.p_value == pytest.approx(expected, rel=1e-10)


@SOME
@given(ratings, ratings)
def test_welch_test_matches_scipy(first, second):
    result = stats.welch_test(*sums(first), *sums(second))
    if len(first) < 2 or len(second) < 2 or (len(set(first)) == 1 and len(set(second)) == 1):
        assert result is None
        return
    expected = sp.ttest_ind_from_stats(
        statistics.fmean(first),
        statistics.stdev(first),
        len(first),
        statistics.fmean(second),
        statistics.stdev(second),
        len(second),
        equal_var=False,
    ).pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-7, abs=1e-14)


# --- Benjamini–Hochberg ---------------------------------------------------------------------


def test_bh_by_hand():
    # m = 4: 0.01·4/1 = 0.04, 0.02·4/2 = 0.04, 0.03·4/3 = 0.04, 0.5·4/4 = 0.5.
    assert stats.bh_qvalues([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.04, 0.5, 0.04, 0.04])


def test_bh_keeps_q_values_monotone_and_at_most_one():
    q = stats.bh_qvalues([0.9, 0.04, 0.041, 0.95])
    assert q == pytest.approx([0.95, 0.082, 0.082, 0.95])
    assert stats.bh_qvalues([1.0, 0.99]) == [1.0, 1.0]


def test_bh_passes_untested_rows_through_and_does_not_count_them():
    assert stats.bh_qvalues([None, 0.01, None, 0.04]) == [None, 0.02, None, 0.04]
    assert stats.bh_qvalues([]) == [] and stats.bh_qvalues([None]) == [None]


@SOME
@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), max_size=40))
def test_bh_matches_statsmodels(p_values):
    q_values = stats.bh_qvalues(p_values)
    tested = [p for p in p_values if p is not None]
    assert [q is None for q in q_values] == [p is None for p in p_values]
    if not tested:
        return
    expected = iter(multipletests(tested, alpha=0.05, method="fdr_bh")[1])
    for q in q_values:
        if q is not None:
            assert q == pytest.approx(next(expected), rel=1e-12, abs=1e-300)


# --- Pearson ----------------------------------------------------------------------------------


def pair_sums(pairs: list[tuple[int, int]]) -> tuple[int, ...]:
    xs = [x for x, _ in pairs]
    ys = [y for _, y in pairs]
    return (
        len(pairs),
        sum(xs),
        sum(ys),
        sum(x * x for x in xs),
        sum(y * y for y in ys),
        sum(x * y for x, y in pairs),
    )


def test_pearson_by_hand():
    # x = 1..5, y = 2, 4, 5, 4, 5: Sxy = 6, Sxx = 10, Syy = 6 → r = 6/√60 = 0.774597.
    result = stats.pearson(*pair_sums([(1, 2), (2, 4), (3, 5), (4, 4), (5, 5)]))
    assert round(result.r, 6) == 0.774597
    z, half = math.atanh(result.r), 1.959963984540054 / math.sqrt(2)
    assert (result.low, result.high) == pytest.approx((math.tanh(z - half), math.tanh(z + half)))


def test_pearson_needs_four_pairs_and_variance_on_both_sides():
    assert stats.pearson(*pair_sums([])) is None
    assert stats.pearson(*pair_sums([(1, 2), (2, 3), (3, 5)])) is None
    assert stats.pearson(*pair_sums([(1, 2), (2, 3), (3, 5), (4, 4)])) is not None
    assert stats.pearson(*pair_sums([(4, 1), (4, 2), (4, 3), (4, 5)])) is None
    assert stats.pearson(*pair_sums([(1, 3), (2, 3), (3, 3), (4, 3)])) is None


def test_pearson_of_a_perfect_line_is_one_with_no_width():
    result = stats.pearson(*pair_sums([(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]))
    assert (result.r, result.low, result.high) == (1.0, 1.0, 1.0)
    result = stats.pearson(*pair_sums([(1, 5), (2, 4), (3, 3), (4, 2)]))
    assert (result.r, result.low, result.high) == (-1.0, -1.0, -1.0)


@SOME
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), max_size=80))
def test_pearson_matches_scipy(pairs):
    result = stats.pearson(*pair_sums(pairs))
    xs = [x for x, _ in pairs]
    ys = [y for _, y in pairs]
    if len(pairs) < 4 or len(set(xs)) == 1 or len(set(ys)) == 1:
        assert result is None
        return
    expected = sp.pearsonr(xs, ys)
    assert result.r == pytest.approx(expected.statistic, abs=1e-12)
    if abs(result.r) < 1:
        low, high = expected.confidence_interval(0.95)
        assert (result.low, result.high) == pytest.approx((low, high), abs=1e-9)


def test_pearson_at_another_confidence_matches_scipy():
    xs, ys = [1, 2, 3, 4, 5, 2, 4], [2, 4, 5, 4, 5, 1, 3]
    pairs = list(zip(xs, ys, strict=True))
    result = stats.pearson(*pair_sums(pairs), confidence=0.9)
    low, high = sp.pearsonr(xs, ys).confidence_interval(0.9)
    assert (result.low, result.high) == pytest.approx((low, high), abs=1e-9)
