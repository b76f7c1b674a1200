"""Qt-free numbers behind the validation plots: bias/scatter, coverage, repeat precision."""

from __future__ import annotations

import math

import numpy as np
import pytest

from raveview.core.errors import TrainingDataError
from raveview.ml.validation import Validation, coverage_curve, gaussian_coverage, label_stats
from raveview.pipeline.repeats import fit_two_gaussians, pair_differences, repeat_pairs, repeat_precision


def test_label_stats_bias_and_sigma():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(20000, 2))
    pred = y + np.column_stack([rng.normal(50.0, 90.0, 20000), rng.normal(-0.1, 0.13, 20000)])
    stats = label_stats(y, pred, ["teff", "logg"])
    assert stats["teff"].n == 20000
    assert stats["teff"].bias == pytest.approx(50.0, abs=2.0)
    assert stats["teff"].sigma == pytest.approx(90.0, rel=0.02)
    assert stats["logg"].bias == pytest.approx(-0.1, abs=0.005)
    assert stats["logg"].sigma == pytest.approx(0.13, rel=0.02)


def test_label_stats_ignores_nan_and_checks_shapes():
    y = np.array([[1.0], [2.0], [3.0]])
    pred = np.array([[2.0], [np.nan], [4.0]])
    s = label_stats(y, pred, ["teff"])["teff"]
    assert (s.n, s.bias, s.sigma) == (2, 1.0, 0.0)
    with pytest.raises(TrainingDataError):
        label_stats(y, pred[:2], ["teff"])


def test_coverage_of_gaussian_residuals_follows_erf():
    rng = np.random.default_rng(1)
    sigma = rng.uniform(0.5, 2.0, size=(50000, 1))
    resid = rng.normal(size=sigma.shape) * sigma
    k = np.array([0.0, 1.0, 2.0])
    cov = coverage_curve(resid, sigma, k)
    assert cov.shape == (3, 1)
    assert cov[0, 0] == pytest.approx(0.0, abs=1e-3)
    np.testing.assert_allclose(cov[:, 0], gaussian_coverage(k), atol=0.01)
    # an uncertainty half as large covers fewer residuals: about 38 % within "1 sigma"
    assert coverage_curve(resid, sigma / 2, [1.0])[0, 0] == pytest.approx(0.383, abs=0.01)


def test_validation_splits():
    y = np.zeros((4, 1))
    pred = np.array([[1.0], [1.0], [3.0], [5.0]])
    v = Validation(("teff",), y, pred, np.ones((4, 1)), None, np.array([False, False, True, True]))
    assert v.stats("train")["teff"].bias == 1.0
    assert v.stats("test")["teff"].bias == 4.0
    assert v.stats("all")["teff"].n == 4
    assert v.coverage(split="train", k=np.array([1.0]))[0, 0] == 1.0
    assert v.coverage(calibrated=True, split="test", k=np.array([1.0]))[0, 0] == 0.0  # falls back to raw


def test_repeat_pairs_group_by_source():
    ids = ["7", "8", "7", None, "7", "9", "8", float("nan"), ""]
    pairs = repeat_pairs(ids)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 2), (0, 4), (1, 6), (2, 4)]
    values = np.arange(9, dtype=float)[:, None] * 10
    np.testing.assert_array_equal(pair_differences(values, pairs)[:, 0], values[pairs[:, 0], 0] - values[pairs[:, 1], 0])
    assert repeat_pairs(["1", "2"]).shape == (0, 2)


def test_two_gaussian_fit_recovers_core_and_wings():
    rng = np.random.default_rng(3)
    d = np.concatenate([rng.normal(0.02, 0.05, 8000), rng.normal(0.02, 0.3, 2000)])
    fit = fit_two_gaussians(d)
    assert fit.n == 10000
    assert fit.mu == pytest.approx(0.02, abs=0.005)
    assert fit.sigma_narrow == pytest.approx(0.05, rel=0.08)
    assert fit.sigma_broad == pytest.approx(0.3, rel=0.1)
    assert fit.weight_narrow == pytest.approx(0.8, abs=0.04)
    assert fit.precision == pytest.approx(fit.sigma_narrow / math.sqrt(2))
    x = np.linspace(-3, 3, 6001)
    assert np.trapezoid(fit.pdf(x), x) == pytest.approx(1.0, abs=1e-3)


def test_two_gaussian_fit_small_samples():
    assert fit_two_gaussians([]).n == 0
    fit = fit_two_gaussians([1.0, -1.0, 1.0, -1.0])
    assert fit.sigma_narrow == fit.sigma_broad == pytest.approx(1.0)


def test_repeat_precision_of_simulated_repeats():
    rng = np.random.default_rng(4)
    stars = np.repeat(np.arange(3000), 2)
    truth = rng.normal(4800, 500, 3000)[stars]
    measured = np.column_stack([truth + rng.normal(0, 40.0, stars.size), rng.normal(0, 0.1, stars.size)])
    result = repeat_precision(stars.astype(str), measured, ["teff", "logg"])
    assert result["teff"].differences.shape == (3000,)
    assert result["teff"].fit.precision == pytest.approx(40.0, rel=0.1)
    assert result["logg"].fit.precision == pytest.approx(0.1, rel=0.1)
