"""Benchmark: peak memory and time of the catalog export, in-memory vs streamed, from a real journal.

Run ``python bench/export_memory.py [--n 420165] [--chunk 2048] [--formats fits parquet] [--shuffled]``.
Fills an SQLite run journal in a temporary folder with ``--n`` synthetic result
rows (the real catalog schema: 19-digit Gaia ids with gaps, NaN labels, file
paths, flags; chunks of ``--chunk`` rows, as ``raveview predict`` commits them),
then exports it, each export in a fresh child process so that its peak RSS
(``ru_maxrss``) is its own:

* ``in-memory``: the export before streaming, ``write_catalog`` of the whole
  ``journal.results()`` sorted by input key;
* ``streamed``: ``write_catalog_chunks(journal.catalog_chunks(), ...)``, what
  ``raveview predict`` does now.

Prints wall time, peak RSS and its rise over the child's RSS after imports for
each format and path side by side, and checks that both paths wrote the same
catalog (FITS byte for byte, Parquet the same table).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DR6_ROWS = 420_165
SUFFIX = {"fits": ".fits", "parquet": ".parquet", "csv": ".csv"}
PROVENANCE = {
    "software": "raveview bench", "date": "2024-05-01T12:00:00Z", "model_id": "bench-model",
    "model_sha256": "9f" * 32, "inputs": "RAVE DR6 spectra",
}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def synthetic_chunk(index: np.ndarray, rng: np.random.Generator):
    """Catalog rows for the spectrum numbers ``index`` and their keys (the spectrum paths)."""
    import pandas as pd

    from raveview.core.catalog import enforce_schema
    from raveview.core.labels import LABEL_KEYS

    n = len(index)
    obs = [f"2{i % 10:03d}0403_1042m{i % 89:02d}_{i % 150:03d}" for i in index]
    paths = [f"/data/rave/dr6/{i // 5000:03d}/RAVE_{i:07d}_{o}.fits" for i, o in zip(index, obs)]
    ids = pd.array(4_000_000_000_000_000_000 + index * 7_919, dtype="Int64")
    ids[rng.random(n) < 0.02] = pd.NA
    columns = {"rave_obs_id": obs, "sourceid": ids}
    for key in LABEL_KEYS:
        value = rng.normal(0.0, 1.0, n).astype(np.float32)
        value[rng.random(n) < 0.01] = np.nan
        columns.update({key: value, f"e{key}": rng.uniform(0.01, 0.3, n).astype(np.float32),
                        f"flag_{key}": (rng.random(n) < 0.05).astype(np.int16)})
    spectroscopy = rng.random(n) < 0.1
    columns.update(
        snr=rng.uniform(5, 150, n).astype(np.float32), source_file=paths, model_id="guiglion2020-v1",
        ensemble=np.where(spectroscopy, "spectroscopy", "photometry"), photometry_used=~spectroscopy,
        phot_flags=np.where(spectroscopy, "missing_band:W2", ""), masked_fraction=rng.uniform(0, 0.05, n),
        disagreement=rng.random(n) < 0.03,
        quality_flags=np.where(rng.random(n) < 0.1, "low_snr,teff_boundary", ""),
    )
    return enforce_schema(pd.DataFrame(columns)), paths


def fill_journal(path: Path, n_rows: int, chunk: int, shuffled: bool = False) -> float:
    """Journal ``n_rows`` synthetic rows in chunks of ``chunk``; returns the seconds it took.

    By default the chunks are runs of sorted paths, as ``raveview predict``
    makes them from folders; ``shuffled`` spreads every chunk over the whole
    key range (a path list in random order), the worst case for sorting.
    """
    from raveview.pipeline.journal import Journal

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    numbers = rng.permutation(n_rows) if shuffled else np.arange(n_rows)
    with Journal(path) as journal:
        for lo in range(0, n_rows, chunk):
            frame, keys = synthetic_chunk(numbers[lo:lo + chunk], rng)
            journal.record_chunk(frame, keys)
    return time.perf_counter() - start


def child(mode: str, journal_path: str, out: str) -> None:
    """Export the journal one way and print a JSON line with the figures."""
    from raveview.core.catalog import enforce_schema, write_catalog
    from raveview.core.catalog_stream import write_catalog_chunks
    from raveview.pipeline.journal import Journal

    import astropy.io.fits  # noqa: F401  (loaded before the baseline: both paths need them)
    import astropy.table  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    base = _rss_mib()
    start = time.perf_counter()
    with Journal(journal_path) as journal:
        if mode == "in-memory":  # raveview 0.x's export
            frame = journal.results()
            frame = frame.sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)
            write_catalog(enforce_schema(frame), out, provenance=PROVENANCE)
        else:
            write_catalog_chunks(journal.catalog_chunks(), out, n_rows=journal.n_rows(), provenance=PROVENANCE)
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_mib": _rss_mib(), "base_mib": base}))


def _run_child(mode: str, journal: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, str(journal), str(out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{mode} export failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(fmt: str, a: Path, b: Path) -> bool:
    from raveview.ml.ensemble import sha256_file

    if fmt != "parquet":
        return sha256_file(a) == sha256_file(b)
    import pyarrow.parquet as pq

    return pq.read_table(a).equals(pq.read_table(b), check_metadata=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=DR6_ROWS, help="result rows in the journal")
    parser.add_argument("--chunk", type=int, default=2048, help="rows per journaled chunk")
    parser.add_argument("--formats", nargs="+", default=["fits", "parquet"], choices=sorted(SUFFIX))
    parser.add_argument("--shuffled", action="store_true", help="chunks spread over all keys (worst case)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "JOURNAL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    ok = True
    with tempfile.TemporaryDirectory(prefix="raveview-export-bench-") as tmp:
        journal = Path(tmp) / "run.journal.sqlite"
        fill_s = fill_journal(journal, args.n, args.chunk, args.shuffled)
        print(f"journal: {args.n:,} rows in {'shuffled' if args.shuffled else 'sorted'} chunks of {args.chunk} "
              f"({journal.stat().st_size / 2**20:,.0f} MiB, filled in {fill_s:.0f} s); CPU threads: {os.cpu_count()}")
        print(f"{'format':<8} {'path':<10} {'wall s':>7} {'peak RSS MiB':>13} {'rise MiB':>9} {'file MiB':>9}")
        for fmt in args.formats:
            outs = {}
            for mode in ("in-memory", "streamed"):
                out = Path(tmp) / f"{mode}{SUFFIX[fmt]}"
                got = _run_child(mode, journal, out)
                outs[mode] = out
                print(f"{fmt:<8} {mode:<10} {got['seconds']:>7.1f} {got['peak_mib']:>13,.0f} "
                      f"{got['peak_mib'] - got['base_mib']:>9,.0f} {out.stat().st_size / 2**20:>9,.1f}")
            same = _same(fmt, outs["in-memory"], outs["streamed"])
            ok &= same
            print(f"{fmt:<8} same catalog from both paths: {'yes' if same else 'NO'}")
            for out in outs.values():
                out.unlink()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
