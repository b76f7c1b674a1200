"""Exotic stars injected into the mock survey, each recorded by class in ``EXOTIC_CLASS``.

- ``emission``: chromospherically active stars, emission cores filling in the Ca II triplet;
- ``sb2``: double-lined binaries, two diluted spectra shifted by 30–120 km/s;
- ``hot``: early-type stars beyond the training range (Teff 8000–15000 K, strong Paschen lines, fast rotation);
- ``cool_m``: very cool M stars (Teff 3000–3500 K, strong TiO);
- ``carbon``: carbon stars (C/O > 1: a dense CN forest, no TiO);
- ``bad_norm``: a bad continuum normalisation (5–15 % low-order distortion);
- ``cosmic``: cosmic-ray spikes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raveview.mock.synth import CAT_LINES

EXOTIC_CLASSES: tuple[str, ...] = ("emission", "sb2", "hot", "cool_m", "carbon", "bad_norm", "cosmic")
CAT_CENTRES = CAT_LINES


def assign_classes(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    """``normal`` or an exotic class per star, exotic with probability ``fraction`` (classes equally likely)."""
    classes = np.full(n, "normal", dtype=object)
    exotic = rng.random(n) < fraction
    classes[exotic] = rng.choice(np.array(EXOTIC_CLASSES, dtype=object), exotic.sum())
    return classes


def adjust_labels(rng: np.random.Generator, stars: pd.DataFrame, classes: np.ndarray) -> pd.DataFrame:
    """Move the labels of ``hot``, ``cool_m``, ``carbon`` and ``emission`` stars to their kind of star."""
    stars = stars.copy()
    stars["cfe"] = 0.0
    m = classes == "hot"
    k = int(m.sum())
    stars.loc[m, "teff"] = rng.uniform(8000.0, 15000.0, k)
    stars.loc[m, "logg"] = rng.uniform(3.5, 4.3, k)
    stars.loc[m, "mass"] = rng.uniform(2.0, 4.0, k)
    stars.loc[m, "vsini"] = rng.uniform(40.0, 220.0, k)
    m = classes == "cool_m"
    k = int(m.sum())
    stars.loc[m, "teff"] = rng.uniform(3000.0, 3500.0, k)
    giant = rng.random(k) < 0.6
    stars.loc[m, "logg"] = np.where(giant, rng.uniform(0.3, 1.2, k), rng.uniform(4.6, 5.0, k))
    stars.loc[m, "mass"] = np.where(giant, rng.uniform(1.0, 2.0, k), rng.uniform(0.2, 0.5, k))
    m = classes == "carbon"
    k = int(m.sum())
    stars.loc[m, "teff"] = rng.uniform(3000.0, 4300.0, k)
    stars.loc[m, "logg"] = rng.uniform(0.3, 1.5, k)
    stars.loc[m, "mass"] = rng.uniform(1.0, 2.5, k)
    stars.loc[m, "cfe"] = rng.uniform(0.8, 1.4, k)
    m = classes == "emission"  # young active dwarfs
    k = int(m.sum())
    stars.loc[m, "teff"] = rng.uniform(3800.0, 5800.0, k)
    stars.loc[m, "logg"] = rng.uniform(4.3, 4.7, k)
    stars.loc[m, "mass"] = rng.uniform(0.6, 1.0, k)
    stars.loc[m, "vsini"] = rng.uniform(10.0, 40.0, k)
    return stars


def secondary_labels(rng: np.random.Generator, primary: pd.DataFrame) -> pd.DataFrame:
    """Labels of SB2 companions: cooler main-sequence stars of the same composition."""
    sec = primary.drop(columns=["vmic", "vmac", "core_fill"], errors="ignore")
    k = len(sec)
    sec["teff"] = np.clip(primary["teff"].to_numpy() - rng.uniform(0.0, 1200.0, k), 3700.0, None)
    sec["logg"] = np.clip(rng.uniform(4.3, 4.7, k), None, 5.0)
    sec["vsini"] = rng.uniform(2.0, 15.0, k)
    return sec


def add_emission_cores(rng: np.random.Generator, wavelength: np.ndarray, flux: np.ndarray) -> np.ndarray:
    """Add Gaussian Ca II emission cores (σ 0.25–0.5 Å, 30–90 % of the continuum) to unbroadened flux."""
    n = flux.shape[0]
    amp = rng.uniform(0.3, 0.9, n)[:, None]
    width = rng.uniform(0.25, 0.5, n)[:, None]
    out = flux.copy()
    for centre, scale in zip(CAT_CENTRES, (0.7, 1.0, 0.9)):
        out += (scale * amp * np.exp(-0.5 * ((wavelength[None, :] - centre) / width) ** 2)).astype(flux.dtype)
    return out


def add_cosmics(rng: np.random.Generator, flux: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Add 1–4 cosmic-ray spikes (0.5–3× continuum, 1–2 pixels) per row, within each row's length."""
    out = flux.copy()
    for row, length in enumerate(lengths):  # only the few cosmic rows come here
        for _ in range(int(rng.integers(1, 5))):
            pix = int(rng.integers(0, max(1, length - 2)))
            height = rng.uniform(0.5, 3.0)
            out[row, pix] += height
            if rng.random() < 0.5:
                out[row, pix + 1] += 0.5 * height
    return out
