"""Loading a file as an ``astropy.table.Table`` once, for every table-based identify function.

FITS files give their first binary/ASCII table extension; text files are read
as ECSV when they start with ``# %ECSV`` and as CSV when their suffix is
``.csv`` or their first data line is a comma-separated header of names. Plain
numeric column files are left to :mod:`raveview.core.io.ascii_columns`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from raveview.core.errors import RaveviewError, SpectrumFormatError
from raveview.core.io.registry import Probe, _short

_CACHE_KEY = "table"


def is_number(token: str) -> bool:
    """True when ``token`` parses as a float (``nan``/``inf`` included)."""
    try:
        float(token)
    except ValueError:
        return False
    return True


def first_data_lines(probe: Probe, count: int = 3) -> list[str]:
    """The first ``count`` non-blank, non-``#`` lines of a text file's first bytes."""
    lines = []
    for line in probe.text_head.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(stripped)
            if len(lines) == count:
                break
    return lines


def split_fields(line: str) -> list[str]:
    """Fields of a data line separated by commas or white space."""
    return line.replace(",", " ").split() if "," in line else line.split()


def _text_format(probe: Probe) -> str | None:
    text = probe.text_head
    if not text:
        return None
    if text.startswith("# %ECSV"):
        return "ascii.ecsv"
    lines = first_data_lines(probe, 1)
    if not lines:
        return None
    fields = [f.strip().strip('"') for f in lines[0].split(",")]
    header_like = len(fields) >= 2 and not all(is_number(f) for f in fields)
    if probe.suffix == ".ecsv":
        return "ascii.ecsv"
    if probe.suffix == ".csv":  # a header-less numeric CSV is left to the plain-columns reader
        return "ascii.csv" if header_like or len(fields) < 2 else None
    if header_like and probe.suffix not in (".txt", ".dat", ".asc", ".ascii"):
        return "ascii.csv"
    return None


def _fill_masked(table: Any) -> Any:
    """Masked float values become NaN (empty CSV cells, Gaia's missing flux bins)."""
    for name in table.colnames:
        column = table[name]
        if hasattr(column, "mask") and np.any(column.mask) and column.dtype.kind == "f":
            table[name] = column.filled(np.nan)
    return table


def load_table(probe: Probe) -> Any | None:
    """The file's table (cached on the probe), or ``None`` when it is not a table file.

    Raises
    ------
    SpectrumFormatError
        When a file meant as a table (``.csv``, ``.ecsv``, ECSV header) cannot be parsed.
    """
    if _CACHE_KEY in probe.cache:
        cached = probe.cache[_CACHE_KEY]
        if isinstance(cached, RaveviewError):
            raise cached
        return cached
    from astropy.table import Table

    table = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if probe.is_fits:
                for hdu in probe.hdul()[1:]:
                    if hdu.header.get("XTENSION", "").strip() in ("BINTABLE", "TABLE") and hdu.data is not None:
                        table = Table.read(hdu)
                        break
            else:
                fmt = _text_format(probe)
                if fmt is not None:
                    table = Table.read(probe.path, format=fmt)
        if table is not None:
            table = _fill_masked(table)
    except RaveviewError as exc:
        probe.cache[_CACHE_KEY] = exc
        raise
    except Exception as exc:
        error = SpectrumFormatError(f"cannot parse the table ({_short(exc)})", probe.path)
        probe.cache[_CACHE_KEY] = error
        raise error from exc
    probe.cache[_CACHE_KEY] = table
    return table


def find_column(table: Any, names: Iterable[str]) -> str | None:
    """The first column of ``table`` whose name matches one of ``names`` (case-insensitive)."""
    by_lower = {name.lower(): name for name in table.colnames}
    for name in names:
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    return None
