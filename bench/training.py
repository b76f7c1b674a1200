"""Benchmark: seconds per epoch per member, plain Keras fit vs the vectorised engine.

Run ``python bench/training.py [--sizes 1 10 50 100] [--epochs 4]``. Uses random
spectra and labels of the published shapes (3669 training, 235 validation
spectra) and projects the wall time of a 100-member fit of 120 epochs. The
vectorised engine is timed on both of its engines (``--engines``): numpy on the
compiled CPU kernel (when built; the CPU default) and TensorFlow's compiled step
with grouped convolutions (the GPU engine).

With ``--stops-from BUNDLE`` it also reads the epochs at which the members of a
trained bundle stopped early, and prints how many member-epochs the vectorised
engine computes for them with and without dropping stopped members from the
computation (:data:`raveview.ml.vectorized.COMPACT_BELOW`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

N_TRAIN, N_VAL, EPOCHS_TYPICAL, MEMBERS = 3669, 235, 120, 100


def _data(arch, n, seed):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.3, 1.1, (n, arch.n_pixels)).astype(np.float32),
            rng.uniform(0, 1, (n, arch.n_photometry)).astype(np.float32),
            rng.uniform(0, 1, (n, arch.n_labels)).astype(np.float32))


def plain_keras(arch, train, val, members: int, epochs: int) -> float:
    """Median seconds per epoch per member of ``model.fit`` (first epoch, which traces, excluded)."""
    import keras

    from raveview.ml.architecture import build_model

    times = []  # median epoch time per member: robust to a stray slow epoch
    for seed in range(members):
        model = build_model(arch, seed=seed)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        stamps = []
        cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: stamps.append(time.perf_counter()))
        start = time.perf_counter()
        model.fit([train[0][..., None], train[1][..., None]], train[2], batch_size=16, epochs=epochs + 1,
                  validation_data=([val[0][..., None], val[1][..., None]], val[2]), verbose=0, callbacks=[cb])
        times.append(float(np.median(np.diff(stamps))) if len(stamps) > 1 else stamps[0] - start)
    return float(np.mean(times))


def vectorized(arch, train, val, members: int, epochs: int, engine: str) -> float:
    """Median seconds per epoch per member of :func:`train_members` (first epoch excluded)."""
    from raveview.ml.settings import TrainingSettings
    from raveview.ml.vectorized import train_members

    settings = TrainingSettings(max_epochs=epochs + 1)
    stamps = []
    for _ in train_members(*train, *val, list(range(members)), arch, settings, conv_engine=engine):
        stamps.append(time.perf_counter())
    return float(np.median(np.diff(stamps[: epochs + 1]))) / members


def engine_member_epochs(stops: list[int], compact_below: float) -> int:
    """Member-epochs computed for members stopping after ``stops`` epochs (the engine's rule)."""
    size, total = len(stops), 0
    for epoch in range(max(stops)):
        running = sum(s > epoch for s in stops)
        if running <= compact_below * size:
            size = running
        total += size
    return total


def early_stopping_report(bundle: str) -> None:
    """Print member-epochs with and without compaction for the stop epochs recorded in ``bundle``."""
    import json
    from pathlib import Path

    from raveview.ml.vectorized import COMPACT_BELOW

    manifest = json.loads((Path(bundle) / "manifest.json").read_text())
    print(f"\nearly stopping in {bundle} (member-epochs the vectorised engine computes):")
    print(f"{'ensemble':>14} {'members':>8} {'epochs min-max':>15} {'uncompacted':>12} {'compacted':>10} {'saved':>6}")
    for kind, entry in manifest["ensembles"].items():
        stops = [int(m["epochs"]) for m in entry["members"]]
        whole = engine_member_epochs(stops, 0.0)
        compact = engine_member_epochs(stops, COMPACT_BELOW)
        print(f"{kind:>14} {len(stops):>8} {min(stops):>7}-{max(stops):<7} {whole:>12} {compact:>10} "
              f"{1 - compact / whole:>6.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50, 100], help="members trained at once")
    parser.add_argument("--epochs", type=int, default=4, help="timed epochs per measurement (median taken)")
    parser.add_argument("--keras-members", type=int, default=1, help="members for the plain Keras baseline")
    parser.add_argument("--stops-from", metavar="BUNDLE", help="also report early stopping of a trained bundle")
    parser.add_argument("--engines", nargs="+", default=["cpu-kernel", "tensorflow"],
                        choices=["cpu-kernel", "tensorflow"], help="engines of the vectorised runs")
    args = parser.parse_args(argv)
    from raveview.ml import conv_kernel
    from raveview.ml.architecture import Architecture

    engines = [e for e in args.engines if e != "cpu-kernel" or conv_kernel.available()]
    if len(engines) < len(args.engines):
        print("the compiled CPU kernel is not built: timing TensorFlow's engine only")

    arch = Architecture()
    train, val = _data(arch, N_TRAIN, 0), _data(arch, N_VAL, 1)
    print(f"CPU threads: {os.cpu_count()} (shared with other work: figures vary with load)")
    base = plain_keras(arch, train, val, args.keras_members, args.epochs)
    print(f"{'engine':>30} {'s/epoch/member':>15} {'100 members x 120 epochs':>26}")
    print(f"{'plain Keras fit':>30} {base:>15.3f} {base * MEMBERS * EPOCHS_TYPICAL / 60:>22.1f} min")
    for k in args.sizes:
        for engine in engines:
            per = vectorized(arch, train, val, k, args.epochs, engine)
            name = f"vectorised K={k}, {engine}"
            print(f"{name:>30} {per:>15.3f} {per * MEMBERS * EPOCHS_TYPICAL / 60:>22.1f} min  ({base / per:.2f}x)")
    if args.stops_from:
        early_stopping_report(args.stops_from)
    return 0


if __name__ == "__main__":
    sys.exit(main())
