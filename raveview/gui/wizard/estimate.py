"""A run-time estimate from a short timed training on a subsample (through the public training API)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from raveview.core.progress import Progress
from raveview.ml.settings import TrainingSettings
from raveview.ml.training_data import TrainingSet


@dataclass(frozen=True)
class RunEstimate:
    """Seconds per epoch of the whole ensemble and the bound for ``max_epochs`` epochs."""

    seconds_per_epoch: float
    seconds_max: float
    members: int
    n_train: int

    def text(self) -> str:
        """One line for the settings page."""
        return (f"≈ {_human(self.seconds_per_epoch)} per epoch for {self.members} members on {self.n_train} stars; "
                f"at most {_human(self.seconds_max)} (early stopping usually ends far sooner)")


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_run_time(data: TrainingSet, settings: TrainingSettings, label_order: tuple[str, ...],
                      engine: str, variants: tuple[str, ...], sample: int = 400,
                      probe_members: int = 2) -> Iterator[Progress]:
    """Time two epochs of ``probe_members`` members on ``sample`` stars and scale to the full run.

    The second epoch is timed (the first includes graph tracing). The last
    Progress payload is a :class:`RunEstimate`.
    """
    from raveview.ml.training import train_ensemble

    rows = np.random.default_rng(0).permutation(len(data.ids))[:sample]
    cols = [data.label_order.index(k) for k in label_order]
    probe = replace(settings, members=probe_members, max_epochs=2, patience=10, test_fraction=0.2)
    phot = None if data.x_phot is None or variants == ("spectroscopy",) else data.x_phot[rows]
    ticks = []
    with tempfile.TemporaryDirectory(prefix="raveview-estimate-") as tmp:
        for p in train_ensemble(data.x_spec[rows], phot, data.y[rows][:, cols], label_order, probe, tmp,
                                engine=engine, variants=variants[:1], grid=data.grid):
            if isinstance(p.payload, dict) and "epoch" in p.payload:
                ticks.append(time.perf_counter())
                yield Progress(len(ticks), 2, "timing a few steps")
            if len(ticks) == 2:
                break
    n_probe = int(round(len(rows) * (1 - probe.test_fraction)))
    per_star_member = (ticks[1] - ticks[0]) / (n_probe * (probe_members if engine == "vectorized" else 1))
    n_train = int(round(len(data.ids) * (1 - settings.test_fraction)))
    per_epoch = per_star_member * n_train * settings.members * len(variants)
    yield Progress(1, 1, "estimated", payload=RunEstimate(per_epoch, per_epoch * settings.max_epochs,
                                                         settings.members * len(variants), n_train))
