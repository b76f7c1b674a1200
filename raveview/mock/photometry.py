"""Photometry consistent with the labels: radius, luminosity, band magnitudes, distance, extinction.

- Radius from mass and gravity, R/R☉ = sqrt(M g☉ / g); luminosity L = R² (Teff/5772)⁴;
  M_bol = 4.74 − 2.5 log L (IAU 2015 B2).
- Band magnitudes: a blackbody through each band's effective wavelength, zero-pointed so that the
  Sun reproduces its absolute magnitudes in the Vega system from Willmer (2018, ApJS 236, 47):
  G 4.67, BP 5.03, RP 4.18, J 3.67, H 3.32, Ks 3.27, W1 3.26, W2 3.28. Below 5000 K a colour term
  (H⁻ and molecular blanketing, which a blackbody lacks) reddens BP and G.
- Effective wavelengths: Gaia DR2 passbands (Evans et al. 2018), 2MASS (Cohen et al. 2003),
  WISE (Wright et al. 2010).
- Extinction A_λ/A_V from Wang & Chen (2019, ApJ 877, 116): G 0.789, BP 1.002, RP 0.589,
  J 0.243, H 0.131, Ks 0.078, W1 0.039, W2 0.026.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raveview.core.labels import BANDS

#: Catalog column of each band (Gaia DR2 / 2MASS / ALLWISE names).
BAND_COLUMNS: dict[str, str] = {
    "G": "phot_g_mean_mag", "BP": "phot_bp_mean_mag", "RP": "phot_rp_mean_mag",
    "J": "j_m", "H": "h_m", "Ks": "ks_m", "W1": "w1mpro", "W2": "w2mpro",
}
#: Error column of each band.
ERROR_COLUMNS: dict[str, str] = {
    "G": "phot_g_mean_mag_error", "BP": "phot_bp_mean_mag_error", "RP": "phot_rp_mean_mag_error",
    "J": "j_msigcom", "H": "h_msigcom", "Ks": "ks_msigcom", "W1": "w1mpro_error", "W2": "w2mpro_error",
}
EFFECTIVE_WAVELENGTH_UM = {"G": 0.673, "BP": 0.532, "RP": 0.797, "J": 1.235, "H": 1.662,
                           "Ks": 2.159, "W1": 3.353, "W2": 4.603}
SUN_ABSOLUTE_MAG = {"G": 4.67, "BP": 5.03, "RP": 4.18, "J": 3.67, "H": 3.32, "Ks": 3.27, "W1": 3.26, "W2": 3.28}
A_OVER_AV = {"G": 0.789, "BP": 1.002, "RP": 0.589, "J": 0.243, "H": 0.131, "Ks": 0.078, "W1": 0.039, "W2": 0.026}
#: Extra reddening (mag per 1000 K below 5000 K) for blanketing a blackbody misses.
BLANKETING = {"G": 0.25, "BP": 0.55, "RP": 0.05, "J": -0.05, "H": -0.05, "Ks": -0.05, "W1": -0.05, "W2": 0.0}
T_SUN = 5772.0


def _planck_mag(band: str, teff: np.ndarray) -> np.ndarray:
    """−2.5 log of blackbody surface flux at the band's wavelength relative to σT⁴ (arbitrary zero)."""
    lam = EFFECTIVE_WAVELENGTH_UM[band] * 1e-6
    x = 1.438776877e-2 / (lam * np.asarray(teff, dtype=np.float64))
    return -2.5 * (np.log10(1.0 / np.expm1(x)) - 4.0 * np.log10(teff))


def absolute_magnitudes(teff: np.ndarray, logg: np.ndarray, mass: np.ndarray) -> pd.DataFrame:
    """Absolute magnitudes M_G … M_W2 of stars with given Teff, log g and mass."""
    radius = np.sqrt(mass * 10.0 ** (4.438 - np.asarray(logg)))
    log_l = 2.0 * np.log10(radius) + 4.0 * np.log10(np.asarray(teff) / T_SUN)
    mbol = 4.74 - 2.5 * log_l
    cool = np.clip((5000.0 - np.asarray(teff)) / 1000.0, 0.0, None)
    out = {}
    for band in BANDS:
        colour = _planck_mag(band, teff) - _planck_mag(band, T_SUN) + (SUN_ABSOLUTE_MAG[band] - 4.74)
        out[band] = mbol + colour + BLANKETING[band] * cool
    return pd.DataFrame(out)


def observe_photometry(
    rng: np.random.Generator, absolute: pd.DataFrame, g_range: tuple[float, float] = (8.0, 13.3)
) -> pd.DataFrame:
    """Apparent magnitudes, errors, parallax and A_V for stars of given absolute magnitudes.

    Distances are set so the apparent G follows RAVE's bright (I < 13) selection
    (G ≈ 11.0 ± 0.85 mag); A_V is log-normal (median 0.2, tail to 3); parallax errors are
    Gaia-DR2-like (0.03–0.05 mas plus 1 %).
    """
    n = len(absolute)
    av = np.clip(rng.lognormal(np.log(0.2), 0.85, n), 0.0, 3.1)
    g_app = np.clip(rng.normal(11.0, 0.85, n), *g_range)
    distmod = g_app - absolute["G"].to_numpy() - A_OVER_AV["G"] * av
    distmod = np.clip(distmod, 1.0, 17.0)
    dist_pc = 10.0 ** (distmod / 5.0 + 1.0)
    out: dict[str, np.ndarray] = {}
    errors = {"G": (0.0003, 0.0008), "BP": (0.002, 0.006), "RP": (0.002, 0.005), "J": (0.018, 0.03),
              "H": (0.02, 0.035), "Ks": (0.018, 0.03), "W1": (0.022, 0.03), "W2": (0.02, 0.028)}
    for band in BANDS:
        true = absolute[band].to_numpy() + distmod + A_OVER_AV[band] * av
        lo, hi = errors[band]
        err = lo + (hi - lo) * np.clip((true - 8.0) / 5.0, 0.0, 2.0) ** 2
        out[BAND_COLUMNS[band]] = true + rng.normal(0.0, err)
        out[ERROR_COLUMNS[band]] = err
    plx_true = 1000.0 / dist_pc
    plx_err = rng.uniform(0.03, 0.05, n) + 0.01 * plx_true
    out["parallax"] = plx_true + rng.normal(0.0, plx_err)
    out["parallax_error"] = plx_err
    out["av50"] = np.clip(av + rng.normal(0.0, 0.05, n), 0.0, None)
    out["distance_pc"] = dist_pc
    return pd.DataFrame(out)
