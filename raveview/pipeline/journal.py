"""An SQLite journal of a batch run, so that no finished work is ever lost.

Each chunk of results (Parquet bytes, exact values) is committed in one transaction together with the keys
of the inputs it covers, so after a crash (even SIGKILL) the journal holds
whole chunks only: a resumed run skips the keys already done and redoes the
rest, without duplicates. Failures are journaled too (key, reason). The final
catalog is exported from the journal in key order, a block at a time
(:meth:`Journal.catalog_chunks`); each chunk's row count is kept beside it
(table ``chunk_rows``, read by :meth:`Journal.n_rows`).
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from raveview.core.errors import CatalogError

SCHEMA_VERSION = 1


class Journal:
    """A results journal in an SQLite file (WAL mode).

    Parameters
    ----------
    path
        The journal file; created if absent, reopened (for ``--resume``) if present.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS inputs (
                    key TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT, chunk INTEGER, time REAL);
                CREATE TABLE IF NOT EXISTS chunks (chunk INTEGER PRIMARY KEY, payload BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS chunk_rows (chunk INTEGER PRIMARY KEY, n INTEGER NOT NULL);
                """
            )
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"cannot open the run journal ({exc})", self.path) from None
        stored = self.get_meta("schema_version")
        if stored is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif int(stored) > SCHEMA_VERSION:
            raise CatalogError(f"journal schema {stored} is newer than this raveview supports", self.path)

    # -- metadata -------------------------------------------------------------------------
    def set_meta(self, key: str, value) -> None:
        """Store a JSON-serialisable value under ``key``."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default=None):
        """The value stored under ``key``, or ``default``."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # -- recording ------------------------------------------------------------------------
    def record_chunk(
        self,
        results: pd.DataFrame,
        keys: Iterable[str],
        failures: dict[str, str] | None = None,
        inputs: Iterable[str] | None = None,
    ) -> int:
        """Commit a chunk of result rows and the inputs it covers, atomically.

        Parameters
        ----------
        results
            Catalog rows of the chunk (any columns; stored as they are).
        keys
            One key per row (stored with the row as ``_key``).
        failures
            Inputs of the chunk that failed, key → one-line reason.
        inputs
            The inputs the chunk finished, marked done; by default the row keys
            (a multi-spectrum file is one input but many rows).

        Returns
        -------
        int
            The chunk number.
        """
        keys = list(keys)
        if len(keys) != len(results):
            raise ValueError("one key per result row is needed")
        buffer = io.BytesIO()
        results.assign(_key=keys).to_parquet(buffer, index=False)
        payload = buffer.getvalue()
        now = time.time()
        with self._transaction():
            cur = self._db.execute("SELECT COALESCE(MAX(chunk), -1) + 1 FROM chunks")
            chunk = int(cur.fetchone()[0])
            self._db.execute("INSERT INTO chunks VALUES (?, ?)", (chunk, payload))
            self._db.execute("INSERT OR REPLACE INTO chunk_rows VALUES (?, ?)", (chunk, len(keys)))
            self._db.executemany(
                "INSERT OR REPLACE INTO inputs VALUES (?, 'done', NULL, ?, ?)",
                [(k, chunk, now) for k in (keys if inputs is None else inputs)],
            )
            if failures:
                self._db.executemany(
                    "INSERT OR REPLACE INTO inputs VALUES (?, 'failed', ?, NULL, ?)",
                    [(k, reason, now) for k, reason in failures.items()],
                )
        return chunk

    def record_failures(self, failures: dict[str, str]) -> None:
        """Journal failed inputs (key → one-line reason) without results."""
        if not failures:
            return
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO inputs VALUES (?, 'failed', ?, NULL, ?)",
                [(k, reason, now) for k, reason in failures.items()],
            )

    # -- reading --------------------------------------------------------------------------
    def done_keys(self) -> set[str]:
        """Keys of inputs already finished (results or failure), to skip on resume."""
        return {row[0] for row in self._db.execute("SELECT key FROM inputs")}

    def failures(self) -> list[tuple[str, str]]:
        """(key, reason) of every failed input, in the order they were journaled."""
        return list(self._db.execute("SELECT key, reason FROM inputs WHERE status = 'failed' ORDER BY time, key"))

    def n_done(self) -> int:
        """Number of inputs with results."""
        return int(self._db.execute("SELECT COUNT(*) FROM inputs WHERE status = 'done'").fetchone()[0])

    def results(self) -> pd.DataFrame:
        """All result rows, in the order they were journaled, with a ``_key`` column."""
        frames = list(self.iter_results())
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def iter_results(self) -> Iterator[pd.DataFrame]:
        """One typed frame per journaled chunk, in chunk order (the row order of :meth:`results`)."""
        for (payload,) in self._db.execute("SELECT payload FROM chunks ORDER BY chunk"):
            yield _decode(payload)

    def n_rows(self) -> int:
        """Number of result rows, without decoding the chunks."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        counted = self._db.execute("SELECT COALESCE(SUM(n), 0) FROM chunk_rows WHERE chunk IN (SELECT chunk FROM chunks)")
        total = int(counted.fetchone()[0])
        # chunks journaled before the chunk_rows table existed: count them from their Parquet footers
        uncounted = self._db.execute("SELECT payload FROM chunks WHERE chunk NOT IN (SELECT chunk FROM chunk_rows)")
        return total + sum(pq.read_metadata(pa.BufferReader(payload)).num_rows for (payload,) in uncounted)

    def catalog_chunks(self, block_rows: int = 2048, bucket_rows: int = 65_536) -> "KeyOrderedResults":
        """The result rows sorted by ``_key`` (stable) and without it, in blocks: what the catalog holds.

        The rows come out in the order ``results().sort_values("_key", kind="stable")``
        gives, but only a few chunks are decoded at a time (see
        :class:`KeyOrderedResults`). The object can be iterated more than once.
        """
        return KeyOrderedResults(self, block_rows, bucket_rows)

    def _chunk_ids(self) -> list[int]:
        return [int(row[0]) for row in self._db.execute("SELECT chunk FROM chunks ORDER BY chunk")]

    def _read_chunk(self, chunk: int, columns: list[str] | None = None) -> pd.DataFrame:
        (payload,) = self._db.execute("SELECT payload FROM chunks WHERE chunk = ?", (chunk,)).fetchone()
        return _decode(payload, columns)

    def close(self) -> None:
        """Close the database (checkpointing the WAL)."""
        self._db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *rest) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _decode(payload: bytes, columns: list[str] | None = None) -> pd.DataFrame:
    """A chunk's rows from its Parquet payload (only ``columns`` when given)."""
    return pd.read_parquet(io.BytesIO(payload), columns=columns)


class KeyOrderedResults:
    """A journal's result rows sorted by ``_key``, as frames of at most ``block_rows`` rows without ``_key``.

    The order is that of ``results().sort_values("_key", kind="stable")``.
    The ``_key`` column of every chunk is read first. When the chunks hold
    disjoint ranges of keys (the usual case: each chunk is a run of sorted
    paths), they are then decoded one at a time in key order, and only their
    key ranges are held. Otherwise (a resumed run, a path list in random
    order) every row's place is worked out (about 80 bytes a row) and the
    rows are gathered ``bucket_rows`` at a time, decoding only the chunks
    each bucket takes rows from.

    Parameters
    ----------
    journal
        The journal to read.
    block_rows
        Most rows per yielded frame.
    bucket_rows
        Rows gathered at a time when the chunks' key ranges overlap.
    """

    def __init__(self, journal: Journal, block_rows: int = 2048, bucket_rows: int = 65_536) -> None:
        if block_rows < 1 or bucket_rows < 1:
            raise ValueError("block_rows and bucket_rows must be at least 1")
        self.journal = journal
        self.block_rows = int(block_rows)
        self.bucket_rows = int(bucket_rows)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        ids = self.journal._chunk_ids()
        order = _disjoint_order([_span(self._keys(c)) for c in ids])
        frames = self._by_chunk(ids, order) if order is not None else self._by_bucket(ids)
        for frame in frames:
            for start in range(0, len(frame), self.block_rows):
                yield frame.iloc[start:start + self.block_rows].reset_index(drop=True)

    def _keys(self, chunk: int) -> pd.Series:
        return self.journal._read_chunk(chunk, ["_key"])["_key"]

    def _by_chunk(self, ids: list[int], order: list[int]) -> Iterator[pd.DataFrame]:
        """Chunks of disjoint key ranges, in key order, each sorted by key."""
        for index in order:
            frame = self.journal._read_chunk(ids[index])
            yield frame.sort_values("_key", kind="stable").drop(columns="_key")

    def _by_bucket(self, ids: list[int]) -> Iterator[pd.DataFrame]:
        """Runs of ``bucket_rows`` rows in key order, each gathered from the chunks holding its rows."""
        chunk_of, row_of = _key_order([self._keys(c) for c in ids])
        for start in range(0, len(chunk_of), self.bucket_rows):
            chunks, rows = chunk_of[start:start + self.bucket_rows], row_of[start:start + self.bucket_rows]
            by_chunk = np.argsort(chunks, kind="stable")  # bucket places grouped by chunk, in order
            present, first = np.unique(chunks[by_chunk], return_index=True)
            places = np.split(by_chunk, first[1:])
            parts = [self.journal._read_chunk(ids[c]).take(rows[here]) for c, here in zip(present.tolist(), places)]
            bucket = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            yield bucket.take(np.argsort(by_chunk, kind="stable")).drop(columns="_key")


def _span(keys: pd.Series) -> tuple[str, str] | None:
    """The lowest and highest key of a chunk (None when it holds no rows)."""
    return (keys.min(), keys.max()) if len(keys) else None


def _disjoint_order(spans: list[tuple[str, str] | None]) -> list[int] | None:
    """Indices of the chunks with rows in key order, when no two share a key or interleave; else None."""
    ranked = sorted((span, index) for index, span in enumerate(spans) if span is not None)
    if any(low[0][1] >= high[0][0] for low, high in zip(ranked, ranked[1:])):
        return None
    return [index for _, index in ranked]


def _key_order(keys: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """(chunk index, row in chunk) of every row, sorted by key as ``sort_values(kind="stable")`` sorts."""
    sizes = np.array([len(k) for k in keys], dtype=np.int64)
    if not sizes.sum():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    every = pd.concat([k for k in keys if len(k)], ignore_index=True)
    order = every.sort_values(kind="stable").index.to_numpy()
    del every
    chunk_of = np.repeat(np.arange(len(keys), dtype=np.int32), sizes)[order]
    row_of = (np.arange(len(order)) - np.repeat(np.cumsum(sizes) - sizes, sizes))[order].astype(np.int32)
    return chunk_of, row_of
