"""``raveview model``: import the published ensemble, show a bundle.

``raveview model import-keras2 DIR --limits LIMITS.json [--labels-csv LABELS.csv]
[--published-output DIR] --out BUNDLE`` converts the published Keras 2 HDF5
members of Guiglion et al. (2020) into a raveview bundle.
``raveview model show BUNDLE`` prints the manifest summary and checks the
member checksums.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("model", help="import or inspect model bundles",
                                   description="Import or inspect model bundles.")
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    imp = sub.add_parser("import-keras2", help="convert the published Keras 2 .h5 members into a bundle")
    imp.add_argument("models_dir", type=Path, metavar="DIR", help="folder with the .h5 members")
    imp.add_argument("--limits", type=Path, required=True, help="normalisation-limits JSON")
    imp.add_argument("--labels-csv", type=Path, help="training labels table (checks the label ranges)")
    imp.add_argument("--published-output", type=Path, metavar="DIR",
                     help="folder with the published res_*/y_test CSVs: fit a calibration and spread percentiles")
    imp.add_argument("--name", default="guiglion2020", help="bundle name (default: %(default)s)")
    imp.add_argument("--out", type=Path, required=True, help="the bundle folder to write")
    show = sub.add_parser("show", help="print a bundle's manifest summary and verify its checksums")
    show.add_argument("bundle", type=Path, metavar="BUNDLE")
    return parser


def run(args: argparse.Namespace) -> int:
    from raveview.ml.bundle import ModelBundle

    if args.model_command == "show":
        bundle = ModelBundle.load(args.bundle, verify=False)
        for line in bundle.summary():
            print(line)
        print(f"checksums:   OK ({bundle.verify()} member files)")
        return 0
    from raveview.cli.ml_progress import progress_bar
    from raveview.ml.published import import_published

    steps = import_published(args.models_dir, args.limits, args.out, labels_csv=args.labels_csv,
                             published_output=args.published_output, name=args.name)
    progress_bar(steps, "converting members")
    bundle = ModelBundle.load(args.out)
    print(f"wrote {args.out} (id {bundle.id}, {len(bundle.ensemble('photometry').members)} members)")
    return 0
