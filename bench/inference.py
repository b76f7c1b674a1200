"""Benchmark: naive per-member Keras predict vs the fused ensembles, and end-to-end files/s.

Run ``python bench/inference.py [--n 20000] [--spectra 2048]``. Prints member-spectra/s
for 20 and 80 members (random weights from ``build_model`` with different seeds) of
naive per-member Keras ``predict``, TensorFlow's fused graph and the compiled CPU
kernel (when built), then the end-to-end rate for ``--n`` mock RAVE DR6 files
written to a temporary folder (read with the pipeline's fast DR6 reader on a
thread, resampled with ``prepare_batch``, predicted by 80 fused members on the
engine ``raveview predict`` picks), its extrapolation to the 420 165 files of DR6,
and the peak resident memory.
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


def bench_members(n_spectra: int) -> dict[int, tuple[float, float, float | None]]:
    """Member-spectra/s of naive Keras, TensorFlow's fused graph and the CPU kernel (None if not built)."""
    from raveview.ml import conv_kernel
    from raveview.ml.architecture import Architecture, build_model
    from raveview.ml.ensemble import fused_batch_size
    from raveview.ml.fused import FusedEnsemble
    from raveview.ml.fused_cpu import CpuFusedEnsemble

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
        rate = []
        for engine_cls in (FusedEnsemble, CpuFusedEnsemble if conv_kernel.available() else None):
            if engine_cls is None:
                rate.append(None)
                continue
            engine = engine_cls.from_models(members)
            batch = fused_batch_size(m, engine.batch_member_rows)
            rate.append(_rate(lambda: engine.predict(x_spec, x_phot, batch_size=batch), m * n_spectra))
        rates[m] = (naive, *rate)
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


def bench_end_to_end(n_files: int, chunk: int = 2048) -> tuple[float, float, str]:
    """Files/s through the batch pipeline's own steps: fast DR6 reading and resampling on a thread, fused prediction.

    Returns the rate, the seconds spent writing the files and the engine's name.
    """
    from concurrent.futures import ThreadPoolExecutor

    from raveview.ml.architecture import Architecture, build_model
    from raveview.ml.ensemble import fused_batch_size
    from raveview.ml.fused_cpu import make_fused
    from raveview.pipeline.batch import read_and_resample

    arch = Architecture()
    fused = make_fused([build_model(arch, seed=s) for s in range(80)])
    batch_size = fused_batch_size(fused.n_members, fused.batch_member_rows)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = [str(p) for p in write_mock_files(Path(tmp), n_files)]
        write_s = time.perf_counter() - t0
        rng = np.random.default_rng(2)
        chunks = [paths[lo:lo + chunk] for lo in range(0, len(paths), chunk)]
        start = time.perf_counter()
        with ThreadPoolExecutor(1) as pool:  # read the next chunk while this one is predicted
            ahead = pool.submit(read_and_resample, chunks[0], 0.5, None)
            for i in range(len(chunks)):
                spectra, _keys, _failures, resampled = ahead.result()
                if i + 1 < len(chunks):
                    ahead = pool.submit(read_and_resample, chunks[i + 1], 0.5, None)
                phot = rng.uniform(0, 1, (len(spectra), arch.n_photometry)).astype(np.float32)
                out = fused.predict(resampled.flux, phot, batch_size=batch_size)
                _mean, _std = out.mean(0), out.std(0)
        elapsed = time.perf_counter() - start
    return n_files / elapsed, write_s, fused.backend


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="mock DR6 files for the end-to-end run")
    parser.add_argument("--spectra", type=int, default=2048, help="spectra per member-rate measurement")
    args = parser.parse_args(argv)
    import tensorflow as tf

    print(f"CPU threads: {os.cpu_count()}, TensorFlow {tf.__version__}")
    rates = bench_members(args.spectra)
    print("member-spectra/s (speed-up over naive):")
    print(f"{'members':>8} {'naive Keras':>12} {'fused TensorFlow':>22} {'fused CPU kernel':>22}")
    for m, (naive, tf_rate, kernel) in rates.items():
        kernel_text = "not built" if kernel is None else f"{kernel:,.0f} ({kernel / naive:.2f}x)"
        print(f"{m:>8} {naive:>12,.0f} {f'{tf_rate:,.0f} ({tf_rate / naive:.2f}x)':>22} {kernel_text:>22}")
    naive80, tf80, kernel80 = rates[80]
    files_s, write_s, backend = bench_end_to_end(args.n)
    print(f"end-to-end, 80 members on {backend}, {args.n} mock DR6 files (written in {write_s:.0f} s): "
          f"{files_s:,.0f} files/s")
    best80 = kernel80 or tf80
    print(f"DR6 ({DR6_FILES:,} files) extrapolated: end-to-end {DR6_FILES / files_s / 60:.1f} min; "
          f"network alone: {DR6_FILES * 80 / best80 / 60:.1f} min fused, "
          f"{DR6_FILES * 80 / naive80 / 60:.1f} min naive")
    print(f"peak RSS of this benchmark (all 80 naive Keras members included): {_peak_rss_mib():,.0f} MiB"
          " — for a `raveview predict` run alone, use /usr/bin/time -v")
    return 0


if __name__ == "__main__":
    sys.exit(main())
