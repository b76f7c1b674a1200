"""Calibrated uncertainties and min-max normalisation (pure numpy)."""

import numpy as np
import pytest

from raveview.ml.calibration import ONE_SIGMA, Calibration, coverage, fit_calibration
from raveview.ml.ensemble import select_members
from raveview.ml.normalisation import MinMax


def _sample(rng, n):
    sigma = rng.uniform(0.2, 2.0, (n, 2))
    true = np.sqrt((np.array([2.0, 0.5]) * sigma) ** 2 + np.array([0.5, 1.0]) ** 2)
    return rng.normal(0, true), sigma


def test_calibration_reaches_68_percent_coverage():
    rng = np.random.default_rng(3)
    resid, sigma = _sample(rng, 4000)
    cal = fit_calibration(resid, sigma, ["teff", "logg"])
    assert np.all(cal.coverage_before[0] < 0.5)  # raw spread underestimates the error
    assert cal.coverage_after == pytest.approx([ONE_SIGMA, ONE_SIGMA], abs=0.005)
    assert cal.scale == pytest.approx([2.0, 0.5], rel=0.15)
    assert cal.floor == pytest.approx([0.5, 1.0], rel=0.25)
    fresh_resid, fresh_sigma = _sample(np.random.default_rng(4), 4000)
    assert coverage(fresh_resid, cal.apply(fresh_sigma)) == pytest.approx([ONE_SIGMA] * 2, abs=0.03)
    again = Calibration.from_dict(cal.to_dict())
    assert np.array_equal(again.apply(sigma), cal.apply(sigma))


def test_minmax_round_trip_and_published_formula():
    x = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, np.nan]])
    norm = MinMax.fit(x, ["a", "b"])
    np.testing.assert_allclose(norm.transform([[2.0, 20.0]]), [[0.5, 0.5]])
    np.testing.assert_allclose(norm.inverse(norm.transform(x[:2])), x[:2])
    assert MinMax.from_dict(norm.to_dict()).to_dict() == norm.to_dict()


def test_selection_keeps_members_below_80th_percentile():
    losses = np.arange(1.0, 11.0)
    assert select_members(losses).sum() == 8
    assert not select_members(losses)[-2:].any()
    assert select_members(np.array([0.5])).tolist() == [True]
    assert select_members(np.array([0.1, np.nan, 0.2])).tolist() == [True, False, False]
