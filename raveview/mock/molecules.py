"""Molecular band opacity: TiO in cool stars and a CN line forest in carbon stars.

TiO: the red-degraded band heads at 8432, 8442 and 8452 Å (listed in the line list as
``band_head`` rows) each carry a rotational branch whose lines crowd at the head and
spread to the red (Fortrat parabola, λ_J = λ_head + b J²), under an envelope that
decays over ~60 Å. The band strength follows the molecular equilibrium
N(TiO) ∝ N(Ti) N(O) exp(D_eff / kT): it switches on below ~4000 K and saturates in
mid-M stars, as TiO does in real spectra (Kirkpatrick et al. 1991).

CN: the CN red system fills the region with weak lines in every star cooler than ~5600 K
(strongest in metal-rich giants, overwhelming in carbon stars, ``cfe`` > 0.5); it is
represented by a fixed, reproducible set of lines (positions are not real CN transitions).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from raveview.core.linelist import load_linelist

#: Effective energy (eV) in the exponential of the TiO equilibrium (dissociation plus the
#: temperature dependence of Ti ionisation and partition functions, lumped).
TIO_ENERGY_EV = 12.0
#: Teff (K) at which the TiO band integrated opacity reaches 1 for solar abundances.
TIO_ONSET_TEFF = 3450.0
#: CN forest peak opacity of a solar-metallicity K giant (tuned to the weak-line absorption of real K giants).
CN_SCALE = 0.12


@lru_cache(maxsize=4)
def _tio_template(n: int, start: float, step: float) -> np.ndarray:
    wave = start + step * np.arange(n)
    heads = load_linelist("band_head")
    heads = heads[heads["species"] == "TiO"]["wavelength_air"].to_numpy()
    template = np.zeros(n)
    j = np.arange(1, 90)
    for head in heads:
        lines = head + 0.012 * j**2
        env = np.exp(-(lines - head) / 25.0)
        idx = np.round((lines - start) / step).astype(int)
        ok = (idx >= 0) & (idx < n)
        np.add.at(template, idx[ok], env[ok])
    template = np.convolve(template, np.exp(-0.5 * (np.arange(-8, 9) * step / 0.08) ** 2), mode="same")
    # a smooth pseudo-continuum under the resolved lines
    for head in heads:
        red = wave >= head
        template[red] += 0.15 * np.exp(-(wave[red] - head) / 25.0)
    return (template / template.max()).astype(np.float32)


@lru_cache(maxsize=4)
def _cn_template(n: int, start: float, step: float) -> np.ndarray:
    rng = np.random.default_rng(20240611)  # fixed: the same forest for every carbon star
    wave = start + step * np.arange(n)
    centres = rng.uniform(wave[0], wave[-1], 900)
    depths = rng.lognormal(-1.0, 0.8, centres.size)
    template = np.zeros(n)
    idx = np.round((centres - start) / step).astype(int)
    np.add.at(template, idx, depths)
    template = np.convolve(template, np.exp(-0.5 * (np.arange(-8, 9) * step / 0.07) ** 2), mode="same")
    return (template / np.percentile(template, 99)).astype(np.float32)


def tio_strength(teff: np.ndarray, mh: np.ndarray, alpham: np.ndarray, cfe: np.ndarray | None = None) -> np.ndarray:
    """Peak TiO band opacity per star (0 for stars hotter than ~4300 K or carbon-rich ones)."""
    teff = np.asarray(teff, dtype=np.float64)
    t_line = 0.86 * teff
    log_s = 5040.0 * TIO_ENERGY_EV * (1.0 / t_line - 1.0 / (0.86 * TIO_ONSET_TEFF)) + 2.0 * mh + alpham
    strength = 10.0 ** np.clip(log_s, -10, 1.5)
    if cfe is not None:  # C/O > 1 locks oxygen in CO: no TiO
        strength = np.where(np.asarray(cfe) > 0.5, 0.0, strength)
    return np.where(strength > 1e-4, strength, 0.0)


def add_band_opacity(tau: np.ndarray, labels: dict[str, np.ndarray], wavelength: np.ndarray) -> None:
    """Add TiO (and, for carbon stars, CN) opacity to ``tau`` (n_stars, n_pix) in place."""
    cfe = labels.get("cfe")
    start, step, n = float(wavelength[0]), float(wavelength[1] - wavelength[0]), wavelength.size
    tio = tio_strength(labels["teff"], labels["mh"], labels["alpham"], cfe)
    rows = np.flatnonzero(tio > 0)
    if rows.size:
        tau[rows] += tio[rows].astype(np.float32)[:, None] * _tio_template(n, start, step)[None, :]
    cn = cn_strength(labels["teff"], labels["logg"], labels["mh"], cfe)
    rows = np.flatnonzero(cn > 0)
    if rows.size:
        tau[rows] += cn[rows].astype(np.float32)[:, None] * _cn_template(n, start, step)[None, :]


def cn_strength(teff: np.ndarray, logg: np.ndarray, mh: np.ndarray, cfe: np.ndarray | None = None) -> np.ndarray:
    """Peak CN-forest opacity per star: forms below ~5600 K, grows with C and N abundance and in giants."""
    teff = np.asarray(teff, dtype=np.float64)
    cfe = np.zeros_like(teff) if cfe is None else np.asarray(cfe, dtype=np.float64)
    cool = np.clip((5600.0 - teff) / 1200.0, 0.0, 1.0)
    gravity = 10.0 ** (-0.15 * (np.asarray(logg) - 2.5))
    strength = CN_SCALE * 10.0 ** (2.0 * np.asarray(mh) + 2.0 * cfe) * cool * gravity
    carbon = cfe > 0.5
    strength = np.where(carbon, np.maximum(strength, 0.5 * 10.0 ** cfe), strength)
    return np.minimum(strength, 30.0)
