"""The difference in differences of survey/scoring/did.py against cases worked by hand.

Each case writes out the arithmetic: the four shares, Δ target − Δ rest, the variance
Σ p(1 − p)/n, SE = √variance and the interval estimate ± 1.959964·SE.
"""

from __future__ import annotations

import pytest

from survey.scoring.did import Share, difference_in_differences

Z = 1.959963984540054


def judge(tb, ta, rb, ra, min_n=5, finished=True):
    return difference_in_differences(
        Share(*tb), Share(*ta), Share(*rb), Share(*ra), min_n=min_n, after_finished=finished
    )


def test_a_target_that_rose_far_more_than_the_rest_improved():
    # Target 60/100 -> 80/100 (+0.20); rest 700/1000 -> 710/1000 (+0.01); estimate 0.19.
    # Variance .6·.4/100 + .8·.2/100 + .7·.3/1000 + .71·.29/1000
    #        = .0024 + .0016 + .00021 + .0002059 = .0044159; SE = .0664522.
    # Interval .19 ± 1.959964·.0664522 = .19 ± .1302440 -> (.0597560, .3202440): above 0.
    effect = judge((60, 100), (80, 100), (700, 1000), (710, 1000))
    assert effect.verdict == "improved"
    assert effect.target_change == pytest.approx(0.20)
    assert effect.rest_change == pytest.approx(0.01)
    assert effect.estimate == pytest.approx(0.19)
    assert effect.standard_error == pytest.approx(0.0044159**0.5)
    assert effect.low == pytest.approx(0.0597560, abs=1e-7)
    assert effect.high == pytest.approx(0.3202440, abs=1e-7)


def test_an_interval_that_includes_zero_is_no_clear_change():
    # Target 50/100 -> 55/100 (+.05); rest 500/1000 -> 500/1000 (0); estimate .05.
    # Variance .0025 + .002475 + .00025 + .00025 = .005475; SE = .0739932.
    # Interval .05 ± .1450241 -> (−.0950241, .1950241): 0 inside.
    effect = judge((50, 100), (55, 100), (500, 1000), (500, 1000))
    assert effect.verdict == "no_change"
    assert effect.estimate == pytest.approx(0.05)
    assert (effect.low, effect.high) == pytest.approx((-0.0950241, 0.1950241), abs=1e-7)


def test_a_target_that_dropped_while_the_rest_held_fell():
    # Target 80/100 -> 60/100 (−.20); rest 70/100 -> 70/100; estimate −.20.
    # Variance .0016 + .0024 + .0021 + .0021 = .0082; SE = .0905539.
    # Interval −.20 ± .1774823 -> (−.3774823, −.0225177): below 0.
    effect = judge((80, 100), (60, 100), (70, 100), (70, 100))
    assert effect.verdict == "fell"
    assert (effect.low, effect.high) == pytest.approx((-0.3774823, -0.0225177), abs=1e-7)


def test_a_rise_the_whole_bank_shared_is_not_credited_to_the_action():
    # Target 60/100 -> 80/100 and rest 600/1000 -> 800/1000: both +.20, estimate 0.
    # Variance .0024 + .0016 + .00024 + .00016 = .0044; SE = .0663325; interval ±.1300093.
    effect = judge((60, 100), (80, 100), (600, 1000), (800, 1000))
    assert effect.verdict == "no_change"
    assert effect.target_change == pytest.approx(0.20)
    assert effect.estimate == pytest.approx(0.0, abs=1e-12)
    assert (effect.low, effect.high) == pytest.approx((-0.1300093, 0.1300093), abs=1e-7)


@pytest.mark.parametrize("short", range(4))
def test_any_window_under_min_n_is_not_enough_answers_yet(short):
    windows = [(60, 100), (80, 100), (700, 1000), (710, 1000)]
    windows[short] = (4, 4)  # four answers, all satisfied: still too few to say anything
    effect = judge(*windows, min_n=5)
    assert effect.verdict == "not_enough"
    assert effect.estimate is None and effect.low is None and not effect.judged
    windows[short] = (5, 5)
    assert judge(*windows, min_n=5).judged


def test_an_empty_window_is_not_enough_even_with_min_n_zero():
    effect = judge((0, 0), (8, 10), (70, 100), (71, 100), min_n=0)
    assert effect.verdict == "not_enough"


def test_an_after_window_still_running_is_not_judged_however_clear():
    effect = judge((60, 100), (100, 100), (700, 1000), (710, 1000), finished=False)
    assert effect.verdict == "open"
    assert effect.estimate is None and effect.target_change is None
    # The counts so far are still there to show.
    assert effect.target_after == Share(100, 100)


def test_a_share_outside_its_n_is_refused():
    with pytest.raises(ValueError):
        Share(6, 5)
    with pytest.raises(ValueError):
        Share(-1, 5)
