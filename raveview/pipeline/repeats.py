"""Precision on repeat observations (Sect. 7 and Fig. 19 of the paper).

Stars observed more than once share a source id. The differences of a label
between two observations of the same star measure the internal precision; their
distribution is fitted with two Gaussians of common centre (a narrow core and
broad wings). For two independent measurements of equal precision the core
width is ``sqrt(2)`` times the per-observation precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def repeat_pairs(source_ids: Sequence) -> np.ndarray:
    """Every pair ``(i, j)``, ``i < j``, of rows sharing a source id: (P, 2) int.

    Missing ids (None, NaN, empty strings, ``<NA>``) never pair.
    """
    groups: dict[str, list[int]] = {}
    for i, sid in enumerate(source_ids):
        if sid is None or (isinstance(sid, float) and math.isnan(sid)):
            continue
        text = str(sid).strip()
        if text in ("", "nan", "<NA>", "None"):
            continue
        groups.setdefault(text, []).append(i)
    pairs = [(rows[a], rows[b]) for rows in groups.values() if len(rows) > 1
             for a in range(len(rows)) for b in range(a + 1, len(rows))]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def pair_differences(values: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Differences ``values[i] - values[j]`` for each pair: (P, L) (or (P,) for 1-D values)."""
    values = np.asarray(values, float)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return values[pairs[:, 0]] - values[pairs[:, 1]]


@dataclass(frozen=True)
class TwoGaussianFit:
    """``w N(mu, sigma_narrow) + (1 - w) N(mu, sigma_broad)`` fitted to differences.

    Attributes
    ----------
    mu
        Common centre.
    sigma_narrow, sigma_broad
        Widths of the core and the wings (``sigma_narrow <= sigma_broad``).
    weight_narrow
        Fraction of pairs in the core.
    n
        Number of differences fitted.
    """

    mu: float
    sigma_narrow: float
    sigma_broad: float
    weight_narrow: float
    n: int

    @property
    def precision(self) -> float:
        """Per-observation precision: the core width over ``sqrt(2)``."""
        return self.sigma_narrow / math.sqrt(2.0)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Probability density of the fitted mixture."""
        x = np.asarray(x, float)
        return (self.weight_narrow * _normal(x, self.mu, self.sigma_narrow)
                + (1 - self.weight_narrow) * _normal(x, self.mu, self.sigma_broad))


def _normal(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def fit_two_gaussians(differences: np.ndarray) -> TwoGaussianFit:
    """Maximum-likelihood two-Gaussian fit (common centre) of label differences.

    With fewer than 10 finite differences, or when the data do not support two
    components, both widths equal the single-Gaussian width.
    """
    from scipy.optimize import minimize

    d = np.asarray(differences, float).ravel()
    d = d[np.isfinite(d)]
    if d.size == 0:
        return TwoGaussianFit(math.nan, math.nan, math.nan, math.nan, 0)
    mu0, sd = float(np.median(d)), float(np.std(d))
    mad = float(1.4826 * np.median(np.abs(d - mu0)))
    scale = max(sd, mad, 1e-12)
    if d.size < 10 or sd <= 0:
        return TwoGaussianFit(float(d.mean()), max(sd, 1e-12), max(sd, 1e-12), 1.0, int(d.size))
    z = (d - mu0) / scale

    def nll(p: np.ndarray) -> float:
        mu, ls1, ls2, logit = p
        s1, s2 = math.exp(ls1), math.exp(ls2)
        w = 1.0 / (1.0 + math.exp(-logit))
        like = w * _normal(z, mu, s1) + (1 - w) * _normal(z, mu, s2)
        return float(-np.sum(np.log(like + 1e-300)))

    core = max(mad, 1e-3 * scale) / scale
    start = np.array([0.0, math.log(core * 0.8), math.log(max(1.0, 2.5 * core)), 1.0])
    bounds = [(-5, 5), (math.log(1e-4), math.log(50)), (math.log(1e-4), math.log(50)), (-8, 8)]
    res = minimize(nll, start, method="L-BFGS-B", bounds=bounds)
    mu, ls1, ls2, logit = res.x
    s1, s2 = math.exp(ls1) * scale, math.exp(ls2) * scale
    w = 1.0 / (1.0 + math.exp(-logit))
    if s1 > s2:
        s1, s2, w = s2, s1, 1 - w
    return TwoGaussianFit(mu0 + mu * scale, s1, s2, w, int(d.size))


@dataclass
class RepeatPrecision:
    """Differences of one label between repeat observations and their fit."""

    key: str
    differences: np.ndarray
    fit: TwoGaussianFit


def repeat_precision(source_ids: Sequence, values: np.ndarray, label_order: Sequence[str]) -> dict[str, RepeatPrecision]:
    """Per label: the differences between repeats of the same star and a two-Gaussian fit.

    Parameters
    ----------
    source_ids
        (N,) star identifier per observation (repeats share it).
    values
        (N, L) labels derived from each observation, columns in ``label_order``.
    label_order
        Label keys.
    """
    values = np.atleast_2d(np.asarray(values, float))
    diffs = pair_differences(values, repeat_pairs(source_ids))
    return {key: RepeatPrecision(key, diffs[:, j], fit_two_gaussians(diffs[:, j]))
            for j, key in enumerate(label_order)}
