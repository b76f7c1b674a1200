"""Wavelength units: everything raveview reads is converted to Å."""

from __future__ import annotations

from typing import Any

import numpy as np

from raveview.core.errors import SpectrumDataError

#: Spellings found in FITS headers, IRAF WAT strings and tables, mapped to a factor to Å.
_ALIASES = {
    "angstrom": 1.0, "angstroms": 1.0, "a": 1.0, "aa": 1.0, "å": 1.0, "\u212b": 1.0, "ang": 1.0,
    "nm": 10.0, "nanometer": 10.0, "nanometers": 10.0, "nanometre": 10.0, "nanometres": 10.0,
    "um": 1e4, "µm": 1e4, "μm": 1e4, "micron": 1e4, "microns": 1e4, "micrometer": 1e4, "mum": 1e4,
    "m": 1e10, "meter": 1e10, "meters": 1e10, "cm": 1e8, "mm": 1e7, "pm": 0.01,
}

#: Plain numbers without a unit below this value are taken as nm (see :func:`guess_unitless_factor`).
NM_THRESHOLD = 2000.0


def angstrom_factor(unit: Any, where: Any = None) -> float | None:
    """Factor that converts wavelengths in ``unit`` to Å.

    Parameters
    ----------
    unit
        An ``astropy.units.Unit``, a unit string (``"nm"``, ``"Angstrom"``,
        ``"angstroms"``, ``"um"``, ...), or ``None``/empty for "no unit given".
    where
        The file, named in the error message.

    Returns
    -------
    float or None
        The factor, or ``None`` when no unit is given.

    Raises
    ------
    SpectrumDataError
        When the unit is not a length.
    """
    if unit is None:
        return None
    text = str(unit).strip().strip("'\"").strip()
    if not text or text.lower() in ("none", "dimensionless", "pixel", "pix", "unknown"):
        return None
    key = text.lower()
    if key in _ALIASES:
        return _ALIASES[key]
    from astropy import units as u

    try:
        parsed = u.Unit(text, parse_strict="raise")
        return float(parsed.to(u.AA))
    except Exception:
        raise SpectrumDataError(f"wavelength unit {text!r} is not a length unit raveview knows", where) from None


def guess_unitless_factor(wave: np.ndarray) -> float:
    """Factor to Å for wavelengths stored without a unit.

    The rule: plain numbers are Å unless their median is below 2000, then they
    are nm (Gaia RVS spectra and many tables give nm; no optical spectrum in Å
    lies below 2000). Values in µm therefore end up far too short and are
    reported as "the wrong unit" by validation.

    Parameters
    ----------
    wave
        The wavelength values as stored.

    Returns
    -------
    float
        10.0 for nm, 1.0 for Å.
    """
    finite = np.asarray(wave, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size and float(np.median(finite)) < NM_THRESHOLD:
        return 10.0
    return 1.0
