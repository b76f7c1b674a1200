"""The SQLite run journal: atomic chunks, resume keys, failures, exact values."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from raveview.core.errors import CatalogError
from raveview.pipeline.journal import Journal


def _chunk(start, n):
    return pd.DataFrame(
        {
            "rave_obs_id": [f"obs{i}" for i in range(start, start + n)],
            "sourceid": np.arange(start, start + n, dtype=np.int64) + 6_000_000_000_000_000_000,
            "teff": np.linspace(4000.123456789, 6000.987654321, n),
        }
    )


def test_chunks_round_trip_exactly(tmp_path):
    path = tmp_path / "run.journal.sqlite"
    with Journal(path) as journal:
        a, b = _chunk(0, 5), _chunk(5, 3)
        journal.record_chunk(a, a.rave_obs_id)
        journal.record_chunk(b, b.rave_obs_id, failures={"bad.fits": "bad.fits: file is empty"})
    with Journal(path) as journal:  # reopened, as --resume does
        out = journal.results()
        assert list(out["_key"]) == [f"obs{i}" for i in range(8)]
        np.testing.assert_array_equal(out["teff"].to_numpy(), np.concatenate([a.teff, b.teff]))
        assert out["sourceid"].iloc[7] == 6_000_000_000_000_000_007  # 19 digits exact
        assert journal.done_keys() == {f"obs{i}" for i in range(8)} | {"bad.fits"}
        assert journal.failures() == [("bad.fits", "bad.fits: file is empty")]
        assert journal.n_done() == 8


def test_key_count_must_match_rows(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal, pytest.raises(ValueError):
        journal.record_chunk(_chunk(0, 3), ["a", "b"])


def test_sigkill_mid_write_leaves_whole_chunks(tmp_path):
    """A process killed while journaling leaves only complete chunks behind."""
    path = tmp_path / "killed.sqlite"
    script = textwrap.dedent(
        f"""
        import os, signal, numpy as np, pandas as pd
        from raveview.pipeline.journal import Journal
        j = Journal({str(path)!r})
        for c in range(1000):
            df = pd.DataFrame({{"x": np.arange(c * 10, c * 10 + 10, dtype=float)}})
            j.record_chunk(df, [f"k{{i}}" for i in df.x.astype(int)])
            if c == 7:
                os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script])
    assert proc.returncode != 0
    with Journal(path) as journal:
        out = journal.results()
        assert len(out) == 80 and len(journal.done_keys()) == 80
        assert out["x"].tolist() == list(range(80))


def test_not_a_database_is_a_one_line_error(tmp_path):
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError) as info:
        Journal(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def _keyed(keys, seed):
    """Catalog-like rows for ``keys`` (one multi-spectrum file gives several rows of one key)."""
    rng = np.random.default_rng(seed)
    n = len(keys)
    ids = pd.array(6_000_000_000_000_000_000 + rng.integers(0, 10**9, n), dtype="Int64")
    ids[::3] = pd.NA
    return pd.DataFrame(
        {
            "rave_obs_id": [f"{k}-{seed}-{i}" for i, k in enumerate(keys)],
            "sourceid": ids,
            "teff": np.where(np.arange(n) % 4 == 1, np.nan, rng.uniform(3500, 7000, n)).astype(np.float32),
            "source_file": list(keys),
        }
    )


def _fill(journal, chunks):
    for seed, keys in enumerate(chunks):
        if keys:
            journal.record_chunk(_keyed(keys, seed), keys)
        else:  # files without usable spectra: an input finished, no rows
            journal.record_chunk(pd.DataFrame(), [], inputs=[f"empty{seed}.fits"])


# interleaved ranges (as after a resume) and one input key with two rows; one chunk holds no rows
CHUNKS = [["f05", "f01", "f09"], ["f02", "f07", "f07"], [], ["f00", "f08", "f03", "f04"], ["f06", "f10"]]


def test_iter_results_and_row_count(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        assert journal.n_rows() == 0 and list(journal.iter_results()) == [] and journal.results().empty
        _fill(journal, CHUNKS)
        frames = list(journal.iter_results())
        assert [len(f) for f in frames] == [len(c) for c in CHUNKS]
        pd.testing.assert_frame_equal(journal.results(), pd.concat(frames, ignore_index=True))
        assert list(journal.results()["_key"]) == [k for c in CHUNKS for k in c]
        assert str(frames[0]["sourceid"].dtype) == "Int64" and frames[0]["teff"].dtype == np.float32
        assert journal.n_rows() == 12


def test_row_count_of_a_journal_from_before_the_count_table(tmp_path):
    path = tmp_path / "old.sqlite"
    with Journal(path) as journal:
        _fill(journal, CHUNKS)
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE chunk_rows")
    with Journal(path) as journal:  # reopened: the table is back, empty; the footers count
        assert journal.n_rows() == 12
        journal.record_chunk(_keyed(["f11"], 9), ["f11"])
        assert journal.n_rows() == 13


# disjoint key ranges journaled out of order (Dask), one chunk unsorted inside, a key twice in one chunk
DISJOINT = [["f04", "f03"], ["f00", "f02", "f01"], [], ["f07", "f07", "f09"], ["f05"]]
# the same key in two chunks (rows without a key of their own; ranges that touch)
SHARED = [["", "f01", "f02"], ["f03", ""], ["f00"]]
TOUCHING = [["f02", "f03"], ["f01", "f02"]]


@pytest.mark.parametrize(
    ("chunks", "block_rows", "bucket_rows"),
    [(CHUNKS, 2048, 65_536), (CHUNKS, 5, 65_536), (CHUNKS, 2, 3), (CHUNKS, 4, 5), (CHUNKS, 1, 1),
     (DISJOINT, 2048, 65_536), (DISJOINT, 2, 1), (SHARED, 2, 65_536), (TOUCHING, 3, 65_536)],
)
def test_catalog_chunks_are_the_key_sorted_results(tmp_path, chunks, block_rows, bucket_rows):
    with Journal(tmp_path / "j.sqlite") as journal:
        _fill(journal, chunks)
        expected = (journal.results().sort_values("_key", kind="stable").drop(columns="_key")
                    .reset_index(drop=True))
        view = journal.catalog_chunks(block_rows=block_rows, bucket_rows=bucket_rows)
        blocks = list(view)
        assert all(0 < len(b) <= block_rows for b in blocks)
        got = pd.concat(blocks, ignore_index=True)
        pd.testing.assert_frame_equal(got, expected)
        assert list(got["source_file"]) == sorted(k for c in chunks for k in c)
        twice = [r for r in got["rave_obs_id"] if r.startswith(("f07-", "-", "f02-"))]
        assert twice == sorted(twice)  # equal keys keep their journal order
        pd.testing.assert_frame_equal(pd.concat(list(view), ignore_index=True), got)  # iterable again
    with Journal(tmp_path / "empty.sqlite") as journal:
        assert list(journal.catalog_chunks()) == []
