"""Where the wizard's training set comes from: files, the RAVE × APOGEE builder, or the mock survey.

Each source is a generator yielding :class:`~raveview.core.progress.Progress`
whose last payload is a :class:`WizardData`; the data page runs it in a worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from raveview.core.errors import TrainingDataError
from raveview.core.progress import Progress
from raveview.ml.training_data import TRAINING_MAX_PARALLAX_ERROR, TrainingSet, apply_parallax_cut


@dataclass
class WizardData:
    """A training set plus what the wizard shows about it.

    Attributes
    ----------
    data
        The matched spectra, photometry and labels.
    source_ids
        (N,) star identifiers (repeats share one), or None.
    trained_on
        Text for the manifest (says MOCK for mock data).
    info
        Description of the inputs for the manifest.
    cuts
        ``(cut, removed, remaining)`` rows of the training-set builder, if used.
    """

    data: TrainingSet
    source_ids: np.ndarray | None
    trained_on: str
    info: dict = field(default_factory=dict)
    cuts: list[tuple[str, int, int]] = field(default_factory=list)


def _source_ids(labels: Path, ids: np.ndarray) -> np.ndarray | None:
    """The ``source_id`` column of a labels table, aligned to ``ids`` by rave_obs_id."""
    table = pd.read_csv(labels, dtype=str, skipinitialspace=True)
    lower = {c.strip().lower(): c for c in table.columns}
    sid = next((lower[n] for n in ("source_id", "sourceid", "gaia_source_id") if n in lower), None)
    oid = next((lower[n] for n in ("rave_obs_id", "obs_id") if n in lower), None)
    if sid is None or oid is None:
        return None
    lookup = dict(zip(table[oid].str.strip(), table[sid].str.strip()))
    return np.array([lookup.get(str(i)) for i in ids], dtype=object)


def check_files(spectra: str, labels: str, photometry: str, need_photometry: bool) -> list[str]:
    """Problems with the chosen files, as one-line messages (empty when all is fine)."""
    problems = []
    for name, value, needed in (("spectra", spectra, True), ("labels table", labels, True),
                                ("photometry table", photometry, need_photometry)):
        if not value:
            if needed:
                problems.append(f"choose the {name}")
        elif not Path(value).exists():
            problems.append(f"the {name} {value} does not exist")
    return problems


def from_files(spectra: str | Path, labels: str | Path, photometry: str | Path | None,
               max_parallax_error: float | None = TRAINING_MAX_PARALLAX_ERROR) -> Iterator[Progress]:
    """Spectra + labels table + photometry table through :func:`~raveview.ml.training_data.load_training_set`.

    ``max_parallax_error`` is the training cut on the relative parallax error (None: no cut).
    """
    from raveview.ml.training_data import load_training_set

    result = None
    for p in load_training_set(spectra, labels, photometry, max_parallax_error=max_parallax_error):
        if isinstance(p.payload, TrainingSet):
            result = p.payload
        yield Progress(p.done, p.total, p.message)
    mock = "mock" in str(spectra).lower() or "mock" in str(labels).lower()
    trained_on = f"{'MOCK data (not real stars): ' if mock else ''}{Path(spectra).name} with labels {Path(labels).name}"
    info = {"spectra": Path(spectra).name, "labels": Path(labels).name,
            "photometry": Path(photometry).name if photometry else None}
    yield Progress(1, 1, f"{len(result.ids)} training stars",
                   payload=WizardData(result, _source_ids(Path(labels), result.ids), trained_on, info))


def from_survey(spectra_dir: str | Path, rave_catalog: str | Path, apogee: str | Path, photometry: str | Path,
                out_dir: str | Path, max_parallax_error: float | None = TRAINING_MAX_PARALLAX_ERROR,
                ) -> Iterator[Progress]:
    """RAVE DR6 × APOGEE DR16 with the paper's cuts (writes the set to ``out_dir``), then loaded."""
    from raveview.pipeline.training_set import build_training_set

    result = yield from build_training_set(spectra_dir, rave_catalog, apogee, photometry, out_dir)
    data = None
    for p in from_files(spectra_dir, result.out_dir / "labels.csv", result.out_dir / "photometry.csv",
                        max_parallax_error):
        data = p.payload if isinstance(p.payload, WizardData) else data
        yield Progress(p.done, p.total, p.message)
    data.cuts = list(result.cuts)
    data.trained_on = f"RAVE DR6 x APOGEE DR16 ({result.n_stars} stars, paper's cuts)"
    yield Progress(1, 1, f"{len(data.data.ids)} training stars", payload=data)


def from_mock(n: int, seed: int, snr_range: tuple[float, float],
              max_parallax_error: float | None = TRAINING_MAX_PARALLAX_ERROR) -> Iterator[Progress]:
    """A mock survey of ``n`` observations on the model grid (repeats share ``source_id``).

    Stars whose relative parallax error is ``max_parallax_error`` or more get no usable photometry.
    """
    from raveview.core.labels import LABEL_KEYS, LABELS
    from raveview.core.photometry import absolute_magnitudes, join_photometry
    from raveview.mock import iter_simulate_survey

    if n < 20:
        raise TrainingDataError(f"a mock training set needs at least 20 stars, not {n}")
    if not 0 < snr_range[0] <= snr_range[1]:
        raise TrainingDataError(f"the S/N range {snr_range} is empty")
    survey = yield from iter_simulate_survey(n, seed, snr_range=snr_range, layout="matrix")
    labels = survey.labels
    joined = join_photometry(labels[["rave_obs_id"]], survey.photometry)
    inputs = absolute_magnitudes(joined)
    usable, notes = apply_parallax_cut(joined, inputs.usable, max_parallax_error)
    data = TrainingSet(labels["rave_obs_id"].to_numpy(str), np.asarray(survey.flux, np.float32), inputs.values,
                       usable, labels[[lab.apogee for lab in LABELS]].to_numpy(float),
                       survey.grid, LABEL_KEYS, notes)
    trained_on = f"MOCK data (not real stars): raveview mock survey, {n} observations, seed {seed}"
    info = {"mock": {"n": n, "seed": seed, "snr_range": list(snr_range)}}
    yield Progress(n, n, f"{n} mock observations",
                   payload=WizardData(data, labels["source_id"].astype(str).to_numpy(object), trained_on, info))
