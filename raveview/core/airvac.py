"""Vacuum ↔ air wavelength conversion.

The refractive index of standard air (15 °C, 101 325 Pa, dry, 450 ppm CO2) is
the formula adopted by the IAU (Morton 2000, ApJS 130, 403, eq. 8), which uses
the dispersion relation of Birch & Downs (1994, Metrologia 31, 315)::

    s = 1e4 / λ_vac  [µm⁻¹]
    n - 1 = 8.34254e-5 + 2.406147e-2 / (130 - s²) + 1.5998e-4 / (38.9 - s²)

It agrees with the Ciddor (1996, Appl. Opt. 35, 1566) equation for standard air
to better than 1e-8 in n, i.e. < 0.0001 Å at the Ca II triplet. By IAU
convention, wavelengths below 2000 Å are vacuum in both systems and are returned
unchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Below this wavelength (Å) air and vacuum wavelengths are the same by convention.
AIR_LIMIT_ANGSTROM = 2000.0


def refractive_index_of_air(wave_vacuum_angstrom: ArrayLike) -> np.ndarray:
    """Refractive index of standard air at vacuum wavelengths (Morton 2000, eq. 8).

    Parameters
    ----------
    wave_vacuum_angstrom
        Vacuum wavelengths in Å.

    Returns
    -------
    numpy.ndarray
        The refractive index ``n`` (≈ 1.000275 at 8500 Å).
    """
    wave = np.asarray(wave_vacuum_angstrom, dtype=np.float64)
    s2 = (1e4 / wave) ** 2
    return 1.0 + 8.34254e-5 + 2.406147e-2 / (130.0 - s2) + 1.5998e-4 / (38.9 - s2)


def vacuum_to_air(wave_angstrom: ArrayLike) -> np.ndarray:
    """Convert vacuum wavelengths to air wavelengths.

    Parameters
    ----------
    wave_angstrom
        Vacuum wavelengths in Å (scalar or array).

    Returns
    -------
    numpy.ndarray
        Air wavelengths in Å; values below 2000 Å are returned unchanged.

    Examples
    --------
    >>> round(float(vacuum_to_air(8544.44)), 2)
    8542.09
    """
    wave = np.asarray(wave_angstrom, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        air = wave / refractive_index_of_air(wave)
    return np.where(wave >= AIR_LIMIT_ANGSTROM, air, wave)


def air_to_vacuum(wave_angstrom: ArrayLike, iterations: int = 4) -> np.ndarray:
    """Convert air wavelengths to vacuum wavelengths (exact inverse of :func:`vacuum_to_air`).

    The vacuum wavelength is found by fixed-point iteration of
    ``λ_vac = λ_air · n(λ_vac)``, which converges to 1e-10 Å in a few steps.

    Parameters
    ----------
    wave_angstrom
        Air wavelengths in Å (scalar or array).
    iterations
        Number of fixed-point iterations.

    Returns
    -------
    numpy.ndarray
        Vacuum wavelengths in Å; values below 2000 Å are returned unchanged.
    """
    air = np.asarray(wave_angstrom, dtype=np.float64)
    vac = air.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(iterations):
            vac = air * refractive_index_of_air(vac)
    return np.where(air >= AIR_LIMIT_ANGSTROM, vac, air)
