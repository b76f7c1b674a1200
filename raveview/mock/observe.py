"""Observing the mock stars: RAVE obs ids, native sampling, S/N, noise, normalisation residuals."""

from __future__ import annotations

import numpy as np

#: RAVE DR6 native sampling: ≈0.39 Å per pixel over ≈8410–8795 Å.
NATIVE_START = 8410.0
NATIVE_STEP = 0.39
NATIVE_END = 8795.0


def draw_snr(rng: np.random.Generator, n: int) -> np.ndarray:
    """Per-spectrum S/N like RAVE's: log-normal, median ~40, tail to 10 and beyond 100."""
    return np.clip(rng.lognormal(np.log(40.0), 0.55, n), 8.0, 250.0)


def clip_snr(rng: np.random.Generator, n: int, snr_range: tuple[float, float]) -> np.ndarray:
    """S/N drawn like RAVE's, redrawn (then clipped) to lie inside ``snr_range``."""
    snr = draw_snr(rng, n)
    lo, hi = snr_range
    bad = (snr < lo) | (snr > hi)
    snr[bad] = np.exp(rng.uniform(np.log(lo), np.log(hi), bad.sum()))
    return np.clip(snr, lo, hi)


def draw_sampling(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start (Å), step (Å) and pixel count per spectrum, varying slightly as in DR6 files."""
    start = NATIVE_START + rng.normal(0.0, 0.6, n)
    step = NATIVE_STEP + rng.normal(0.0, 0.002, n)
    count = np.floor((NATIVE_END + rng.normal(0.0, 0.6, n) - start) / step).astype(int) + 1
    return start, step, count


def draw_resolving_power(rng: np.random.Generator, n: int) -> np.ndarray:
    """Per-spectrum resolving power: RAVE's R ≈ 7500 varies by ≈ ±6 % across fibres and plates."""
    return np.clip(rng.normal(7500.0, 450.0, n), 6500.0, 8500.0)


def draw_velocity_residual(rng: np.random.Generator, n: int) -> np.ndarray:
    """Radial-velocity residuals (km/s) left after the shift to the rest frame (RAVE: ≈1–2 km/s)."""
    return rng.normal(0.0, 1.2, n)


def obs_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct RAVE_OBS_IDs ``YYYYMMDD_HHMM[m|p]DD_FFF`` (date, field RA/Dec, fibre)."""
    out: list[str] = []
    seen: set[str] = set()
    days = rng.integers(0, 3650, size=2 * n + 16)
    ras = rng.integers(0, 24 * 60, size=2 * n + 16)
    decs = rng.integers(-89, 20, size=2 * n + 16)
    fibres = rng.integers(1, 151, size=2 * n + 16)
    base = np.datetime64("2003-04-12")
    for d, ra, dec, fib in zip(days, ras, decs, fibres):
        date = str(base + np.timedelta64(int(d), "D")).replace("-", "")
        sign = "m" if dec < 0 else "p"
        oid = f"{date}_{ra // 60:02d}{ra % 60:02d}{sign}{abs(dec):02d}_{fib:03d}"
        if oid not in seen:
            seen.add(oid)
            out.append(oid)
            if len(out) == n:
                break
    return np.array(out, dtype=object)


def continuum_residual(rng: np.random.Generator, wavelength: np.ndarray, amplitude: np.ndarray) -> np.ndarray:
    """Multiplicative low-order (Legendre, degree 3) normalisation error, rms ≈ ``amplitude``.

    Parameters
    ----------
    wavelength
        Shape (n, m).
    amplitude
        Shape (n,), e.g. 0.01 for 1 % residuals.
    """
    n = wavelength.shape[0]
    x = (wavelength - 8600.0) / 200.0
    coef = rng.normal(0.0, 1.0, (n, 3)) * amplitude[:, None]
    return 1.0 + coef[:, :1] * x + coef[:, 1:2] * 0.5 * (3 * x**2 - 1) + coef[:, 2:3] * 0.5 * (5 * x**3 - 3 * x)


def add_noise(rng: np.random.Generator, flux: np.ndarray, snr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson-like noise (σ ∝ √F, σ = 1/SNR at the continuum); returns noisy flux and relative error."""
    sigma = np.sqrt(np.clip(flux, 0.02, None)) / snr[:, None]
    noisy = flux + rng.normal(0.0, 1.0, flux.shape).astype(np.float32) * sigma
    rel = sigma / np.clip(np.abs(noisy), 0.02, None)
    return noisy.astype(np.float32), rel.astype(np.float32)
