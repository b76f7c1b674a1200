"""An SQLite journal of a batch run, so that no finished work is ever lost.

Each chunk of results (Parquet bytes, exact values) is committed in one transaction together with the keys
of the inputs it covers, so after a crash (even SIGKILL) the journal holds
whole chunks only: a resumed run skips the keys already done and redoes the
rest, without duplicates. Failures are journaled too (key, reason). The final
catalog is exported from the journal.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

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
        frames = [
            pd.read_parquet(io.BytesIO(payload))
            for (payload,) in self._db.execute("SELECT payload FROM chunks ORDER BY chunk")
        ]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

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
