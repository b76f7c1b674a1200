"""Loading a training set from files: spectra, labels table and photometry table.

Spectra come from a matrix FITS file (:func:`raveview.core.io.read_matrix`) or
from spectrum files (a folder of RAVE DR6 files, say), resampled onto the model
grid; they are matched to the labels by ``rave_obs_id``. Labels use the mock
survey's / APOGEE names (``TEFF``, ``LOGG``, ``M_H``, ...) or the published
``training_sample_labels.csv`` names (``Teff``, ``logg``, ``MH``, ...).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from raveview.core.errors import RaveviewError, TrainingDataError
from raveview.core.grid import DEFAULT_GRID, WavelengthGrid
from raveview.core.labels import LABEL_KEYS, LABELS, PUBLISHED_LABEL_COLUMNS
from raveview.core.photometry import TRAINING_MAX_PARALLAX_ERROR, relative_parallax_error
from raveview.core.progress import Progress


_ID_NAMES = ("rave_obs_id", "obs_id", "raveid")


@dataclass
class TrainingSet:
    """Spectra, photometric inputs and labels of matched stars, row-aligned.

    Attributes
    ----------
    ids
        RAVE obs ids, (N,).
    x_spec
        Spectra on ``grid``, (N, n_pixels) float32.
    x_phot
        Photometric inputs (N, 9) or None; NaN rows where unusable.
    phot_usable
        (N,) bool, or None without photometry.
    y
        Labels (N, 9) in :data:`raveview.core.labels.LABEL_KEYS` order.
    notes
        What was dropped and why (for the CLI and the manifest).
    """

    ids: np.ndarray
    x_spec: np.ndarray
    x_phot: np.ndarray | None
    phot_usable: np.ndarray | None
    y: np.ndarray
    grid: WavelengthGrid = DEFAULT_GRID
    label_order: tuple[str, ...] = LABEL_KEYS
    notes: list[str] = field(default_factory=list)

    def subset(self, rows: np.ndarray) -> "TrainingSet":
        """The rows selected by a boolean mask or index array."""
        return TrainingSet(self.ids[rows], self.x_spec[rows], None if self.x_phot is None else self.x_phot[rows],
                           None if self.phot_usable is None else self.phot_usable[rows], self.y[rows],
                           self.grid, self.label_order, list(self.notes))


def read_labels(path: str | PathLike[str]) -> pd.DataFrame:
    """A labels table with columns ``rave_obs_id`` and the 9 label keys.

    Raises
    ------
    TrainingDataError
        Unreadable file, or no id column, or a label column missing.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, skipinitialspace=True, dtype={c: str for c in ("rave_obs_id", "RAVE_OBS_ID")})
    except (OSError, ValueError) as exc:
        raise TrainingDataError(f"cannot read the labels table ({exc})", path) from None
    lower = {c.strip().lower(): c for c in table.columns}
    id_col = next((lower[n] for n in _ID_NAMES if n in lower), None)
    if id_col is None:
        raise TrainingDataError("the labels table has no rave_obs_id column", path)
    out = pd.DataFrame({"rave_obs_id": table[id_col].astype(str).str.strip()})
    missing = []
    for label in LABELS:
        names = (label.apogee.lower(), PUBLISHED_LABEL_COLUMNS[label.key].lower(), label.key)
        col = next((lower[n] for n in names if n in lower), None)
        if col is None:
            missing.append(label.apogee)
        else:
            out[label.key] = pd.to_numeric(table[col], errors="coerce")
    if missing:
        raise TrainingDataError(f"the labels table lacks the columns {', '.join(missing)}", path)
    return out


def _spectra_rows(spectra: Path, grid: WavelengthGrid) -> Iterator[Progress]:
    """Spectra as (ids, flux on grid); the last payload is the pair."""
    from raveview.core.io import iter_spectra, read_matrix
    from raveview.core.preprocess import prepare_batch

    if spectra.is_file():
        try:
            matrix = read_matrix(spectra)
        except RaveviewError:
            matrix = None
        if matrix is not None:
            if len(matrix.wavelength) == grid.n and np.allclose(matrix.wavelength, grid.wavelength, atol=1e-6):
                flux = np.asarray(matrix.flux, dtype=np.float32)
            else:
                flux, _ = prepare_batch([matrix.spectrum(i) for i in range(len(matrix))], grid)
            yield Progress(len(matrix), len(matrix), f"read {len(matrix)} spectra", payload=(
                np.array([str(i) for i in matrix.rave_obs_id]), flux))
            return
    ids, items, errors = [], [], 0
    for path, spectrum, error in iter_spectra([spectra]):
        if error is not None or spectrum is None or not spectrum.rave_obs_id:
            errors += 1
            continue
        ids.append(spectrum.rave_obs_id)
        items.append(spectrum)
        if len(items) % 500 == 0:
            yield Progress(len(items), None, f"read {len(items)} spectra")
    if not items:
        raise TrainingDataError("no readable spectra with a RAVE obs id", spectra)
    flux, _ = prepare_batch(items, grid, min_coverage=0.9)
    yield Progress(len(items), len(items), f"read {len(items)} spectra ({errors} unreadable or without id)",
                   payload=(np.array(ids), flux))


def apply_parallax_cut(photometry: pd.DataFrame, usable: np.ndarray,
                       max_parallax_error: float | None = TRAINING_MAX_PARALLAX_ERROR) -> tuple[np.ndarray, list[str]]:
    """Mark stars whose relative parallax error is ``max_parallax_error`` or more as without usable photometry.

    Parameters
    ----------
    photometry
        Rows aligned with ``usable``, with ``parallax`` and (if known) ``parallax_error`` in mas.
    usable
        Which stars have usable photometry so far.
    max_parallax_error
        The cut (the paper's 15 %); None applies none.

    Returns
    -------
    tuple
        The new usable flags and notes for the user (how many stars the cut removed, or why it
        could not be applied: no ``parallax_error`` column).
    """
    usable = np.asarray(usable, bool).copy()
    if max_parallax_error is None:
        return usable, []
    if "parallax_error" not in photometry:
        return usable, ["no parallax_error column: the parallax-error training cut was not applied"]
    noisy = usable & (relative_parallax_error(photometry) >= max_parallax_error)
    notes = [f"{int(noisy.sum())} stars with a parallax error of {max_parallax_error:.0%} or more (training cut)"] \
        if noisy.any() else []
    return usable & ~noisy, notes


def load_training_set(spectra: str | PathLike[str], labels: str | PathLike[str],
                      photometry: str | PathLike[str] | None = None,
                      grid: WavelengthGrid = DEFAULT_GRID,
                      max_parallax_error: float | None = TRAINING_MAX_PARALLAX_ERROR,
                      ) -> Generator[Progress, None, TrainingSet]:
    """Read and match a training set; returns (and gives as the last Progress payload) a :class:`TrainingSet`.

    Parameters
    ----------
    spectra
        A matrix FITS file, or a folder / file list of spectrum files.
    labels
        The labels CSV (see :func:`read_labels`).
    photometry
        Optional photometry table; joined by ``rave_obs_id`` (or by row when it
        has no id column and as many rows as the labels table, as the published
        ``training_sample_parameters.csv``).
    grid
        The model grid.
    max_parallax_error
        Training cut on the relative parallax error (the paper's e_p < 15 %): stars at or above
        it are marked as without usable photometry. Skipped (with a note) when the table has no
        ``parallax_error`` column; None disables it.
    """
    from raveview.core.photometry import absolute_magnitudes, join_photometry, read_photometry

    table = read_labels(labels)
    notes = []
    bad = ~np.isfinite(table[list(LABEL_KEYS)].to_numpy(float)).all(axis=1)
    if bad.any():
        notes.append(f"{int(bad.sum())} stars without all 9 labels dropped")
    phot_table = None
    if photometry is not None:
        phot_table = read_photometry(photometry)
        if "rave_obs_id" not in phot_table and "source_id" not in phot_table:
            phot_table = read_photometry(photometry, ids=Path(labels))
    table = table[~bad].drop_duplicates("rave_obs_id").reset_index(drop=True)
    result = None
    for progress in _spectra_rows(Path(spectra), grid):
        if progress.payload is not None:
            result = progress.payload
        yield progress
    ids, flux = result
    position = {obs: i for i, obs in enumerate(ids)}
    rows = np.array([position.get(obs, -1) for obs in table["rave_obs_id"]])
    matched = rows >= 0
    if (~matched).any():
        notes.append(f"{int((~matched).sum())} labelled stars have no spectrum")
    if matched.sum() < len(ids):
        notes.append(f"{len(ids) - int(matched.sum())} spectra have no labels")
    if not matched.any():
        raise TrainingDataError("no spectrum matches a labelled star by rave_obs_id", spectra)
    table = table[matched].reset_index(drop=True)
    x_phot = usable = None
    if phot_table is not None:
        joined = join_photometry(table[["rave_obs_id"]], phot_table)
        inputs = absolute_magnitudes(joined)
        x_phot = inputs.values
        usable, cut_notes = apply_parallax_cut(joined, inputs.usable, max_parallax_error)
        notes += cut_notes
        if (~usable).any():
            notes.append(f"{int((~usable).sum())} stars without usable photometry")
    result = TrainingSet(table["rave_obs_id"].to_numpy(str), np.asarray(flux[rows[matched]], dtype=np.float32),
                         x_phot, usable, table[list(LABEL_KEYS)].to_numpy(float), grid, LABEL_KEYS, notes)
    yield Progress(len(table), len(table), f"{len(table)} training stars", payload=result)
    return result
