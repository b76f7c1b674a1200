"""Soak test of the batch pipeline: many RAVE DR6 files with some bad ones, peak RSS over time.

Usage: python bench/soak.py [--n 50000] [--bad-fraction 0.05] [--workdir DIR] [--keep]

Writes ``--n`` spectrum files (20 distinct mock-like spectra written with
``write_rave_dr6``, copied byte for byte under new names; ``--bad-fraction`` of
them empty, truncated or garbage), runs ``raveview predict`` with the demo
bundle in a child process, samples the child's resident memory (psutil, or
``/proc/PID/status``) every ``--interval`` seconds, and checks that:

* every good file has a row in the catalog (``source_file``);
* every bad file is in the error log;
* RSS stays flat: the median of the last quarter of samples is within
  ``--rss-tolerance`` of the median of the second quarter (after warm-up).

Prints the figures and exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CAT_LINES = (8498.02, 8542.09, 8662.14)


def _templates(folder: Path, n: int = 20) -> list[bytes]:
    from raveview.core.io import write_rave_dr6

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        start, step, npix = 8410.0 + rng.uniform(0, 2), 0.35, 1100
        wave = start + step * np.arange(npix)
        flux = np.ones(npix)
        for centre, depth in zip(CAT_LINES, rng.uniform(0.3, 0.7, 3)):
            flux -= depth * np.exp(-0.5 * ((wave - centre) / rng.uniform(0.8, 1.6)) ** 2)
        flux += rng.normal(0, 0.01, npix)
        path = write_rave_dr6(folder / f"t{i}.fits", flux, np.full(npix, 0.02), start, step, f"SOAK{i:03d}",
                              {"SNR": 50.0})
        out.append(path.read_bytes())
        path.unlink()
    return out


def write_corpus(folder: Path, n: int, bad_fraction: float) -> tuple[list[Path], list[Path]]:
    """``n`` files under ``folder`` (1000 per sub-folder); returns (good, bad)."""
    folder.mkdir(parents=True, exist_ok=True)
    templates = _templates(folder)
    rng = np.random.default_rng(1)
    bad_mask = rng.random(n) < bad_fraction
    good, bad = [], []
    for i in range(n):
        sub = folder / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"s{i:06d}.fits"
        data = templates[i % len(templates)]
        if bad_mask[i]:
            kind = i % 3
            data = b"" if kind == 0 else data[: len(data) // 3] if kind == 1 else bytes(rng.integers(0, 256, 5000, dtype=np.uint8))
            bad.append(path)
        else:
            good.append(path)
        path.write_bytes(data)
    return good, bad


def _rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its children."""
    try:
        import psutil

        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except Exception:
        return 0
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--bad-fraction", type=float, default=0.05)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--chunk-size", type=int, default=2048)
    parser.add_argument("--rss-tolerance", type=float, default=0.15)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="raveview-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    good, bad = write_corpus(work / "spectra", args.n, args.bad_fraction)
    print(f"wrote {args.n} files ({len(bad)} bad) in {time.perf_counter() - t0:.1f} s under {work}")

    out = work / "soak.parquet"
    cmd = [sys.executable, "-m", "raveview", "predict", str(work / "spectra"), "--out", str(out),
           "--chunk-size", str(args.chunk_size)]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int]] = []
    while child.poll() is None:
        samples.append((time.perf_counter() - t0, _rss(child.pid)))
        time.sleep(args.interval)
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - t0
    print(f"raveview predict: exit {child.returncode} in {seconds:.1f} s ({args.n / seconds:.0f} files/s)")
    print(stdout.strip().splitlines()[-1] if stdout.strip() else stderr[-2000:])

    from raveview.core.catalog import read_catalog
    from raveview.pipeline.batch import error_log_path

    frame, provenance = read_catalog(out)
    rows = {Path(p).resolve() for p in frame["source_file"]}
    missing_good = [p for p in good if p.resolve() not in rows]
    logged = {Path(line.split("\t", 1)[0]).resolve()
              for line in error_log_path(out).read_text(encoding="utf-8").splitlines() if line}
    missing_bad = [p for p in bad if p.resolve() not in logged]
    print(f"catalog rows: {len(frame)}; good files missing from it: {len(missing_good)}; "
          f"bad files missing from the error log: {len(missing_bad)}; model {provenance.get('model_id', '?')}")

    rss = np.array([r for _, r in samples if r > 0], dtype=float) / 2**20
    flat = True
    if rss.size >= 8:
        q = rss.size // 4
        early, late = np.median(rss[q:2 * q]), np.median(rss[3 * q:])
        growth = late / early - 1
        flat = growth <= args.rss_tolerance
        marks = [rss[int(f * (rss.size - 1))] for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
        print(f"RSS MiB at 10/25/50/75/100 % of the run: {' / '.join(f'{m:.0f}' for m in marks)}; "
              f"peak {rss.max():.0f}; late vs early median {growth:+.1%} ({'flat' if flat else 'GROWING'})")
    else:
        print(f"too few RSS samples ({rss.size}) to judge growth; peak {rss.max() if rss.size else 0:.0f} MiB")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    ok = not missing_good and not missing_bad and flat
    print("soak: OK" if ok else "soak: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
