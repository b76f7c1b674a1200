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
:func:`read_catalog` reads any of them back.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raveview.core.catalog_schema import ALL_COLUMNS
from raveview.core.errors import CatalogError
from raveview.core.labels import LABEL_KEYS, LABELS_BY_KEY
from raveview.core.photometry import to_int64_ids

__all__ = [
    "COLUMN_TYPES", "COLUMN_UNITS", "FORMATS", "empty_catalog", "catalog_from_records",
    "enforce_schema", "write_catalog", "read_catalog", "default_provenance", "format_from_path",
]

_TEXT = "str"
_ID = "Int64"
_FLOAT = "float32"
_FLAG = "int16"
_BOOL = "bool"

#: Column → pandas dtype of the catalog.
COLUMN_TYPES: dict[str, str] = {"rave_obs_id": _TEXT, "sourceid": _ID}
for _key in LABEL_KEYS:
    COLUMN_TYPES.update({_key: _FLOAT, f"e{_key}": _FLOAT, f"flag_{_key}": _FLAG})
COLUMN_TYPES["snr"] = _FLOAT
COLUMN_TYPES.update(
    {
        "source_file": _TEXT, "model_id": _TEXT, "ensemble": _TEXT, "photometry_used": _BOOL,
        "phot_flags": _TEXT, "masked_fraction": _FLOAT, "disagreement": _BOOL, "quality_flags": _TEXT,
    }
)
assert tuple(COLUMN_TYPES) == ALL_COLUMNS, "catalog types out of step with catalog_schema"

#: Column → unit string (written as FITS TUNITn, VOTable unit, ECSV/Parquet unit).
COLUMN_UNITS: dict[str, str] = {}
for _key in LABEL_KEYS:
    COLUMN_UNITS[_key] = COLUMN_UNITS[f"e{_key}"] = LABELS_BY_KEY[_key].unit

#: Column → one-line description (VOTable DESCRIPTION, FITS TCOMMn).
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "rave_obs_id": "RAVE observation id",
    "sourceid": "Gaia DR2 source id",
    "snr": "signal-to-noise ratio of the spectrum",
    "source_file": "spectrum file the row came from",
    "model_id": "id of the model bundle used",
    "ensemble": "ensemble that predicted the row (photometry or spectroscopy)",
    "photometry_used": "absolute magnitudes were fed to the network",
    "phot_flags": "why photometry was not used",
    "masked_fraction": "fraction of model-grid pixels filled",
    "disagreement": "member spread beyond the usual for this model",
    "quality_flags": "comma-separated quality notes",
}
for _key in LABEL_KEYS:
    _name = LABELS_BY_KEY[_key].display
    COLUMN_DESCRIPTIONS[_key] = f"{_name} (CNN ensemble mean)"
    COLUMN_DESCRIPTIONS[f"e{_key}"] = f"{_name} uncertainty (ensemble dispersion)"
    COLUMN_DESCRIPTIONS[f"flag_{_key}"] = f"{_name} boundary flag: 1 outside the training range"

#: Format name → file suffixes.
FORMATS: dict[str, tuple[str, ...]] = {
    "fits": (".fits", ".fit", ".fts", ".fits.gz"),
    "votable": (".vot", ".votable", ".xml"),
    "ecsv": (".ecsv",),
    "csv": (".csv",),
    "parquet": (".parquet", ".pq"),
}
_PROV_PREFIX = "PROV "
_PARQUET_KEY = b"raveview.provenance"


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


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip()
    return str(value).strip()


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


def _astropy_table(frame: pd.DataFrame, text_as_bytes: bool = False):
    from astropy.table import MaskedColumn, Table

    table = Table()
    for name in frame.columns:
        column = frame[name]
        if str(column.dtype) == _ID:
            mask = column.isna().to_numpy()
            values = column.fillna(-1).to_numpy(np.int64)
            table[name] = MaskedColumn(values, mask=mask, fill_value=-1)
        elif pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
            values = [_text(v) for v in column]
            encoded = [v.encode("utf-8") for v in values]
            width = max([1] + [len(v) for v in encoded])
            table[name] = np.array(encoded, dtype=f"S{width}") if text_as_bytes else np.array(values, dtype=f"U{width}")
        else:
            table[name] = column.to_numpy()
        table[name].description = COLUMN_DESCRIPTIONS.get(name, "")
    return table


def _write_fits(frame: pd.DataFrame, path: Path, provenance: dict[str, str]) -> None:
    from astropy.io import fits

    table = _astropy_table(frame, text_as_bytes=True)  # FITS 'A' columns hold bytes (UTF-8 here)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdu = fits.table_to_hdu(table)
    hdu.name = "CATALOG"
    header = hdu.header
    for index, name in enumerate(frame.columns, start=1):
        if name in COLUMN_UNITS:
            header.insert(f"TFORM{index}", (f"TUNIT{index}", COLUMN_UNITS[name]), after=True)
        if COLUMN_DESCRIPTIONS.get(name):
            comment = COLUMN_DESCRIPTIONS[name].replace("α", "alpha").encode("ascii", "replace").decode()
            header.set(f"TCOMM{index}", comment[:68], after=f"TFORM{index}")
    for key, value in provenance.items():
        header[f"HIERARCH {_PROV_PREFIX}{key.upper()}"] = value.encode("ascii", "replace").decode("ascii")
    header.add_comment("raveview results catalog: Table 1 of Guiglion et al. (2020) plus raveview columns")
    header.add_comment("provenance in the HIERARCH PROV cards")
    primary = fits.PrimaryHDU()
    fits.HDUList([primary, hdu]).writeto(path, overwrite=True, output_verify="exception")


def _write_votable(frame: pd.DataFrame, path: Path, provenance: dict[str, str]) -> None:
    from astropy.io import votable
    from astropy.io.votable.tree import Info

    table = _astropy_table(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vot = votable.from_table(table)
        vot.version = "1.4"
        resource = vot.resources[0]
        vtable = resource.tables[0]
        vtable.name = "raveview_catalog"
        for field in vtable.fields:
            if field.name in COLUMN_UNITS:
                field.unit = COLUMN_UNITS[field.name]
        for key, value in provenance.items():
            resource.infos.append(Info(name=key, value=value))
        vot.to_xml(str(path))


def _write_ecsv(frame: pd.DataFrame, path: Path, provenance: dict[str, str]) -> None:
    table = _astropy_table(frame)
    for name, unit in COLUMN_UNITS.items():
        if name in table.colnames:
            table[name].unit = unit
    table.meta.update(provenance)
    table.write(path, format="ascii.ecsv", delimiter=",", overwrite=True)


def _write_csv(frame: pd.DataFrame, path: Path, provenance: dict[str, str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for key, value in provenance.items():
            handle.write(f"# {key}: {value}\n")
        frame.to_csv(handle, index=False, lineterminator="\n")


def _write_parquet(frame: pd.DataFrame, path: Path, provenance: dict[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        meta = {b"unit": COLUMN_UNITS[field.name].encode()} if field.name in COLUMN_UNITS else None
        fields.append(field.with_metadata(meta) if meta else field)
    metadata = dict(table.schema.metadata or {})
    metadata[_PARQUET_KEY] = json.dumps(provenance).encode("utf-8")
    table = table.cast(pa.schema(fields, metadata=metadata))
    pq.write_table(table, path)


_WRITERS = {
    "fits": _write_fits, "votable": _write_votable, "ecsv": _write_ecsv,
    "csv": _write_csv, "parquet": _write_parquet,
}


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
    path = Path(path)
    fmt = format.lower() if format else format_from_path(path)
    if fmt not in _WRITERS:
        raise CatalogError(f"unknown catalog format {format!r} (use {', '.join(_WRITERS)})", path)
    if not path.parent.is_dir():
        raise CatalogError("the folder does not exist", path)
    catalog = enforce_schema(frame)
    prov = _clean_provenance(provenance)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        _WRITERS[fmt](catalog, tmp, prov)
        os.replace(tmp, path)
    except CatalogError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise CatalogError(f"cannot write as {fmt} ({' '.join(str(exc).split())[:150]})", path) from exc
    return path


def _read_fits(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    from astropy.io import fits
    from astropy.table import Table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False) as hdul:
            index = next((i for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU)), None)
            if index is None:
                raise CatalogError("holds no binary table", path)
            header = hdul[index].header
            prov = {
                str(k)[len(_PROV_PREFIX):].lower(): str(v)
                for k, v in header.items()
                if str(k).upper().startswith(_PROV_PREFIX)
            }
            table = Table.read(hdul[index], unit_parse_strict="silent")
    return _table_to_frame(table), prov


def _table_to_frame(table) -> pd.DataFrame:
    table.convert_bytestring_to_unicode()
    for name in table.colnames:
        table[name].unit = None
    return table.to_pandas()


def _read_votable(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    from astropy.io import votable

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vot = votable.parse(str(path), verify="ignore")
        infos = list(vot.infos)
        for resource in vot.resources:
            infos.extend(resource.infos)
        vtable = vot.get_first_table()
        infos.extend(vtable.infos)
        table = vtable.to_table(use_names_over_ids=True)
    prov = {str(i.name): str(i.value) for i in infos if i.name}
    return _table_to_frame(table), prov


def _read_ecsv(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    from astropy.table import Table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = Table.read(path, format="ascii.ecsv")
    prov = {str(k): str(v) for k, v in table.meta.items() if not isinstance(v, (dict, list))}
    return _table_to_frame(table), prov


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    prov: dict[str, str] = {}
    skip = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            skip += 1
            key, sep, value = line[1:].strip().partition(":")
            if sep and key.strip():
                prov[key.strip()] = value.strip()
    text_like = [c for c, t in COLUMN_TYPES.items() if t in (_TEXT, _ID)]
    header = pd.read_csv(path, skiprows=skip, nrows=0).columns
    frame = pd.read_csv(
        path, skiprows=skip, dtype={c: str for c in text_like if c in header},
        keep_default_na=False, na_values={c: ["", "nan", "NaN"] for c in header if c not in text_like},
    )
    return frame, prov


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(_PARQUET_KEY)
    prov = {str(k): str(v) for k, v in json.loads(raw).items()} if raw else {}
    return table.to_pandas(), prov


_READERS = {
    "fits": _read_fits, "votable": _read_votable, "ecsv": _read_ecsv,
    "csv": _read_csv, "parquet": _read_parquet,
}


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

