"""``raveview simulate``: write a mock RAVE survey (spectra, photometry, labels)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from raveview.core.progress import Progress, run_to_end


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``simulate`` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="write a mock RAVE survey (spectra, photometry.csv, labels.csv)",
        description="Simulate a RAVE-like survey reproducibly from a seed: DR6-layout spectra "
        "(or one matrix file on the model grid), Gaia/2MASS/ALLWISE photometry and APOGEE-like labels.",
    )
    parser.add_argument("--n", type=int, required=True, help="number of spectra")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--snr", type=float, nargs=2, metavar=("MIN", "MAX"), default=(10.0, 150.0),
                        help="S/N range (default 10 150)")
    parser.add_argument("--exotic-fraction", type=float, default=0.0,
                        help="fraction of exotic stars (emission, sb2, hot, cool_m, carbon, bad_norm, cosmic)")
    parser.add_argument("--format", choices=("dr6", "matrix"), default="dr6",
                        help="dr6: one RAVE DR6 file per spectrum; matrix: one spectra.fits on the model grid")
    return parser


def _drive(gen, label: str):
    """Run a Progress generator with a one-line bar on a terminal (a line per step otherwise); return its value."""
    tty = sys.stderr.isatty()

    def draw(progress: Progress) -> None:
        if tty:
            bar = "#" * int(30 * (progress.fraction or 0.0))
            sys.stderr.write(f"\r{label:<10} [{bar:<30}] {progress.done}/{progress.total} {progress.message:<24}")
        else:
            sys.stderr.write(f"{label}: {progress.done}/{progress.total} {progress.message}\n")
        sys.stderr.flush()

    value = run_to_end(gen, draw)
    if tty:
        sys.stderr.write("\n")
    return value


def run(args: argparse.Namespace) -> int:
    """Simulate and write the survey."""
    from raveview.mock import iter_simulate_survey, iter_write_survey

    if args.n < 1:
        print("raveview: error: --n must be at least 1", file=sys.stderr)
        return 2
    lo, hi = args.snr
    if not 0 < lo <= hi:
        print("raveview: error: --snr needs 0 < MIN <= MAX", file=sys.stderr)
        return 2
    if not 0.0 <= args.exotic_fraction <= 1.0:
        print("raveview: error: --exotic-fraction must lie in [0, 1]", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    survey = _drive(iter_simulate_survey(args.n, args.seed, (lo, hi), args.exotic_fraction, args.format), "simulate")
    t1 = time.perf_counter()
    paths = _drive(iter_write_survey(survey, args.out), "write")
    t2 = time.perf_counter()
    print(f"simulated {len(survey)} spectra of {survey.meta['n_stars']} stars in {t1 - t0:.1f} s, "
          f"wrote them in {t2 - t1:.1f} s")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0
