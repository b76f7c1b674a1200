"""The numbers behind the validation plots of a trained ensemble (Figs. 6–8 of the paper).

Qt-free: one-to-one bias and scatter per label for the train and test split,
and the coverage of the uncertainties (fraction of residuals within k sigma).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from raveview.core.errors import TrainingDataError
from raveview.core.labels import LABEL_KEYS

#: Multiples of sigma at which the coverage curve is evaluated.
COVERAGE_K = np.linspace(0.0, 3.0, 31)


@dataclass(frozen=True)
class LabelStats:
    """Bias (mean of trained − input) and scatter (standard deviation) of one label."""

    key: str
    n: int
    bias: float
    sigma: float


def label_stats(y_true: np.ndarray, y_pred: np.ndarray, label_order: Sequence[str]) -> dict[str, LabelStats]:
    """Bias and 1-sigma scatter of ``y_pred - y_true`` per label, ignoring non-finite rows.

    Parameters
    ----------
    y_true, y_pred
        (N, L) input and trained labels, columns in ``label_order``.
    label_order
        Label keys.
    """
    y_true, y_pred = np.atleast_2d(np.asarray(y_true, float)), np.atleast_2d(np.asarray(y_pred, float))
    if y_true.shape != y_pred.shape or y_true.shape[1] != len(label_order):
        raise TrainingDataError(f"labels {y_true.shape} and predictions {y_pred.shape} do not match")
    out = {}
    for j, key in enumerate(label_order):
        d = y_pred[:, j] - y_true[:, j]
        d = d[np.isfinite(d)]
        out[key] = LabelStats(key, int(d.size), float(d.mean()) if d.size else math.nan,
                              float(d.std()) if d.size else math.nan)
    return out


def coverage_curve(residuals: np.ndarray, sigma: np.ndarray, k: np.ndarray = COVERAGE_K) -> np.ndarray:
    """Fraction of ``|residual| <= k * sigma`` per label: (len(k), L).

    A well-calibrated Gaussian uncertainty follows :func:`gaussian_coverage`.
    """
    r = np.abs(np.atleast_2d(np.asarray(residuals, float)))
    s = np.atleast_2d(np.asarray(sigma, float))
    ok = np.isfinite(r) & np.isfinite(s)
    n = np.maximum(ok.sum(axis=0), 1)
    return np.array([((r <= kk * s) & ok).sum(axis=0) / n for kk in np.asarray(k, float)])


def gaussian_coverage(k: np.ndarray = COVERAGE_K) -> np.ndarray:
    """Fraction of a Gaussian within ``k`` sigma: ``erf(k / sqrt(2))``."""
    from scipy.special import erf

    return erf(np.asarray(k, float) / math.sqrt(2.0))


@dataclass
class Validation:
    """Input and trained labels of a data set with their train/test split.

    Attributes
    ----------
    label_order
        Label keys of the columns.
    y_true, y_pred, sigma
        (N, L) input labels, ensemble means and raw ensemble spreads.
    sigma_cal
        Calibrated uncertainties, or None when the ensemble has no calibration.
    test
        (N,) bool: rows of the test split (all rows for a held-out set).
    kind
        The ensemble variant that made the predictions.
    """

    label_order: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    sigma: np.ndarray
    sigma_cal: np.ndarray | None
    test: np.ndarray
    kind: str = ""

    def rows(self, split: str) -> np.ndarray:
        """Boolean rows of ``"train"``, ``"test"`` or ``"all"``."""
        if split == "all":
            return np.ones(len(self.test), bool)
        return self.test if split == "test" else ~self.test

    def stats(self, split: str = "test") -> dict[str, LabelStats]:
        """Bias and scatter per label on one split."""
        rows = self.rows(split)
        return label_stats(self.y_true[rows], self.y_pred[rows], self.label_order)

    def coverage(self, calibrated: bool = False, split: str = "test", k: np.ndarray = COVERAGE_K) -> np.ndarray:
        """Coverage curve (len(k), L) of the raw or calibrated uncertainties on one split."""
        sigma = self.sigma_cal if calibrated and self.sigma_cal is not None else self.sigma
        rows = self.rows(split)
        return coverage_curve(self.y_pred[rows] - self.y_true[rows], sigma[rows], k)

    def column(self, key: str) -> int:
        """Column index of a label key."""
        return self.label_order.index(key)


def bundle_test_rows(bundle, n: int) -> np.ndarray:
    """The test rows of the bundle's own split when ``n`` is its training-set size, else all rows.

    The split is recomputed from the manifest's ``split_seed`` and
    ``test_fraction`` exactly as in training.
    """
    from raveview.ml.training import split_indices

    info = bundle.manifest.get("training_data", {})
    test = np.ones(n, bool)
    if info.get("n_stars") == n and "split_seed" in info and "test_fraction" in info:
        _, test_idx = split_indices(n, float(info["test_fraction"]), int(info["split_seed"]))
        test[:] = False
        test[test_idx] = True
    return test


def validate_bundle(bundle, x_spec: np.ndarray, x_phot: np.ndarray | None, y: np.ndarray,
                    y_order: Sequence[str] = LABEL_KEYS, kind: str | None = None,
                    test: np.ndarray | None = None) -> Validation:
    """Predict a labelled data set with a bundle and collect what the validation plots need.

    Parameters
    ----------
    bundle
        A :class:`raveview.ml.bundle.ModelBundle`.
    x_spec, x_phot
        Spectra on the bundle grid (N, n_pixels) and photometric inputs (N, 9) or None.
    y
        Input labels (N, len(y_order)).
    y_order
        Label keys of the columns of ``y``; the bundle's labels are picked from them.
    kind
        Ensemble variant (default: ``"photometry"`` when available and ``x_phot`` is given).
    test
        Boolean test rows (default: :func:`bundle_test_rows`).
    """
    y = np.asarray(y, float)
    missing = [k for k in bundle.label_order if k not in y_order]
    if missing:
        raise TrainingDataError(f"the labels lack {', '.join(missing)} needed by the bundle")
    if kind is None:
        kind = "photometry" if "photometry" in bundle.kinds and x_phot is not None else bundle.kinds[-1]
    ensemble = bundle.ensemble(kind)
    mean, std = ensemble.predict(x_spec, x_phot if ensemble.with_photometry else None)
    sigma_cal = ensemble.calibration.apply(std) if ensemble.calibration is not None else None
    y_true = y[:, [list(y_order).index(k) for k in bundle.label_order]]
    test = bundle_test_rows(bundle, len(y)) if test is None else np.asarray(test, bool)
    return Validation(tuple(bundle.label_order), y_true, mean, std, sigma_cal, test, kind)
