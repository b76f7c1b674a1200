"""``raveview train``: train a CNN ensemble into a model bundle (resumable).

Spectra from a matrix FITS file or a folder of spectrum files are matched to
the labels table by ``rave_obs_id``; photometry is joined the same way.
Re-running the same command continues an interrupted training. With
``--workers N`` or ``--scheduler ADDRESS`` the members are trained in groups on
the workers of a Dask cluster, as ``raveview predict`` distributes its chunks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from raveview.core.errors import TrainingDataError
from raveview.core.photometry import TRAINING_MAX_PARALLAX_ERROR


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train", help="train a CNN ensemble into a model bundle",
                              description="Train a CNN ensemble (Guiglion et al. 2020 recipe) into a model bundle.")
    p.add_argument("--spectra", type=Path, required=True, help="matrix FITS file or folder of spectrum files")
    p.add_argument("--labels", type=Path, required=True, help="labels CSV (rave_obs_id, TEFF, LOGG, M_H, ...)")
    p.add_argument("--photometry", type=Path, help="photometry table (Gaia, 2MASS, ALLWISE, parallax, av50)")
    p.add_argument("--out", type=Path, required=True, help="bundle folder to write (or resume)")
    variant = p.add_mutually_exclusive_group()
    variant.add_argument("--no-photometry", action="store_true", help="train the spectroscopy-only ensemble")
    variant.add_argument("--both", action="store_true", help="train with-photometry and spectroscopy-only ensembles")
    p.add_argument("--max-parallax-error", type=float, default=TRAINING_MAX_PARALLAX_ERROR, metavar="FRACTION",
                   help="drop stars whose relative parallax error is at least this from the photometry "
                        "training set (the paper's cut; default: %(default)s; 0 or less: no cut)")
    p.add_argument("--members", type=int, default=100, help="ensemble members (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="split and first member seed (default: %(default)s)")
    p.add_argument("--patience", type=int, default=40, help="early-stopping patience (default: %(default)s)")
    p.add_argument("--max-epochs", type=int, default=1000, help="most epochs per member (default: %(default)s)")
    p.add_argument("--test-fraction", type=float, default=0.06, help="test split (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=16, help="batch size (default: %(default)s)")
    p.add_argument("--engine", choices=("keras", "vectorized"), default="vectorized",
                   help="all members at once, or per-member Keras fit (default: %(default)s)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="train groups of members on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="train groups of members on the workers of a Dask cluster (tcp://host:port)")
    p.add_argument("--name", help="bundle name (default: the folder name)")
    p.add_argument("--description", default="", help="free text for the manifest")
    p.add_argument("--trained-on", default="", help="what the data are (default: derived from the inputs)")
    return p


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from raveview.cli.ml_progress import progress_bar, training_bars
    from raveview.ml.settings import TrainingSettings
    from raveview.ml.training import train_ensemble
    from raveview.ml.training_data import load_training_set

    variants = ["spectroscopy"] if args.no_photometry else ["photometry", "spectroscopy"] if args.both else ["photometry"]
    if "photometry" in variants and args.photometry is None:
        raise TrainingDataError("--photometry is needed (or give --no-photometry)")
    cut = args.max_parallax_error if args.max_parallax_error > 0 else None
    data = progress_bar(load_training_set(args.spectra, args.labels, args.photometry if "photometry" in variants
                                          else None, max_parallax_error=cut), "reading the training set")
    for note in data.notes:
        print(f"raveview: {note}", file=sys.stderr)
    if "photometry" in variants and not data.phot_usable.all():
        data = data.subset(np.asarray(data.phot_usable))
        print(f"raveview: training on the {len(data.ids)} stars with usable photometry", file=sys.stderr)
    settings = TrainingSettings(members=args.members, max_epochs=args.max_epochs, patience=args.patience,
                                batch_size=args.batch_size, test_fraction=args.test_fraction, seed=args.seed,
                                with_photometry="photometry" in variants)
    mock = "mock" in str(args.spectra).lower() or "mock" in str(args.labels).lower()
    trained_on = args.trained_on or (f"{'MOCK data (not real stars): ' if mock else ''}{args.spectra.name} "
                                     f"with labels {args.labels.name}")
    info = {"spectra": args.spectra.name, "labels": args.labels.name,
            "photometry": args.photometry.name if args.photometry else None}
    steps = train_ensemble(data.x_spec, data.x_phot, data.y, data.label_order, settings, args.out,
                           engine=args.engine, description=args.description, trained_on=trained_on,
                           name=args.name, variants=variants, grid=data.grid, training_data=info,
                           scheduler=args.scheduler, workers=args.workers)
    training_bars(steps)
    from raveview.ml.bundle import ModelBundle

    bundle = ModelBundle.load(args.out)
    for kind in bundle.kinds:
        entry = bundle.manifest["ensembles"][kind]
        kept = sum(m["kept"] for m in entry["members"])
        scatter = entry["test_metrics"]["scatter"]
        print(f"{kind}: {kept}/{len(entry['members'])} members kept; test scatter "
              + ", ".join(f"{k} {v:.3g}" for k, v in scatter.items()))
    print(f"wrote {args.out} (id {bundle.id})")
    return 0
