"""Student's t and the normal distribution of survey/scoring/distributions.py against SciPy."""

from __future__ import annotations

import itertools

import pytest
from scipy import stats as sp
from scipy.special import betainc

from survey.scoring import distributions

REL = 1e-9


@pytest.mark.parametrize("df", [1, 2, 3, 4.5, 9, 30, 120, 1e4, 1e6, 2e7])
def test_student_t_cdf_tail_and_quantile_match_scipy(df):
    for t in (0.0, 1e-4, 0.3, 1.0, 1.96, 2.5, 4.0, 12.0, 300.0):
        assert distributions.t_cdf(t, df) == pytest.approx(sp.t.cdf(t, df), rel=REL)
        assert distributions.t_cdf(-t, df) == pytest.approx(sp.t.cdf(-t, df), rel=REL, abs=1e-300)
        assert distributions.t_two_sided(t, df) == pytest.approx(
            2 * sp.t.sf(t, df), rel=REL, abs=1e-300
        )
    for p in (1e-9, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999):
        assert distributions.t_quantile(p, df) == pytest.approx(sp.t.ppf(p, df), rel=REL, abs=1e-12)


def test_student_t_quantile_inverts_the_cdf_far_into_the_tails():
    for df in (1, 2.5, 7, 1000):
        for p in (1e-12, 1e-6, 0.1, 0.9, 1 - 1e-9):
            assert distributions.t_cdf(distributions.t_quantile(p, df), df) == pytest.approx(
                p, rel=1e-8
            )


def test_textbook_t_quantiles():
    # Printed t tables, two-sided 95%.
    assert round(distributions.t_quantile(0.975, 1), 3) == 12.706
    assert round(distributions.t_quantile(0.975, 4), 3) == 2.776
    assert round(distributions.t_quantile(0.975, 29), 3) == 2.045


def test_normal_cdf_and_the_95_quantile_match_scipy():
    for x in (-38.0, -8.0, -1.96, 0.0, 0.5, 3.0):
        assert distributions.normal_cdf(x) == pytest.approx(sp.norm.cdf(x), rel=REL)
        assert distributions.normal_two_sided(x) == pytest.approx(2 * sp.norm.sf(abs(x)), rel=REL)
    assert abs(distributions.Z95 - sp.norm.ppf(0.975)) < 1e-15


def test_regularized_beta_matches_scipy():
    for a, b, x in itertools.product((0.5, 1, 3.5, 40, 5000), (0.5, 2, 30), (0.01, 0.3, 0.9)):
        assert distributions.regularized_beta(a, b, x) == pytest.approx(betainc(a, b, x), rel=1e-9)
    assert (
        distributions.regularized_beta(2, 3, 0.0) == 0.0
        and distributions.regularized_beta(2, 3, 1.0) == 1.0
    )


def test_normal_quantile_matches_scipy():
    for p in (1e-10, 0.05, 0.5, 0.9, 0.975, 1 - 1e-9):
        assert distributions.normal_quantile(p) == pytest.approx(
            sp.norm.ppf(p), rel=1e-9, abs=1e-12
        )


def test_the_95_quantile_takes_few_tail_evaluations_from_3_degrees_of_freedom(monkeypatch):
    # The mean's interval asks for one quantile a group: each tail is an incomplete beta
    # function, so Newton starts near the answer (Cornish–Fisher) rather than at t = 1.
    calls = []
    tail = distributions._t_tail

    def counted(t, df):
        calls.append(t)
        return tail(t, df)

    monkeypatch.setattr(distributions, "_t_tail", counted)
    for df in (3, 3.5, 7, 29, 30, 120, 1000, 12_345, 1e6, 2e7):
        calls.clear()
        found = distributions.t_quantile.__wrapped__(0.975, df)
        assert found == pytest.approx(sp.t.ppf(0.975, df), rel=1e-13)
        assert len(calls) <= 4, (df, len(calls))
