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
