"""One writer and one reader per catalog file format.

FITS (binary table with TUNITn and TCOMMn), VOTable 1.4, ECSV, plain CSV and
Parquet, each written from a catalog whose schema is enforced, with its
provenance (FITS ``HIERARCH PROV`` cards, VOTable INFO elements, ECSV meta,
``# key: value`` lines at the top of a CSV, Parquet schema metadata), and read
back as a raw frame plus that provenance.

These are the building blocks of :mod:`raveview.core.catalog`
(:func:`~raveview.core.catalog.write_catalog`,
:func:`~raveview.core.catalog.read_catalog`) and of
:mod:`raveview.core.catalog_stream`, which share the table encoders here
(:func:`_astropy_table`, :func:`_fits_table_hdu`, :func:`_arrow_table`) so
that a streamed file matches a whole-table one.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raveview.core.catalog_schema import _ID, _TEXT, COLUMN_DESCRIPTIONS, COLUMN_TYPES, COLUMN_UNITS
from raveview.core.errors import CatalogError

_PROV_PREFIX = "PROV "
_PARQUET_KEY = b"raveview.provenance"


# --------------------------------------------------------------------------- writers


def _text(value: Any) -> str:
    """A cell as stripped text: "" when missing, bytes decoded as UTF-8."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip()
    return str(value).strip()


def _is_text(column: pd.Series) -> bool:
    """Whether :func:`_astropy_table` writes ``column`` as a fixed-width text column."""
    return str(column.dtype) != _ID and (pd.api.types.is_string_dtype(column.dtype) or column.dtype == object)


def _text_widths(frame: pd.DataFrame) -> dict[str, int]:
    """Text column → its widest value in UTF-8 bytes (at least 1), as :func:`_astropy_table` sizes it.

    ``frame`` has the schema enforced, so its schema text columns hold
    stripped strings already and are measured by pyarrow.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    widths = {}
    for name in frame.columns:
        column = frame[name]
        if COLUMN_TYPES.get(name) == _TEXT and str(column.dtype) == _TEXT:
            widths[name] = max(1, pc.max(pc.binary_length(pa.array(column))).as_py() or 0)
        elif _is_text(column):
            widths[name] = max([1] + [len(_text(v).encode("utf-8")) for v in column])
    return widths


def _astropy_table(frame: pd.DataFrame, text_as_bytes: bool = False, widths: Mapping[str, int] | None = None):
    """The catalog as an astropy Table (masked ``sourceid``, fixed-width text, descriptions).

    Parameters
    ----------
    frame
        The catalog, schema enforced.
    text_as_bytes
        Text columns as UTF-8 bytes (FITS) rather than unicode.
    widths
        Text column → width to use (at least the widest value); by default
        the widest value of ``frame``. A streamed FITS file gives every chunk
        the widths of the whole catalog.
    """
    from astropy.table import MaskedColumn, Table

    table = Table()
    for name in frame.columns:
        column = frame[name]
        if str(column.dtype) == _ID:
            mask = column.isna().to_numpy()
            values = column.fillna(-1).to_numpy(np.int64)
            table[name] = MaskedColumn(values, mask=mask, fill_value=-1)
        elif _is_text(column):
            values = [_text(v) for v in column]
            encoded = [v.encode("utf-8") for v in values]
            width = max([1, (widths or {}).get(name, 0)] + [len(v) for v in encoded])
            table[name] = np.array(encoded, dtype=f"S{width}") if text_as_bytes else np.array(values, dtype=f"U{width}")
        else:
            table[name] = column.to_numpy()
        table[name].description = COLUMN_DESCRIPTIONS.get(name, "")
    return table


def _fits_table_hdu(frame: pd.DataFrame, provenance: dict[str, str], widths: Mapping[str, int] | None = None):
    """The catalog's BinTableHDU: TUNITn, TCOMMn, HIERARCH PROV cards and comments."""
    from astropy.io import fits

    table = _astropy_table(frame, text_as_bytes=True, widths=widths)  # FITS 'A' columns hold bytes (UTF-8 here)
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
    return hdu


def _write_fits(frame: pd.DataFrame, path: Path, provenance: dict[str, str]) -> None:
    from astropy.io import fits

    hdu = _fits_table_hdu(frame, provenance)
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True, output_verify="exception")


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
        _write_csv_comments(handle, provenance)
        frame.to_csv(handle, index=False, lineterminator="\n")


def _write_csv_comments(handle, provenance: dict[str, str]) -> None:
    for key, value in provenance.items():
        handle.write(f"# {key}: {value}\n")


def _arrow_table(frame: pd.DataFrame, provenance: dict[str, str]):
    """The catalog as a pyarrow Table whose schema carries the units and the provenance."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        meta = {b"unit": COLUMN_UNITS[field.name].encode()} if field.name in COLUMN_UNITS else None
        fields.append(field.with_metadata(meta) if meta else field)
    metadata = dict(table.schema.metadata or {})
    metadata[_PARQUET_KEY] = json.dumps(provenance).encode("utf-8")
    return table.cast(pa.schema(fields, metadata=metadata))


def _write_parquet(frame: pd.DataFrame, path: Path, provenance: dict[str, str]) -> None:
    import pyarrow.parquet as pq

    pq.write_table(_arrow_table(frame, provenance), path)


_WRITERS = {
    "fits": _write_fits, "votable": _write_votable, "ecsv": _write_ecsv,
    "csv": _write_csv, "parquet": _write_parquet,
}


# --------------------------------------------------------------------------- readers


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
