"""Tiny synthetic training sets for the ML tests (spectra that respond to the labels)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raveview.core.grid import DEFAULT_GRID
from raveview.core.labels import LABELS

CA_LINES = (8498.02, 8542.09, 8662.14)


def synthetic_set(n: int = 120, seed: int = 0):
    """(ids, x_spec (n, 912) float32, photometry table, x_phot (n, 9), y (n, 9)) with label-dependent lines."""
    rng = np.random.default_rng(seed)
    wave = DEFAULT_GRID.wavelength
    teff = rng.uniform(4000, 6500, n)
    logg = rng.uniform(1.0, 4.5, n)
    mh = rng.uniform(-1.5, 0.3, n)
    others = rng.normal(0.0, 0.1, (n, 6))
    y = np.column_stack([teff, logg, mh, mh - 0.02, others[:, :5]])
    depth = 0.3 + 0.15 * mh[:, None] - 0.03 * (logg[:, None] - 3)
    width = 1.0 + (6500 - teff[:, None]) / 2500
    flux = np.ones((n, wave.size))
    for line in CA_LINES:
        flux -= depth * np.exp(-0.5 * ((wave - line) / width) ** 2)
    flux += rng.normal(0, 0.01, flux.shape)
    ids = [f"20090101_0000m00_{i:03d}" for i in range(n)]
    parallax = rng.uniform(0.5, 3.0, n)
    mags = 4.0 - 0.001 * (teff[:, None] - 5000) + (4.5 - logg)[:, None] * np.array([-0.8, -0.7, -0.9, -1, -1.1, -1.1, -1.1, -1.1])
    app = mags - 5 * (np.log10(parallax[:, None] / 1000) + 1)
    names = ["phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag", "j_m", "h_m", "ks_m", "w1mpro", "w2mpro"]
    phot = pd.DataFrame(app, columns=names)
    phot.insert(0, "rave_obs_id", ids)
    phot["parallax"] = parallax
    phot["parallax_error"] = 0.05 * parallax
    phot["av50"] = rng.uniform(0, 0.5, n)
    x_phot = np.column_stack([mags, phot["av50"].to_numpy()])
    return np.array(ids), flux.astype(np.float32), phot, x_phot, y


def labels_frame(ids, y) -> pd.DataFrame:
    """A labels table with the mock survey's (APOGEE) column names."""
    frame = pd.DataFrame(y, columns=[label.apogee for label in LABELS])
    frame.insert(0, "rave_obs_id", ids)
    return frame
