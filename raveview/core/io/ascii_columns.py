"""Plain text spectra: two or three numeric columns (wavelength, flux, [error]).

Columns are separated by white space (or commas); ``#`` starts a comment. One
line of column names may precede the numbers, in which case the columns are
chosen by name as for tables. Wavelengths without a unit follow the rule of
:func:`raveview.core.io.units.guess_unitless_factor` (below 2000 → nm, else Å).
"""

from __future__ import annotations

import gzip
import warnings

import numpy as np

from raveview.core.errors import SpectrumFormatError
from raveview.core.io.registry import Probe, register_reader
from raveview.core.io.table_spectrum import ERROR_NAMES, FLUX_NAMES, WAVE_NAMES
from raveview.core.io.tables import first_data_lines, is_number, split_fields
from raveview.core.io.units import guess_unitless_factor
from raveview.core.spectrum import Spectrum


def _layout(probe: Probe) -> tuple[list[str] | None, int] | None:
    """(column names or None, number of columns) when the file looks like numeric columns."""
    if probe.is_fits:
        return None
    lines = first_data_lines(probe, 2)
    if not lines:
        return None
    first = split_fields(lines[0])
    if 2 <= len(first) <= 3 and all(is_number(f) for f in first):
        return None, len(first)
    if len(lines) == 2:
        second = split_fields(lines[1])
        if 2 <= len(second) <= 3 and all(is_number(f) for f in second) and len(first) == len(second):
            return [name.lower() for name in first], len(second)
    return None


def _index(names: list[str] | None, candidates: tuple[str, ...], default: int | None) -> int | None:
    if names is None:
        return default
    for name in candidates:
        if name in names:
            return names.index(name)
    return None


def _identify(probe: Probe) -> bool:
    return _layout(probe) is not None


@register_reader(
    "ascii-columns",
    _identify,
    extensions=(".txt", ".dat", ".asc", ".ascii"),
    priority=10,
    description="Plain text: wavelength, flux[, error] columns",
)
def read_ascii_columns(probe: Probe) -> Spectrum:
    """Read a plain two- or three-column text spectrum."""
    names, ncol = _layout(probe)
    if names is None:
        delimiter = "," if "," in first_data_lines(probe, 1)[0] else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = np.loadtxt(probe.path, comments="#", delimiter=delimiter, ndmin=2, dtype=np.float64)
    else:
        data = _load_with_header(probe)
    if data.shape[1] != ncol:
        raise SpectrumFormatError(f"rows have {data.shape[1]} columns, expected {ncol}", probe.path)
    iw, jf = _index(names, WAVE_NAMES, 0), _index(names, FLUX_NAMES, 1)
    if iw is None or jf is None:
        raise SpectrumFormatError(f"no wavelength/flux column among {', '.join(names or [])}", probe.path)
    ke = _index(names, ERROR_NAMES, 2 if ncol == 3 else None)
    wave = data[:, iw]
    if names is not None and names[iw] == "loglam":
        wave = 10.0 ** wave
    else:
        wave = wave * guess_unitless_factor(wave)
    sigma = data[:, ke] if ke is not None else None
    if sigma is not None and names is not None and names[ke] == "ivar":
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma = np.where(sigma > 0, 1.0 / np.sqrt(sigma), np.nan)
    return Spectrum(wavelength=wave, flux=data[:, jf], sigma=sigma, source_file=probe.path, meta={})


def _load_with_header(probe: Probe) -> np.ndarray:
    """Numbers of a file whose first data line holds column names."""
    rows = []
    header_seen = False
    opener = gzip.open if probe.head[:2] == b"\x1f\x8b" else open
    with opener(probe.path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            stripped = line.split("#", 1)[0].strip()
            if not stripped:
                continue
            if not header_seen:
                header_seen = True
                continue
            rows.append([float(f) for f in split_fields(stripped)])
    width = {len(r) for r in rows}
    if len(width) != 1:
        raise SpectrumFormatError("rows have different numbers of columns", probe.path)
    return np.asarray(rows, dtype=np.float64)
