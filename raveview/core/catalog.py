"""The results catalog: Table 1 of Guiglion et al. (2020) plus raveview's columns.

A catalog is a :class:`pandas.DataFrame` with the columns of
:data:`raveview.core.catalog_schema.ALL_COLUMNS` in that order (any further
columns follow) and fixed types:

* ``rave_obs_id`` and the text columns: ``str`` ("" when unknown);
* ``sourceid``: nullable ``Int64`` (``<NA>`` when unknown; 19-digit Gaia ids exact);
* label values and errors, ``snr``, ``masked_fraction``: ``float32`` (NaN when unknown);
* ``flag_*``: ``int16`` (1 when the value lies outside the training range);
* ``photometry_used``, ``disagreement``: ``bool``.

:func:`write_catalog` writes FITS (binary table with TUNITn), VOTable 1.4,
ECSV, plain CSV or Parquet, atomically, with a provenance dictionary;
:func:`raveview.core.catalog_stream.write_catalog_chunks` writes the same file from a catalog given chunk by
chunk, holding one chunk at a time (FITS, CSV, Parquet);
:func:`read_catalog` reads any of them back.

The columns' types, units and descriptions are defined in
:mod:`raveview.core.catalog_schema`, the per-format writers and readers in
:mod:`raveview.core.catalog_formats`, and the chunked writer in
:mod:`raveview.core.catalog_stream` (importable from here too); this module
enforces the schema, handles provenance and format names, and writes
atomically.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raveview.core.catalog_formats import _READERS, _WRITERS, _text
from raveview.core.catalog_schema import (
    _FLAG,
    _FLOAT,
    _ID,
    _TEXT,
    COLUMN_DESCRIPTIONS,  # noqa: F401  (still importable from here)
    COLUMN_TYPES,
    COLUMN_UNITS,
)
from raveview.core.errors import CatalogError
from raveview.core.photometry import to_int64_ids

__all__ = [
    "COLUMN_TYPES", "COLUMN_UNITS", "FORMATS", "empty_catalog", "catalog_from_records",
    "enforce_schema", "write_catalog", "read_catalog", "default_provenance",
    "format_from_path",
]

#: Format name → file suffixes.
FORMATS: dict[str, tuple[str, ...]] = {
    "fits": (".fits", ".fit", ".fts", ".fits.gz"),
    "votable": (".vot", ".votable", ".xml"),
    "ecsv": (".ecsv",),
    "csv": (".csv",),
    "parquet": (".parquet", ".pq"),
}


# --------------------------------------------------------------------------- schema


def _default(dtype: str, n: int) -> Any:
    if dtype == _TEXT:
        return pd.Series([""] * n, dtype=_TEXT)
    if dtype == _ID:
        return pd.Series(pd.array([pd.NA] * n, dtype=_ID))
    if dtype == _FLOAT:
        return pd.Series(np.full(n, np.nan, dtype=np.float32))
    if dtype == _FLAG:
        return pd.Series(np.zeros(n, dtype=np.int16))
    return pd.Series(np.zeros(n, dtype=bool))


def _coerce(column: pd.Series, dtype: str, name: str) -> pd.Series:
    column = column.reset_index(drop=True)
    if dtype == _TEXT:
        return pd.Series([_text(v) for v in column], dtype=_TEXT)
    if dtype == _ID:
        ids = to_int64_ids(column)
        return ids.where(ids.isna() | (ids >= 0), pd.NA).astype(_ID)
    numeric = pd.to_numeric(column, errors="coerce")
    if dtype == _FLOAT:
        return numeric.astype(np.float64).astype(np.float32)
    if dtype == _FLAG:
        return numeric.fillna(0).astype(np.int16)
    if column.dtype == object:  # "True"/"False" text
        column = column.map(lambda v: str(v).strip().lower() in ("true", "1", "t", "yes") if not pd.isna(v) else False)
        return column.astype(bool)
    return numeric.fillna(0).astype(bool)


def enforce_schema(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the catalog's columns, order and types.

    Missing schema columns are added (NaN, ``<NA>``, 0, "" or False); columns
    not in the schema are kept after them.

    Raises
    ------
    CatalogError
        When a column cannot be converted to its type.
    """
    n = len(frame)
    out: dict[str, pd.Series] = {}
    for name, dtype in COLUMN_TYPES.items():
        if name in frame.columns:
            try:
                out[name] = _coerce(frame[name], dtype, name)
            except (TypeError, ValueError, OverflowError) as exc:
                raise CatalogError(f"column {name!r} cannot be read as {dtype} ({exc})") from None
        else:
            out[name] = _default(dtype, n)
    for name in frame.columns:
        if name not in COLUMN_TYPES:
            out[name] = frame[name].reset_index(drop=True)
    return pd.DataFrame(out)


def empty_catalog() -> pd.DataFrame:
    """A catalog with no rows and every schema column typed."""
    return enforce_schema(pd.DataFrame())


def catalog_from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a catalog from dict-like rows (missing keys get their defaults).

    Parameters
    ----------
    records
        One mapping per star, keyed by catalog column names.
    """
    rows = [dict(r) for r in records]
    keys = list(dict.fromkeys(key for row in rows for key in row))
    # object columns: no float round trip for 19-digit ids mixed with None
    columns = {key: pd.Series([row.get(key) for row in rows], dtype=object) for key in keys}
    return enforce_schema(pd.DataFrame(columns, index=range(len(rows))))


def default_provenance(**extra: Any) -> dict[str, str]:
    """Provenance with raveview's version and the UTC date, plus ``extra`` items."""
    from raveview import __version__

    prov = {
        "software": f"raveview {__version__}",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    prov.update({k: str(v) for k, v in extra.items()})
    return _clean_provenance(prov)


def _clean_provenance(provenance: Mapping[str, Any] | None) -> dict[str, str]:
    """Keys as lower-case ``[a-z0-9_]``, values as one-line strings."""
    clean: dict[str, str] = {}
    for key, value in (provenance or {}).items():
        name = re.sub(r"[^a-z0-9_]+", "_", str(key).strip().lower()).strip("_")
        if not name:
            raise ValueError(f"provenance key {key!r} has no letters or digits")
        clean[name] = " ".join(str(value).split())
    return clean


# --------------------------------------------------------------------------- formats


def format_from_path(path: str | PathLike[str]) -> str:
    """The catalog format named by a file's suffix (``CatalogError`` when unknown)."""
    name = Path(path).name.lower()
    for fmt, suffixes in FORMATS.items():
        if any(name.endswith(s) for s in suffixes):
            return fmt
    known = ", ".join(s for suffixes in FORMATS.values() for s in suffixes)
    raise CatalogError(f"unknown catalog format (use one of {known})", path)


# --------------------------------------------------------------------------- writing and reading


def write_catalog(
    frame: pd.DataFrame,
    path: str | PathLike[str],
    format: str | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write a catalog atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    frame
        The catalog (the schema is enforced before writing).
    path
        Output file.
    format
        ``"fits"``, ``"votable"``, ``"ecsv"``, ``"csv"`` or ``"parquet"``; by
        default from the file's suffix.
    provenance
        Model id, model SHA-256, software version, date, input description...
        Keys become lower-case ``[a-z0-9_]``, values one-line strings. Stored as
        FITS ``HIERARCH PROV`` cards, VOTable INFO elements, ECSV meta, ``# key:
        value`` lines at the top of a CSV, or Parquet schema metadata.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    CatalogError
        When the format is unknown or the file cannot be written.
    """
    path, fmt = _destination(path, format)
    catalog = enforce_schema(frame)
    prov = _clean_provenance(provenance)
    return _write_atomically(path, fmt, lambda tmp: _WRITERS[fmt](catalog, tmp, prov))


def _destination(path: str | PathLike[str], format: str | None) -> tuple[Path, str]:
    """The output path and format, checked (``CatalogError`` when unknown or the folder is missing)."""
    path = Path(path)
    fmt = format.lower() if format else format_from_path(path)
    if fmt not in _WRITERS:
        raise CatalogError(f"unknown catalog format {format!r} (use {', '.join(_WRITERS)})", path)
    if not path.parent.is_dir():
        raise CatalogError("the folder does not exist", path)
    return path, fmt


def _write_atomically(path: Path, fmt: str, write: Callable[[Path], None]) -> Path:
    """Run ``write`` on a temporary file beside ``path`` and rename it over ``path`` once complete.

    Any error removes the temporary file, leaves ``path`` as it was and is
    raised as a one-line :class:`CatalogError`.
    """
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except CatalogError as exc:
        tmp.unlink(missing_ok=True)
        raise exc if exc.path else CatalogError(exc.message, path) from None
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if not isinstance(exc, Exception):  # KeyboardInterrupt, GeneratorExit...: no partial file, then re-raise
            raise
        raise CatalogError(f"cannot write as {fmt} ({' '.join(str(exc).split())[:150]})", path) from exc
    return path


def read_catalog(path: str | PathLike[str], format: str | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read a catalog written by :func:`write_catalog` (or any table with its columns).

    Parameters
    ----------
    path
        The catalog file.
    format
        Forced format; by default from the suffix.

    Returns
    -------
    (pandas.DataFrame, dict)
        The catalog with the schema enforced, and its provenance.

    Raises
    ------
    CatalogError
        When the file is missing, of an unknown format, or unreadable.
    """
    path = Path(path)
    fmt = format.lower() if format else format_from_path(path)
    if fmt not in _READERS:
        raise CatalogError(f"unknown catalog format {format!r}", path)
    if not path.is_file():
        raise CatalogError("no such file", path)
    try:
        frame, prov = _READERS[fmt](path)
        return enforce_schema(frame), prov
    except CatalogError as exc:
        raise exc if exc.path else CatalogError(exc.message, path) from None
    except Exception as exc:
        raise CatalogError(f"cannot read as {fmt} ({' '.join(str(exc).split())[:150]})", path) from exc
