"""Noise-free mock spectra for given labels (the GUI's comparison overlay)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from raveview.core.grid import DEFAULT_GRID, WavelengthGrid
from raveview.mock.labels_input import label_arrays
from raveview.mock.synth import RESOLVING_POWER, broaden, broadening_sigma, intrinsic_flux, resample

#: Stars synthesised at once (bounds memory to ~40 MB per chunk).
CHUNK = 256


def model_spectrum(
    labels: Mapping[str, Any] | pd.DataFrame,
    grid: WavelengthGrid = DEFAULT_GRID,
    resolving_power: float = RESOLVING_POWER,
) -> np.ndarray:
    """The noise-free, continuum-normalised mock spectrum of stars with given labels.

    Parameters
    ----------
    labels
        Dict (scalars or arrays) or DataFrame rows with at least Teff, log g and [M/H]
        under catalog (``teff``), APOGEE (``TEFF``) or published (``Teff``) names;
        optional ``vsini``, ``vmac``, ``vmic`` (km/s) and ``cfe`` (carbon excess, dex).
    grid
        Output wavelength grid (air, rest frame).
    resolving_power
        Instrumental resolving power λ/Δλ.

    Returns
    -------
    numpy.ndarray
        Shape (n_stars, grid.n), float32.
    """
    arrays = label_arrays(labels)
    n = arrays["teff"].size
    out = np.empty((n, grid.n), dtype=np.float32)
    for lo in range(0, n, CHUNK):
        part = {key: value[lo:lo + CHUNK] for key, value in arrays.items()}
        flux = intrinsic_flux(part)
        flux = broaden(flux, broadening_sigma(part["vsini"], part["vmac"], resolving_power))
        out[lo:lo + CHUNK] = resample(flux, grid.wavelength)
    return out
