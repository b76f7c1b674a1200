"""File ▸ Parameterize folder: the CLI's batch pipeline, streamed into the window (Qt-free).

:func:`stream_batch` wraps :func:`raveview.pipeline.batch.run_batch` (the code
path of ``raveview predict``): after each journaled chunk it reads the rows the
chunk added to the run journal, so the window can fill its list while the run
goes on. Closing the generator (Cancel) stops the run between chunks; the
journal keeps what was done and ``resume=True`` carries on from there.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from raveview.core.progress import Progress


@dataclass(frozen=True)
class FolderChunk:
    """What a folder run added since the previous report.

    Attributes
    ----------
    rows
        New result rows (catalog columns), possibly empty.
    failures
        New ``(input, reason)`` pairs of inputs that could not be parameterized.
    summary
        The run's :class:`~raveview.pipeline.batch.BatchSummary` on the last report, else ``None``.
    """

    rows: pd.DataFrame
    failures: list[tuple[str, str]] = field(default_factory=list)
    summary: object = None


class JournalTail:
    """Reads the chunks and failures a running batch adds to its SQLite journal (read-only)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.last_chunk = -1
        self.seen_failures: set[str] = set()

    def read_new(self) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
        """Rows of the chunks committed since the last call, and new failures."""
        if not self.path.is_file():
            return pd.DataFrame(), []
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30.0)
        try:
            chunks = db.execute("SELECT chunk, payload FROM chunks WHERE chunk > ? ORDER BY chunk",
                                (self.last_chunk,)).fetchall()
            failed = db.execute("SELECT key, reason FROM inputs WHERE status = 'failed'").fetchall()
        finally:
            db.close()
        frames = [pd.read_parquet(io.BytesIO(payload)) for _chunk, payload in chunks]
        if chunks:
            self.last_chunk = int(chunks[-1][0])
        new_failures = [(k, r or "") for k, r in failed if k not in self.seen_failures]
        self.seen_failures.update(k for k, _ in new_failures)
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return rows.drop(columns=["_key"], errors="ignore"), new_failures


def stream_batch(config) -> Iterator[Progress]:
    """Run ``config`` (a :class:`~raveview.pipeline.batch.BatchConfig`); payloads are :class:`FolderChunk`.

    Each yield is a cancellation point: closing the generator ends the run
    between chunks with the journal intact.
    """
    from raveview.pipeline.batch import BatchSummary, journal_path, run_batch

    tail = JournalTail(journal_path(Path(config.out)))
    with contextlib.closing(run_batch(config)) as batch:
        for progress in batch:
            rows, failures = tail.read_new()
            summary = progress.payload if isinstance(progress.payload, BatchSummary) else None
            yield Progress(progress.done, progress.total, progress.message,
                           payload=FolderChunk(rows, failures, summary))
