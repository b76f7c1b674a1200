"""``raveview training-set build``: a RAVE DR6 × APOGEE DR16 training set from survey files.

``raveview training-set build --spectra DIR --rave CAT --apogee ALLSTAR
--photometry PHOT --out DIR`` cross-matches the catalogs by Gaia DR2 source id,
applies the cuts of Sect. 2 of Guiglion et al. (2020) and writes
``labels.csv``, ``photometry.csv``, ``spectra.txt`` and ``cuts.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "training-set", help="build a training set from survey files",
        description="Build a training set from RAVE DR6 spectra and catalogs, APOGEE DR16 labels and photometry.",
    )
    sub = parser.add_subparsers(dest="training_set_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="cross-match RAVE DR6 with APOGEE DR16 and apply the paper's cuts")
    build.add_argument("--spectra", type=Path, required=True, metavar="DIR", help="folder of RAVE DR6 spectrum files")
    build.add_argument("--rave", type=Path, required=True, metavar="CAT",
                       help="RAVE DR6 catalog (rave_obs_id, source_id, snr_med_sparv, class)")
    build.add_argument("--apogee", type=Path, required=True, metavar="ALLSTAR", help="APOGEE DR16 allStar table")
    build.add_argument("--photometry", type=Path, required=True, metavar="PHOT",
                       help="photometry table (Gaia, 2MASS, ALLWISE, parallax, parallax_error, A_V)")
    build.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    build.add_argument("--min-apogee-snr", type=float, default=60.0, help="APOGEE SNR >= this (default: %(default)s)")
    build.add_argument("--min-rave-snr", type=float, default=30.0, help="RAVE S/N > this (default: %(default)s)")
    build.add_argument("--max-parallax-error", type=float, default=0.15,
                       help="relative parallax error < this (default: %(default)s)")
    build.add_argument("--class-column", help="RAVE classification column (default: first of rave_class, "
                       "class_flag_bdasp, flag1_class, class_flag, flag1)")
    return parser


def run(args: argparse.Namespace) -> int:
    from raveview.cli.ml_progress import progress_bar
    from raveview.pipeline.training_set import Cuts, build_training_set

    cuts = Cuts(min_apogee_snr=args.min_apogee_snr, min_rave_snr=args.min_rave_snr,
                max_parallax_error=args.max_parallax_error, class_column=args.class_column)
    steps = build_training_set(args.spectra, args.rave, args.apogee, args.photometry, args.out, cuts)
    result = progress_bar(steps, "building the training set")
    width = max(len(name) for name, _, _ in result.cuts)
    print(f"{'cut':<{width}}  {'removed':>8}  {'remaining':>9}")
    for name, removed, remaining in result.cuts:
        print(f"{name:<{width}}  {removed:>8}  {remaining:>9}")
    print(f"wrote {result.n_stars} stars to {result.out_dir} (labels.csv, photometry.csv, spectra.txt, cuts.csv)")
    return 0
