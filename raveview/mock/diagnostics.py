"""Measurements used to compare mock and real spectra: the Ca II triplet index and friends."""

from __future__ import annotations

import numpy as np

#: Line and continuum bands of the CaT index of Cenarro et al. (2001, MNRAS 326, 959), Å.
CAT_LINE_BANDS = ((8484.0, 8513.0), (8522.0, 8562.0), (8642.0, 8682.0))
CAT_CONTINUUM_BANDS = ((8474.0, 8484.0), (8563.0, 8577.0), (8619.0, 8642.0), (8700.0, 8725.0), (8776.0, 8792.0))


def _as_2d(wavelength: np.ndarray, flux: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flux = np.atleast_2d(np.asarray(flux, dtype=np.float64))
    wavelength = np.broadcast_to(np.asarray(wavelength, dtype=np.float64), flux.shape)
    return wavelength, flux


def pseudo_continuum(wavelength: np.ndarray, flux: np.ndarray) -> np.ndarray:
    """Straight line fitted to the mean flux in the CaT continuum bands, evaluated everywhere."""
    wavelength, flux = _as_2d(wavelength, flux)
    xs, ys = [], []
    for lo, hi in CAT_CONTINUUM_BANDS:
        m = (wavelength >= lo) & (wavelength <= hi)
        with np.errstate(invalid="ignore"):
            xs.append(np.where(m, wavelength, 0).sum(1) / m.sum(1))
            ys.append(np.where(m, flux, 0).sum(1) / m.sum(1))
    x, y = np.array(xs), np.array(ys)                       # (5, n)
    xm, ym = x.mean(0), y.mean(0)
    slope = ((x - xm) * (y - ym)).sum(0) / ((x - xm) ** 2).sum(0)
    return ym[:, None] + slope[:, None] * (wavelength - xm[:, None])


def cat_equivalent_widths(wavelength: np.ndarray, flux: np.ndarray) -> np.ndarray:
    """Equivalent widths (Å) of the three CaT lines in the Cenarro et al. (2001) bands.

    Parameters
    ----------
    wavelength
        Shape (m,) or (n, m), Å, uniformly sampled per row.
    flux
        Shape (m,) or (n, m).

    Returns
    -------
    numpy.ndarray
        Shape (n, 3).
    """
    wavelength, flux = _as_2d(wavelength, flux)
    cont = pseudo_continuum(wavelength, flux)
    step = np.abs(np.diff(wavelength, axis=1)).mean(1)
    out = []
    for lo, hi in CAT_LINE_BANDS:
        m = (wavelength >= lo) & (wavelength <= hi)
        out.append(np.where(m, 1.0 - flux / cont, 0.0).sum(1) * step)
    return np.array(out).T


def cat_index(wavelength: np.ndarray, flux: np.ndarray) -> np.ndarray:
    """Summed CaT equivalent width (Å) per spectrum."""
    return cat_equivalent_widths(wavelength, flux).sum(1)


def cat_min_depth(wavelength: np.ndarray, flux: np.ndarray) -> np.ndarray:
    """Minimum normalised flux (relative to the pseudo-continuum) in the core of Ca II 8542."""
    wavelength, flux = _as_2d(wavelength, flux)
    rel = flux / pseudo_continuum(wavelength, flux)
    m = (wavelength > 8538.0) & (wavelength < 8546.0)
    return np.where(m, rel, np.inf).min(1)


def weak_line_depth(wavelength: np.ndarray, flux: np.ndarray) -> np.ndarray:
    """Mean absorption (1 - F/C) in CaT-free windows: a measure of the weak-line density."""
    wavelength, flux = _as_2d(wavelength, flux)
    rel = flux / pseudo_continuum(wavelength, flux)
    m = np.zeros(wavelength.shape, dtype=bool)
    for lo, hi in ((8604.0, 8640.0), (8676.0, 8735.0)):
        m |= (wavelength >= lo) & (wavelength <= hi)
    return np.where(m, 1.0 - rel, 0.0).sum(1) / m.sum(1)
