"""Streaming export: write a results catalog given chunk by chunk.

:func:`write_catalog_chunks` writes the file that
:func:`raveview.core.catalog.write_catalog` writes for the whole catalog, while
holding one chunk in memory at a time: FITS in two passes (text column widths
and row count first, then the header and each chunk's records), CSV and
Parquet in one. VOTable and ECSV are assembled in memory and handed to
:func:`~raveview.core.catalog.write_catalog`.

The schema enforcement, provenance clean-up and atomic write come from
:mod:`raveview.core.catalog`, the table encoders from
:mod:`raveview.core.catalog_formats`, so both writers produce the same file.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raveview.core.catalog import (
    _clean_provenance,
    _destination,
    _write_atomically,
    empty_catalog,
    enforce_schema,
    write_catalog,
)
from raveview.core.catalog_formats import (
    _arrow_table,
    _astropy_table,
    _fits_table_hdu,
    _text_widths,
    _write_csv_comments,
    _write_parquet,
)
from raveview.core.errors import CatalogError

__all__ = ["write_catalog_chunks"]

_FITS_BLOCK = 2880
_ROW_GROUP_ROWS = 65_536  # Parquet row groups gather chunks up to this many rows


def write_catalog_chunks(
    frames: Iterable[pd.DataFrame],
    path: str | PathLike[str],
    n_rows: int | None = None,
    format: str | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write a catalog given chunk by chunk, atomically, holding one chunk in memory at a time.

    The file is the one ``write_catalog(pd.concat(frames), ...)`` writes: same
    columns, types, units, descriptions and provenance (FITS and CSV byte for
    byte; Parquet in row groups of about 65 536 rows), and it is renamed into
    place only once complete.

    Parameters
    ----------
    frames
        The catalog's rows, chunk after chunk; each chunk gets the schema
        enforced. Chunks without rows are skipped; the others must share their
        columns and types beyond the schema's. FITS iterates ``frames`` twice
        (once to size the text columns, once to write), so it must be
        re-iterable (a list, or an object whose ``__iter__`` starts over).
    path
        Output file.
    n_rows
        Number of rows the chunks hold, when known; another count is an error.
    format
        ``"fits"``, ``"votable"``, ``"ecsv"``, ``"csv"`` or ``"parquet"``; by
        default from the file's suffix.
    provenance
        As for :func:`write_catalog`.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    CatalogError
        When the format is unknown, the chunks disagree (columns, types, row
        count) or the file cannot be written; ``path`` is then left as it was.
    TypeError
        When FITS is asked for and ``frames`` is a one-shot iterator.

    Notes
    -----
    VOTable and ECSV are written by astropy, which needs the whole table, so
    for those formats the chunks are concatenated in memory (they are meant
    for small catalogs). As with :func:`write_catalog`, FITS files carry no
    CHECKSUM/DATASUM cards.
    """
    path, fmt = _destination(path, format)
    prov = _clean_provenance(provenance)
    if fmt not in _CHUNK_WRITERS:
        parts = list(frames)
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        _check_rows(len(frame), n_rows)
        return write_catalog(frame, path, format=fmt, provenance=prov)
    if fmt == "fits" and iter(frames) is frames:
        raise TypeError("a FITS catalog needs two passes over the chunks: pass a list or a re-iterable, not an iterator")
    return _write_atomically(path, fmt, lambda tmp: _CHUNK_WRITERS[fmt](frames, tmp, prov, n_rows))


def _check_rows(count: int, expected: int | None) -> None:
    if expected is not None and count != expected:
        raise CatalogError(f"the chunks held {count} rows, not the {expected} expected")


def _typed_chunks(frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The chunks that hold rows, schema enforced, each with the first one's columns and types."""
    first: pd.Series | None = None
    for index, frame in enumerate(frames):
        if not len(frame):
            continue
        typed = enforce_schema(frame)
        if first is None:
            first = typed.dtypes
        elif not typed.dtypes.equals(first):
            raise CatalogError(f"chunk {index} has other columns or column types than the first chunk")
        yield typed


def _write_fits_chunks(frames: Iterable[pd.DataFrame], path: Path, provenance: dict[str, str],
                       n_rows: int | None) -> None:
    """FITS in two passes: text widths and row count, then the header and each chunk's records."""
    template, widths, count = _fits_layout(frames)
    _check_rows(count, n_rows)
    hdu = _fits_table_hdu(template, provenance, widths)
    dtype = np.ndarray.view(hdu.data, np.ndarray).dtype
    written = 0
    with open(path, "wb") as handle:
        handle.write(_fits_headers(hdu, count))
        for chunk in _typed_chunks(frames):
            handle.write(_fits_records(chunk, widths, dtype))
            written += len(chunk)
        _check_rows(written, count)  # the second pass saw other chunks than the first
        handle.write(bytes(-handle.tell() % _FITS_BLOCK))


def _fits_layout(frames: Iterable[pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, int], int]:
    """A zero-row template of the chunks, the widest value of each text column, and the row count."""
    template, widths, count = None, {}, 0
    for chunk in _typed_chunks(frames):
        template = chunk.iloc[:0] if template is None else template
        for name, width in _text_widths(chunk).items():
            widths[name] = max(widths.get(name, 1), width)
        count += len(chunk)
    return (empty_catalog() if template is None else template), widths, count


def _fits_headers(hdu, n_rows: int) -> bytes:
    """The primary and table headers exactly as ``HDUList.writeto`` writes them, with NAXIS2 = ``n_rows``.

    ``hdu`` is written with zero rows to memory (astropy verifies the headers
    and orders the column keywords), and its NAXIS2 card is then set.
    """
    from astropy.io import fits

    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer, output_verify="exception")
    buffer.seek(0)
    with fits.open(buffer) as written:
        table = written[1].header
        table["NAXIS2"] = n_rows
        return (written[0].header.tostring() + table.tostring()).encode("ascii")


def _fits_records(chunk: pd.DataFrame, widths: Mapping[str, int], dtype: np.dtype) -> bytes:
    """A chunk's rows as the big-endian FITS records of a table with ``dtype``."""
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fits.table_to_hdu(_astropy_table(chunk, text_as_bytes=True, widths=widths)).data
    records = np.ndarray.view(data, np.ndarray)  # the raw FITS fields: 'T'/'F' logicals, TNULL ids
    if records.dtype != dtype:
        raise CatalogError("a chunk does not fit the FITS table layout (its text is wider than in the first pass)")
    return records.astype(dtype.newbyteorder(">")).tobytes()


def _write_csv_chunks(frames: Iterable[pd.DataFrame], path: Path, provenance: dict[str, str],
                      n_rows: int | None) -> None:
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        _write_csv_comments(handle, provenance)
        for chunk in _typed_chunks(frames):
            chunk.to_csv(handle, index=False, header=count == 0, lineterminator="\n")
            count += len(chunk)
        if count == 0:
            empty_catalog().to_csv(handle, index=False, lineterminator="\n")
    _check_rows(count, n_rows)


def _write_parquet_chunks(frames: Iterable[pd.DataFrame], path: Path, provenance: dict[str, str],
                          n_rows: int | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer, pending, count = None, [], 0
    try:
        for chunk in _typed_chunks(frames):
            table = _arrow_table(chunk, provenance)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            pending.append(table)
            count += len(chunk)
            if sum(len(t) for t in pending) >= _ROW_GROUP_ROWS:
                writer.write_table(pa.concat_tables(pending))
                pending = []
        if writer is None:
            _write_parquet(empty_catalog(), path, provenance)
        elif pending:
            writer.write_table(pa.concat_tables(pending))
    finally:
        if writer is not None:
            writer.close()
    _check_rows(count, n_rows)


_CHUNK_WRITERS = {"fits": _write_fits_chunks, "csv": _write_csv_chunks, "parquet": _write_parquet_chunks}
