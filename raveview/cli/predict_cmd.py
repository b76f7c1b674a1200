"""``raveview predict INPUTS... --out CATALOG [--model BUNDLE] [--photometry CAT] ...``.

Survey-scale batch parameterization (see :mod:`raveview.pipeline.batch`):
inputs are files, folders (recursive), globs, multi-spectrum files or text
files listing paths; results are journaled in SQLite next to the output as
each chunk completes (``--resume`` continues an interrupted run); the catalog
(Table 1 columns plus raveview's) is written atomically with a per-file error
log beside it. ``--workers N`` runs on a local Dask cluster, ``--scheduler
ADDRESS`` on an existing one. Without ``--model`` the bundled demo model is
used; stars without usable photometry go to the spectroscopy-only ensemble,
flagged. The exit code is 1 when any input failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

#: Failed inputs echoed on stderr (all of them are in the error log).
MAX_ERRORS_SHOWN = 20
FORMATS = ("fits", "csv", "ecsv", "votable", "parquet")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "predict", help="parameterize spectra into a catalog (batch, resumable, Dask)",
        description="Predict the nine labels of many spectra into a catalog.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="spectrum files, folders (recursive), globs, multi-spectrum files or path lists")
    p.add_argument("--model", type=Path, metavar="BUNDLE", help="model bundle (default: the bundled demo model)")
    p.add_argument("--photometry", type=Path, metavar="CAT", help="photometry table joined by rave_obs_id/source_id")
    p.add_argument("--out", type=Path, required=True, metavar="CATALOG", help="catalog file to write")
    p.add_argument("--format", choices=FORMATS, help="catalog format (default: from the file suffix)")
    p.add_argument("--resume", action="store_true", help="continue the run journaled next to --out")
    p.add_argument("--workers", type=int, metavar="N", help="run on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (tcp://host:port)")
    p.add_argument("--device", choices=("cpu", "gpu"), help="force the CPU, or require a GPU")
    p.add_argument("--chunk-size", type=int, default=2048, metavar="K", help="files per chunk (default 2048)")
    p.add_argument("--calibrated", action="store_true", help="report calibrated uncertainties")
    return p


def _select_device(device: str | None) -> None:
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # inherited by Dask worker processes too
    elif device == "gpu":
        from raveview.core.errors import RaveviewError
        from raveview.ml.device import describe_device

        if not describe_device().startswith("GPU"):
            raise RaveviewError("--device gpu was asked for but TensorFlow sees no GPU")


def _draw(steps, tty: bool):
    """Rich bar with rate and ETA on a terminal; a plain line every few seconds otherwise."""
    last_payload = None
    if tty:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        columns = (TextColumn("predicting"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        with Progress(*columns) as bar:
            task, first = None, None
            for step in steps:
                if task is None:
                    task, first = bar.add_task("predict", total=step.total, completed=step.done, rate=""), (step.done, time.perf_counter())
                rate = (step.done - first[0]) / max(time.perf_counter() - first[1], 1e-9)
                bar.update(task, completed=step.done, total=step.total, rate=f"{rate:,.0f} files/s")
                last_payload = step.payload if step.payload is not None else last_payload
        return last_payload
    start, last_print, first_done = time.perf_counter(), 0.0, None
    for step in steps:
        now = time.perf_counter()
        first_done = step.done if first_done is None else first_done
        if step.payload is not None:
            last_payload = step.payload
        if now - last_print >= 5.0 or step.payload is not None:
            rate = (step.done - first_done) / max(now - start, 1e-9)
            eta = f"{(step.total - step.done) / rate:,.0f} s" if rate > 0 and step.total else "–"
            print(f"predict: {step.done}/{step.total} files, {rate:,.0f} files/s, ETA {eta} — {step.message}",
                  file=sys.stderr, flush=True)
            last_print = now
    return last_payload


def run(args: argparse.Namespace) -> int:
    from raveview.core.errors import ModelError
    from raveview.ml.bundle import demo_bundle_path
    from raveview.pipeline.batch import BatchConfig, run_batch

    _select_device(args.device)
    if args.model is None and not (demo_bundle_path() / "manifest.json").is_file():
        raise ModelError("this raveview has no bundled demo model; give --model BUNDLE")
    config = BatchConfig(
        inputs=tuple(args.inputs), out=args.out, model=args.model, photometry=args.photometry,
        format=args.format, resume=args.resume, chunk_size=args.chunk_size, workers=args.workers,
        scheduler=args.scheduler, calibrated=args.calibrated,
    )
    try:
        summary = _draw(run_batch(config), sys.stderr.isatty())
    except KeyboardInterrupt:
        print(f"raveview: interrupted; finished chunks are kept: run again with --resume to continue",
              file=sys.stderr)
        return 130
    if summary.n_failed:
        with open(summary.error_log, encoding="utf-8") as log:
            for i, line in enumerate(log):
                if i == MAX_ERRORS_SHOWN:
                    print(f"raveview: ... {summary.n_failed - MAX_ERRORS_SHOWN} more in {summary.error_log}",
                          file=sys.stderr)
                    break
                print(f"raveview: error: {line.split(chr(9), 1)[-1].rstrip()}", file=sys.stderr)
    print(f"wrote {summary.n_rows} stars to {summary.out} in {summary.seconds:.1f} s"
          + (f"; {summary.n_failed} inputs failed, listed in {summary.error_log}" if summary.n_failed else ""))
    return 1 if summary.n_failed else 0
