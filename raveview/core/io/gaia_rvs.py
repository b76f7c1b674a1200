"""Gaia DR3 RVS mean spectra (Gaia Collaboration, Recio-Blanco et al. 2023).

Two products are read:

* the archive's **datalink** files (ECSV/CSV/FITS, long format): one row per
  pixel with ``source_id``, ``wavelength`` (nm, vacuum), ``flux``,
  ``flux_error``; a file holding several sources gives one spectrum each;
* the bulk ``RvsMeanSpectrum`` files (ECSV/CSV): one row per source whose
  ``flux`` and ``flux_error`` cells are arrays on the fixed grid 846–870 nm in
  0.01 nm steps (2401 pixels); in CSV they are strings like ``"[0.98,0.99,...]"``.

Wavelengths are converted to Å in air with :func:`raveview.core.airvac.vacuum_to_air`.
Empty (NaN) flux bins are masked by validation. RVS mean spectra are already
continuum-normalised and are kept as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raveview.core.airvac import vacuum_to_air
from raveview.core.errors import SpectrumFormatError
from raveview.core.io.registry import Probe, register_reader
from raveview.core.io.tables import find_column, load_table
from raveview.core.io.units import angstrom_factor
from raveview.core.spectrum import Spectrum

#: The fixed RVS mean-spectrum grid, vacuum nm.
RVS_START_NM, RVS_STEP_NM, RVS_N = 846.0, 0.01, 2401


def rvs_grid_vacuum_angstrom() -> np.ndarray:
    """The 2401 vacuum wavelengths (Å) of the bulk RVS mean-spectrum arrays."""
    return (RVS_START_NM + RVS_STEP_NM * np.arange(RVS_N)) * 10.0


def parse_array_cell(value: Any) -> np.ndarray:
    """One array cell as floats: a string ``"[0.98, null, ...]"``, a list or an array (missing → NaN)."""
    if isinstance(value, (str, bytes)):
        text = value.decode() if isinstance(value, bytes) else value
        text = text.strip().strip("[]()").replace("null", "nan").replace("None", "nan")
        tokens = text.split(",") if "," in text else text.split()
        return np.array([t.strip() or "nan" for t in tokens], dtype=np.float64)
    array = np.ma.filled(np.ma.asarray(value, dtype=np.float64), np.nan)
    return np.asarray(array, dtype=np.float64).ravel()


def _meta(kind: str) -> dict[str, Any]:
    return {"product": f"Gaia DR3 RVS mean spectrum ({kind})", "vacuum_to_air": True}


def _source_ids(column: Any, where: Any) -> np.ndarray:
    """The ``source_id`` column as int64 (Gaia ids do not fit a float64 exactly)."""
    if column.dtype.kind not in "iu" or np.any(getattr(column, "mask", False)):
        raise SpectrumFormatError("source_id column holds empty or non-integer values", where)
    return np.asarray(column, dtype=np.int64)


def _is_array_column(table: Any, name: str) -> bool:
    column = table[name]
    return column.ndim > 1 or column.dtype.kind in ("U", "S", "O")


def _identify_datalink(probe: Probe) -> bool:
    table = load_table(probe)
    if table is None:
        return False
    names = [find_column(table, (n,)) for n in ("source_id", "wavelength", "flux")]
    return all(names) and not _is_array_column(table, names[2])


def _identify_bulk(probe: Probe) -> bool:
    table = load_table(probe)
    if table is None:
        return False
    source, flux = find_column(table, ("source_id",)), find_column(table, ("flux",))
    return bool(source and flux) and find_column(table, ("wavelength",)) is None and _is_array_column(table, flux)


@register_reader(
    "gaia-rvs",
    _identify_datalink,
    extensions=(".ecsv", ".csv", ".fits"),
    priority=75,
    description="Gaia DR3 RVS mean spectrum, archive datalink (long format)",
)
def read_gaia_rvs_datalink(probe: Probe) -> Spectrum | list[Spectrum]:
    """Read a datalink RVS file: one spectrum per ``source_id`` (vacuum nm → air Å)."""
    table = load_table(probe)
    col = {n: find_column(table, (n,)) for n in ("source_id", "wavelength", "flux", "flux_error")}
    factor = angstrom_factor(getattr(table[col["wavelength"]], "unit", None), probe.path) or 10.0
    ids = _source_ids(table[col["source_id"]], probe.path)
    wave_all = np.asarray(table[col["wavelength"]], dtype=np.float64) * factor
    flux_all = np.asarray(table[col["flux"]], dtype=np.float64)
    err_all = np.asarray(table[col["flux_error"]], dtype=np.float64) if col["flux_error"] else None
    _, first = np.unique(ids, return_index=True)
    spectra = []
    for source_id in ids[np.sort(first)]:
        rows = np.flatnonzero(ids == source_id)
        rows = rows[np.argsort(wave_all[rows], kind="stable")]
        spectra.append(
            Spectrum(
                wavelength=vacuum_to_air(wave_all[rows]),
                flux=flux_all[rows],
                sigma=None if err_all is None else err_all[rows],
                source_id=int(source_id),
                source_file=probe.path,
                meta=_meta("datalink"),
            )
        )
    if not spectra:
        raise SpectrumFormatError("Gaia RVS table has no rows", probe.path)
    return spectra[0] if len(spectra) == 1 else spectra


@register_reader(
    "gaia-rvs-bulk",
    _identify_bulk,
    extensions=(".ecsv", ".csv", ".csv.gz"),
    priority=80,
    description="Gaia DR3 RvsMeanSpectrum bulk file (one source per row, array cells)",
)
def read_gaia_rvs_bulk(probe: Probe) -> list[Spectrum]:
    """Read a bulk ``RvsMeanSpectrum`` file: one spectrum per row on the 846–870 nm grid."""
    table = load_table(probe)
    source_col, flux_col = find_column(table, ("source_id",)), find_column(table, ("flux",))
    err_col = find_column(table, ("flux_error",))
    wave = vacuum_to_air(rvs_grid_vacuum_angstrom())
    spectra = []
    for index, row in enumerate(table):
        flux = parse_array_cell(row[flux_col])
        if flux.size != RVS_N:
            raise SpectrumFormatError(
                f"row {index + 1}: flux array has {flux.size} values, expected {RVS_N} (846–870 nm, 0.01 nm)",
                probe.path,
            )
        sigma = parse_array_cell(row[err_col]) if err_col else None
        if sigma is not None and sigma.size != RVS_N:
            sigma = None
        spectra.append(
            Spectrum(
                wavelength=wave,
                flux=flux,
                sigma=sigma,
                source_id=int(row[source_col]),
                source_file=probe.path,
                meta=dict(_meta("bulk"), index=index),
            )
        )
    if not spectra:
        raise SpectrumFormatError("Gaia RVS bulk table has no rows", probe.path)
    return spectra
