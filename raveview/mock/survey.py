"""The mock RAVE survey: labels, photometry and spectra of many stars, reproducibly from a seed."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raveview.core.grid import DEFAULT_GRID, WavelengthGrid
from raveview.core.labels import LABELS
from raveview.core.progress import Progress, run_to_end
from raveview.mock import exotic, observe
from raveview.mock.labels_input import default_macroturbulence, default_microturbulence
from raveview.mock.photometry import absolute_magnitudes, observe_photometry
from raveview.mock.population import LABEL_ERRORS, draw_population
from raveview.mock.synth import broaden, broadening_sigma, coarse_wavelength, intrinsic_flux, resample

#: Observations synthesised per step (one Progress per chunk).
CHUNK = 512
#: Fraction of stars observed more than once, and the range of their visit counts.
REPEAT_FRACTION = 0.20
REPEAT_VISITS = (2, 6)


@dataclass
class MockSurvey:
    """A simulated survey, one row per observation.

    Attributes
    ----------
    labels
        rave_obs_id, source_id, TEFF … NI_FE, TEFF_ERR … NI_FE_ERR, SNR, EXOTIC_CLASS.
    photometry
        rave_obs_id, source_id, Gaia/2MASS/ALLWISE magnitudes and errors, parallax(_error), av50.
    flux
        ``"matrix"``: array (n, grid.n) float32 on ``grid``; ``"dr6"``: list of 1-D arrays.
    rel_error
        Relative errors, shaped like ``flux``.
    layout
        ``"dr6"`` (native sampling per spectrum) or ``"matrix"`` (model grid).
    start, step
        Per-spectrum first wavelength and pixel width in Å (equal to the grid's for ``"matrix"``).
    grid
        The model grid (``"matrix"`` layout).
    """

    labels: pd.DataFrame
    photometry: pd.DataFrame
    flux: np.ndarray | list[np.ndarray]
    rel_error: np.ndarray | list[np.ndarray]
    layout: str
    start: np.ndarray
    step: np.ndarray
    grid: WavelengthGrid = DEFAULT_GRID
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, rows: np.ndarray | list[int]) -> "MockSurvey":
        """A survey holding only the observations ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=int)
        pick = (lambda x: np.asarray(x)[rows]) if self.layout == "matrix" else (lambda x: [x[i] for i in rows])
        meta = dict(self.meta)
        meta["vsini"] = np.asarray(self.meta.get("vsini", np.zeros(len(self))))[rows]
        return MockSurvey(self.labels.iloc[rows].reset_index(drop=True),
                          self.photometry.iloc[rows].reset_index(drop=True),
                          pick(self.flux), pick(self.rel_error), self.layout,
                          self.start[rows], self.step[rows], self.grid, meta)

    def wavelength(self, i: int) -> np.ndarray:
        """Wavelengths (Å) of observation ``i``."""
        n = len(self.flux[i])
        return self.start[i] + self.step[i] * np.arange(n)


def _visits(rng: np.random.Generator, n_obs: int) -> np.ndarray:
    """Visit count per star so that the counts sum to ``n_obs``."""
    counts = np.where(rng.random(n_obs) < REPEAT_FRACTION, rng.integers(REPEAT_VISITS[0], REPEAT_VISITS[1] + 1, n_obs), 1)
    total = np.cumsum(counts)
    n_stars = int(np.searchsorted(total, n_obs) + 1)
    counts = counts[:n_stars]
    counts[-1] -= int(total[n_stars - 1] - n_obs)
    return counts


def _label_table(stars: pd.DataFrame, classes: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame({label.apogee: stars[label.key].to_numpy() for label in LABELS})
    for label in LABELS:
        out[f"{label.apogee}_ERR"] = LABEL_ERRORS[label.apogee]
    out["EXOTIC_CLASS"] = classes
    return out


def iter_simulate_survey(
    n: int,
    seed: int,
    snr_range: tuple[float, float] = (10.0, 150.0),
    exotic_fraction: float = 0.0,
    layout: str = "dr6",
    grid: WavelengthGrid = DEFAULT_GRID,
) -> Generator[Progress, None, MockSurvey]:
    """Simulate a survey step by step, yielding :class:`Progress`; returns the :class:`MockSurvey`.

    Parameters
    ----------
    n
        Number of observations (spectra).
    seed
        Random seed; the same seed gives the same survey.
    snr_range
        Allowed S/N range (S/N is drawn RAVE-like inside it).
    exotic_fraction
        Fraction of stars replaced by exotic kinds (see :mod:`raveview.mock.exotic`).
    layout
        ``"dr6"`` (native RAVE sampling per spectrum) or ``"matrix"`` (all on ``grid``).
    grid
        Model grid of the ``"matrix"`` layout.
    """
    if layout not in ("dr6", "matrix"):
        raise ValueError(f"layout must be 'dr6' or 'matrix', not {layout!r}")
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    yield Progress(0, n, "drawing stars")
    visits = _visits(rng, n)
    n_stars = visits.size
    stars = draw_population(rng, n_stars)
    classes = exotic.assign_classes(rng, n_stars, exotic_fraction)
    stars = exotic.adjust_labels(rng, stars, classes)
    absolute = absolute_magnitudes(stars["teff"].to_numpy(), stars["logg"].to_numpy(), stars["mass"].to_numpy())
    phot_star = observe_photometry(rng, absolute)
    source_star = rng.integers(10**17, 69 * 10**17, n_stars, dtype=np.int64)

    star_of_obs = np.repeat(np.arange(n_stars), visits)
    obs_id = observe.obs_ids(rng, n)
    snr = observe.clip_snr(rng, n, snr_range)
    if layout == "dr6":
        start, step, count = observe.draw_sampling(rng, n)
    else:
        start, step, count = (np.full(n, grid.start), np.full(n, grid.step), np.full(n, grid.n))
    obs_class = classes[star_of_obs]
    sb2_vel = np.zeros((n, 2))
    sb2_ratio = np.zeros(n)
    is_sb2 = obs_class == "sb2"
    dv = rng.uniform(30.0, 120.0, n) * rng.choice([-1.0, 1.0], n)
    sb2_ratio[is_sb2] = rng.uniform(0.3, 0.9, is_sb2.sum())
    sb2_vel[is_sb2, 0] = -dv[is_sb2] * sb2_ratio[is_sb2] / (1 + sb2_ratio[is_sb2])
    sb2_vel[is_sb2, 1] = dv[is_sb2] / (1 + sb2_ratio[is_sb2])
    secondary = exotic.secondary_labels(rng, stars)
    resolving_power = observe.draw_resolving_power(rng, n)
    sb2_vel[:, 0] += observe.draw_velocity_residual(rng, n)
    norm_amp = np.where(obs_class == "bad_norm", rng.uniform(0.05, 0.15, n), rng.uniform(0.003, 0.012, n))

    n_max = int(count.max())
    flux_all = np.empty((n, n_max), dtype=np.float32)
    err_all = np.empty((n, n_max), dtype=np.float32)
    coarse = coarse_wavelength()
    for lo in range(0, n, CHUNK):
        rows = np.arange(lo, min(n, lo + CHUNK))
        sidx = star_of_obs[rows]
        wave = start[rows, None] + step[rows, None] * np.arange(n_max)[None, :]
        primary = _observed_flux(stars.iloc[sidx], coarse, wave, sb2_vel[rows, 0], obs_class[rows], rng,
                                 resolving_power[rows])
        sb2_rows = np.flatnonzero(is_sb2[rows])
        if sb2_rows.size:
            comp = _observed_flux(secondary.iloc[sidx[sb2_rows]], coarse, wave[sb2_rows], sb2_vel[rows[sb2_rows], 1],
                                  np.full(sb2_rows.size, "normal", dtype=object), rng,
                                  resolving_power[rows[sb2_rows]])
            ratio = sb2_ratio[rows[sb2_rows], None].astype(np.float32)
            primary[sb2_rows] = (primary[sb2_rows] + ratio * comp) / (1 + ratio)
        primary *= observe.continuum_residual(rng, wave, norm_amp[rows]).astype(np.float32)
        noisy, rel = observe.add_noise(rng, primary, snr[rows])
        cosmic_rows = np.flatnonzero(obs_class[rows] == "cosmic")
        if cosmic_rows.size:
            noisy[cosmic_rows] = exotic.add_cosmics(rng, noisy[cosmic_rows], count[rows[cosmic_rows]])
        flux_all[rows] = noisy
        err_all[rows] = rel
        yield Progress(int(rows[-1]) + 1, n, "synthesising spectra")

    labels = _label_table(stars, classes).iloc[star_of_obs].reset_index(drop=True)
    labels.insert(0, "source_id", source_star[star_of_obs])
    labels.insert(0, "rave_obs_id", obs_id)
    labels["SNR"] = np.round(snr, 1)
    photometry = phot_star.drop(columns=["distance_pc"]).iloc[star_of_obs].reset_index(drop=True)
    photometry.insert(0, "source_id", source_star[star_of_obs])
    photometry.insert(0, "rave_obs_id", obs_id)
    if layout == "matrix":
        flux: np.ndarray | list[np.ndarray] = flux_all
        rel_error: np.ndarray | list[np.ndarray] = err_all
    else:
        flux = [flux_all[i, : count[i]] for i in range(n)]
        rel_error = [err_all[i, : count[i]] for i in range(n)]
    meta = {"seed": seed, "snr_range": tuple(snr_range), "exotic_fraction": exotic_fraction,
            "n_stars": n_stars, "vsini": stars["vsini"].to_numpy()[star_of_obs]}
    return MockSurvey(labels, photometry, flux, rel_error, layout, start, step, grid, meta)


def _observed_flux(stars: pd.DataFrame, coarse: np.ndarray, wave: np.ndarray, velocity: np.ndarray,
                   classes: np.ndarray, rng: np.random.Generator, resolving_power: np.ndarray) -> np.ndarray:
    """Broadened, shifted, resampled noise-free flux of ``stars`` on the per-row wavelengths ``wave``.

    ``vmic``, ``vmac`` and ``core_fill`` come from ``stars`` when present (the mean relations and
    no fill-in otherwise); ``resolving_power`` is per row.
    """
    arrays = {col: stars[col].to_numpy(dtype=np.float64) for col in
              ("teff", "logg", "mh", "feh", "alpham", "sife", "mgfe", "alfe", "nife", "vsini", "cfe")}
    defaults = {"vmic": default_microturbulence(arrays["teff"], arrays["logg"]),
                "vmac": default_macroturbulence(arrays["teff"], arrays["logg"]),
                "core_fill": np.zeros(len(stars))}
    for key, default in defaults.items():
        arrays[key] = stars[key].to_numpy(dtype=np.float64) if key in stars else default
    for key in (col for col in stars.columns if col.startswith("dx_")):
        arrays[key] = stars[key].to_numpy(dtype=np.float64)
    flux = intrinsic_flux(arrays)
    emission = np.flatnonzero(classes == "emission")
    if emission.size:
        flux[emission] = exotic.add_emission_cores(rng, coarse, flux[emission])
    flux = broaden(flux, broadening_sigma(arrays["vsini"], arrays["vmac"], resolving_power))
    return resample(flux, wave, velocity)


def simulate_survey(
    n: int,
    seed: int,
    snr_range: tuple[float, float] = (10.0, 150.0),
    exotic_fraction: float = 0.0,
    layout: str = "dr6",
    grid: WavelengthGrid = DEFAULT_GRID,
) -> MockSurvey:
    """Simulate a mock RAVE survey (see :func:`iter_simulate_survey` for the parameters)."""
    return run_to_end(iter_simulate_survey(n, seed, snr_range, exotic_fraction, layout, grid))
