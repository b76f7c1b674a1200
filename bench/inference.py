"""Benchmark: naive per-member Keras predict vs the fused ensemble, and end-to-end files/s.

Run ``python bench/inference.py [--n 20000] [--spectra 2048]``. Prints member-spectra/s
for 20 and 80 members (random weights from ``build_model`` with different seeds),
then the end-to-end rate for ``--n`` mock RAVE DR6 files written to a temporary
folder (read with the pipeline's fast DR6 reader on a thread, resampled with
``prepare_batch``, predicted by 80 fused members), its extrapolation to the 420 165 files of DR6, and the
peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

DR6_FILES = 420_165


def _rate(fn, work: int, min_seconds: float = 3.0) -> float:
    fn()  # warm up (tracing, oneDNN primitive creation)
    start, runs = time.perf_counter(), 0
    while time.perf_counter() - start < min_seconds:
        fn()
        runs += 1
    return work * runs / (time.perf_counter() - start)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_members(n_spectra: int, batch_size: int) -> dict[int, tuple[float, float]]:
    from raveview.ml.architecture import Architecture, build_model
    from raveview.ml.fused import FusedEnsemble

    arch = Architecture()
    rng = np.random.default_rng(0)
    x_spec = rng.uniform(0.3, 1.1, (n_spectra, arch.n_pixels)).astype(np.float32)
    x_phot = rng.uniform(0, 1, (n_spectra, arch.n_photometry)).astype(np.float32)
    models = [build_model(arch, seed=s) for s in range(80)]
    rates = {}
    for m in (20, 80):
        members = models[:m]
        naive = _rate(lambda: [mod.predict([x_spec[..., None], x_phot[..., None]], batch_size=256, verbose=0)
                               for mod in members], m * n_spectra, min_seconds=2.0)
        fused = FusedEnsemble.from_models(members)
        fast = _rate(lambda: fused.predict(x_spec, x_phot, batch_size=batch_size), m * n_spectra)
        rates[m] = (naive, fast)
    return rates


def write_mock_files(folder: Path, n: int, distinct: int = 2000) -> list[Path]:
    """RAVE DR6 files with Ca-triplet-like absorption on varying native grids.

    ``distinct`` files are written with astropy; the rest are hard links to them
    (reading costs the same, writing 20 000 files with astropy would take minutes).
    """
    from raveview.core.io import write_rave_dr6

    rng = np.random.default_rng(1)
    paths = []
    for i in range(min(n, distinct)):
        start = 8409.0 + rng.uniform(0, 2.0)
        npix = 1000 + int(rng.integers(0, 30))
        wave = start + 0.4 * np.arange(npix)
        flux = 1.0 - sum(0.5 * np.exp(-0.5 * ((wave - c) / 1.2) ** 2) for c in (8498.0, 8542.1, 8662.1))
        flux = (flux + rng.normal(0, 0.02, npix)).astype(np.float32)
        paths.append(write_rave_dr6(folder / f"mock_{i:06d}.fits", flux, np.full(npix, 0.02, np.float32),
                                    start, 0.4, f"MOCK_{i:06d}", {"SNR": 50.0}))
    for i in range(len(paths), n):
        link = folder / f"mock_{i:06d}.fits"
        os.link(paths[i % distinct], link)
        paths.append(link)
    return paths


def bench_end_to_end(n_files: int, batch_size: int, chunk: int = 2048) -> tuple[float, float]:
    """Files/s through the batch pipeline's own steps: fast DR6 reading on a thread, resampling, fused prediction."""
    from concurrent.futures import ThreadPoolExecutor

    from raveview.core.preprocess import prepare_batch
    from raveview.ml.architecture import Architecture, build_model
    from raveview.ml.fused import FusedEnsemble
    from raveview.pipeline.batch import read_chunk

    arch = Architecture()
    fused = FusedEnsemble.from_models([build_model(arch, seed=s) for s in range(80)])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = [str(p) for p in write_mock_files(Path(tmp), n_files)]
        write_s = time.perf_counter() - t0
        rng = np.random.default_rng(2)
        chunks = [paths[lo:lo + chunk] for lo in range(0, len(paths), chunk)]
        start = time.perf_counter()
        with ThreadPoolExecutor(1) as pool:  # read the next chunk while this one is predicted
            ahead = pool.submit(read_chunk, chunks[0], 0.5)
            for i in range(len(chunks)):
                spectra, _keys, _failures = ahead.result()
                if i + 1 < len(chunks):
                    ahead = pool.submit(read_chunk, chunks[i + 1], 0.5)
                flux, _ = prepare_batch(spectra)
                phot = rng.uniform(0, 1, (len(spectra), arch.n_photometry)).astype(np.float32)
                out = fused.predict(flux, phot, batch_size=batch_size)
                _mean, _std = out.mean(0), out.std(0)
        elapsed = time.perf_counter() - start
    return n_files / elapsed, write_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="mock DR6 files for the end-to-end run")
    parser.add_argument("--spectra", type=int, default=2048, help="spectra per member-rate measurement")
    parser.add_argument("--batch-size", type=int, default=256, help="fused batch size")
    args = parser.parse_args(argv)
    import tensorflow as tf

    print(f"CPU threads: {os.cpu_count()}, TensorFlow {tf.__version__}")
    rates = bench_members(args.spectra, args.batch_size)
    print(f"{'members':>8} {'naive member-spectra/s':>24} {'fused member-spectra/s':>24} {'speed-up':>9}")
    for m, (naive, fast) in rates.items():
        print(f"{m:>8} {naive:>24,.0f} {fast:>24,.0f} {fast / naive:>8.2f}x")
    naive80 = rates[80][0]
    files_s, write_s = bench_end_to_end(args.n, args.batch_size)
    print(f"end-to-end, 80 members, {args.n} mock DR6 files (written in {write_s:.0f} s): {files_s:,.0f} files/s")
    print(f"DR6 ({DR6_FILES:,} files) extrapolated: fused {DR6_FILES / files_s / 60:.1f} min; "
          f"network alone: fused {DR6_FILES * 80 / rates[80][1] / 60:.1f} min, "
          f"naive {DR6_FILES * 80 / naive80 / 60:.1f} min")
    print(f"peak RSS of this benchmark (all 80 naive Keras members included): {_peak_rss_mib():,.0f} MiB"
          " — for a `raveview predict` run alone, use /usr/bin/time -v")
    return 0


if __name__ == "__main__":
    sys.exit(main())
