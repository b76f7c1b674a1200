"""Benchmark the mock survey generator: vectorised survey vs a per-star loop baseline.

Usage: python bench/simulate.py [--n 10000] [--baseline-n 200]

Prints spectra per second and total seconds for ``simulate_survey`` (labels, photometry and
matrix-layout spectra with noise) beside a baseline measured in the same run: the same
physics called one star at a time (``model_spectrum`` per star, a Python loop), extrapolated
to the same n.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from raveview.mock import model_spectrum, simulate_survey


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--baseline-n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    simulate_survey(50, seed=0, layout="matrix")  # warm caches (line windows, templates)
    t0 = time.perf_counter()
    survey = simulate_survey(args.n, seed=args.seed, exotic_fraction=0.05, layout="matrix")
    vectorised = time.perf_counter() - t0

    labels = survey.labels.head(args.baseline_n)
    t0 = time.perf_counter()
    for _, row in labels.iterrows():
        model_spectrum(row.to_frame().T.astype({c: float for c in ("TEFF", "LOGG", "M_H")}))
    per_star = (time.perf_counter() - t0) / len(labels)
    baseline = per_star * args.n

    print(f"mock survey, {args.n} spectra with photometry and labels (matrix layout, 912 px):")
    print(f"  vectorised simulate_survey : {vectorised:8.1f} s  ({args.n / vectorised:8.0f} spectra/s)")
    print(f"  per-star loop baseline     : {baseline:8.1f} s  ({1 / per_star:8.0f} spectra/s, "
          f"measured on {len(labels)} stars, noise-free spectra only)")
    print(f"  speed-up                   : {baseline / vectorised:8.1f}x")
    print(f"  flux finite: {bool(np.isfinite(survey.flux).all())}, stars: {survey.meta['n_stars']}")


if __name__ == "__main__":
    main()
