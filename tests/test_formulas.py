"""Score formulas against hand-computed cases; no app, no database."""

from __future__ import annotations

import math

import pytest

from survey.scoring import formulas


def test_csat_is_the_share_of_four_and_five():
    assert formulas.csat(8, 10) == pytest.approx(0.8)
    assert formulas.csat(0, 3) == 0.0
    assert formulas.csat(3, 3) == 1.0


def test_wilson_interval_for_eight_of_ten_matches_the_textbook_value():
    low, high = formulas.wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


def test_wilson_interval_for_fifty_of_a_hundred_is_symmetric():
    # p = 0.5, n = 100: centre 0.5, half-width 1.96·sqrt(0.0025 + 0.000096)/1.038416.
    low, high = formulas.wilson_interval(50, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)


def test_wilson_interval_stays_inside_zero_and_one_at_the_extremes():
    low, high = formulas.wilson_interval(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    low, high = formulas.wilson_interval(10, 10)
    assert round(low, 4) == 0.7225 and high == 1.0


def test_wilson_interval_narrows_as_n_grows():
    small = formulas.wilson_interval(8, 10)
    large = formulas.wilson_interval(800, 1000)
    assert large[1] - large[0] < small[1] - small[0]
    assert large[0] < 0.8 < large[1]


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError):
        formulas.wilson_interval(11, 10)


def test_nps_is_promoters_minus_detractors_in_points():
    # 5 promoters, 3 passives, 2 detractors out of 10.
    assert formulas.nps(5, 2, 10) == pytest.approx(30.0)
    assert formulas.nps(10, 0, 10) == 100.0
    assert formulas.nps(0, 7, 7) == -100.0
    assert formulas.nps(0, 0, 4) == 0.0  # all passives


def test_nps_margin_uses_the_variance_of_plus_one_zero_minus_one():
    # p_pro = 0.5, p_det = 0.2: var = 0.7 − 0.09 = 0.61; moe = 1.96·sqrt(0.061)·100.
    assert formulas.nps_margin(5, 2, 10) == pytest.approx(1.96 * math.sqrt(0.061) * 100)
    assert round(formulas.nps_margin(5, 2, 10), 2) == 48.41


def test_nps_margin_is_zero_when_everyone_answers_alike():
    assert formulas.nps_margin(10, 0, 10) == 0.0
    assert formulas.nps_margin(0, 10, 10) == 0.0
    assert formulas.nps_margin(0, 0, 10) == 0.0


def test_nps_refuses_counts_that_do_not_fit():
    with pytest.raises(ValueError):
        formulas.nps(6, 5, 10)


def test_ces_is_the_share_of_five_to_seven():
    assert formulas.ces(3, 4) == pytest.approx(0.75)


def test_mean_is_total_over_n():
    assert formulas.mean(38, 10) == pytest.approx(3.8)


def test_no_answers_give_no_score():
    assert formulas.csat(0, 0) is None
    assert formulas.ces(0, 0) is None
    assert formulas.mean(0, 0) is None
    assert formulas.wilson_interval(0, 0) is None
    assert formulas.nps(0, 0, 0) is None
    assert formulas.nps_margin(0, 0, 0) is None


def test_below_the_minimum_n_no_score_is_shown():
    assert formulas.csat(4, 4, min_n=5) is None
    assert formulas.wilson_interval(4, 4, min_n=5) is None
    assert formulas.nps(4, 0, 4, min_n=5) is None
    assert formulas.nps_margin(4, 0, 4, min_n=5) is None
    assert formulas.ces(4, 4, min_n=5) is None
    assert formulas.mean(20, 4, min_n=5) is None
    assert formulas.csat(4, 5, min_n=5) == pytest.approx(0.8)
    assert formulas.enough(5, 5) and not formulas.enough(4, 5)
