"""Spectra stored as table columns: FITS binary tables, ECSV and CSV.

Columns are found by name, case-insensitively:

* wavelength: ``wave``, ``wavelength``, ``lambda``, ``wl``, ``lam``, ``loglam``
  (log10 of Å, SDSS style);
* flux: ``flux``, ``f``, ``flux_norm``, ``norm_flux``, ``fnorm``;
* error (optional): ``error``, ``err``, ``sigma``, ``flux_error``, ``flux_err``,
  ``e_flux``, or ``ivar`` (inverse variance, converted to sigma).

The wavelength unit is the column's unit (Å, nm, µm, ...). A column without a
unit (plain CSV) is Å unless its median is below 2000, then nm (see
:func:`raveview.core.io.units.guess_unitless_factor`). A one-row table whose
cells are arrays (one spectrum per row) is read as that one spectrum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raveview.core.errors import SpectrumDataError, SpectrumFormatError
from raveview.core.io.registry import Probe, register_reader
from raveview.core.io.tables import find_column, load_table
from raveview.core.io.units import angstrom_factor, guess_unitless_factor
from raveview.core.spectrum import Spectrum

WAVE_NAMES = ("wave", "wavelength", "lambda", "wl", "lam", "loglam")
FLUX_NAMES = ("flux", "f", "flux_norm", "norm_flux", "fnorm")
ERROR_NAMES = ("error", "err", "sigma", "flux_error", "flux_err", "e_flux", "ivar")
ID_NAMES = {
    "rave_obs_id": ("rave_obs_id", "raveid", "obsid"),
    "source_id": ("source_id", "gaia_id"),
    "snr": ("snr", "stn"),
}
_ID_TYPES = {"rave_obs_id": lambda v: str(v).strip() or None, "source_id": int, "snr": float}


def column_values(table: Any, name: str) -> np.ndarray:
    """A column as a 1-D float array (a one-row array cell is unpacked)."""
    values = np.asarray(table[name], dtype=np.float64)
    if values.ndim == 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 1:
        raise SpectrumFormatError(f"column {name!r} has shape {values.shape}, expected one value per pixel")
    return values


def wavelength_in_angstrom(table: Any, name: str, where: Any) -> np.ndarray:
    """The wavelength column converted to Å (column unit, ``loglam``, or the unitless rule)."""
    values = column_values(table, name)
    if name.lower() == "loglam":
        return 10.0 ** values
    factor = angstrom_factor(getattr(table[name], "unit", None), where)
    return values * (guess_unitless_factor(values) if factor is None else factor)


def sigma_from_column(table: Any, name: str) -> np.ndarray:
    """Absolute 1-sigma errors; an ``ivar`` column is converted (ivar ≤ 0 → NaN)."""
    values = column_values(table, name)
    if name.lower() == "ivar":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(values > 0, 1.0 / np.sqrt(values), np.nan)
    return values


def _scalar_ids(table: Any) -> dict[str, Any]:
    """Ids found in id columns of the first row (e.g. a table with a ``source_id`` column)."""
    ids: dict[str, Any] = {}
    for field, names in ID_NAMES.items():
        column = find_column(table, names)
        if column is None or len(table) == 0:
            continue
        try:
            ids[field] = _ID_TYPES[field](table[column][0])
        except (TypeError, ValueError, OverflowError):
            continue
    return ids


def _identify(probe: Probe) -> bool:
    return load_table(probe) is not None


@register_reader(
    "table",
    _identify,
    extensions=(".fits", ".csv", ".ecsv", ".fits.gz"),
    priority=40,
    description="Table with wavelength, flux and optional error columns (FITS, ECSV, CSV)",
)
def read_table_spectrum(probe: Probe) -> Spectrum:
    """Read a spectrum stored as columns of a table.

    Raises
    ------
    SpectrumFormatError
        When the wavelength or flux column is missing, naming the columns looked for.
    """
    table = load_table(probe)
    wave_col = find_column(table, WAVE_NAMES)
    flux_col = find_column(table, FLUX_NAMES)
    columns = ", ".join(table.colnames) or "none"
    if wave_col is None:
        raise SpectrumFormatError(
            f"table has no wavelength column (looked for {', '.join(WAVE_NAMES)}; columns are {columns})", probe.path
        )
    if flux_col is None:
        raise SpectrumFormatError(
            f"table has no flux column (looked for {', '.join(FLUX_NAMES)}; columns are {columns})", probe.path
        )
    wave = wavelength_in_angstrom(table, wave_col, probe.path)
    flux = column_values(table, flux_col)
    if flux.shape != wave.shape:
        raise SpectrumDataError(f"columns {wave_col!r} and {flux_col!r} differ in length", probe.path)
    err_col = find_column(table, ERROR_NAMES)
    sigma = sigma_from_column(table, err_col) if err_col is not None else None
    if sigma is not None and sigma.shape != wave.shape:
        sigma = None
    meta = {"columns": [wave_col, flux_col] + ([err_col] if err_col else [])}
    return Spectrum(wavelength=wave, flux=flux, sigma=sigma, source_file=probe.path, meta=meta, **_scalar_ids(table))
