"""Prediction: spectra (+ photometry) → catalog rows with the Table 1 columns.

For each star the photometry ensemble is used when the bundle has one and the
star's photometry is usable (all bands, A_V, parallax > 0); otherwise the
spectroscopy-only ensemble, and the row says so (``ensemble``,
``photometry_used``, ``phot_flags``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
import pandas as pd

from raveview.core.catalog_schema import ALL_COLUMNS
from raveview.core.errors import ModelError, RaveviewError
from raveview.core.labels import LABEL_KEYS, PHOTOMETRIC_INPUTS
from raveview.core.progress import Progress
from raveview.core.spectrum import Spectrum
from raveview.ml.bundle import ModelBundle

#: Fraction of filled (masked, off-coverage) model pixels above which a row is flagged.
MASKED_WARNING = 0.2

PhotometryLike = "pd.DataFrame | np.ndarray | PhotometryInputs | None"


@dataclass
class _Phot:
    values: np.ndarray  # (n, 9)
    usable: np.ndarray  # (n,)
    flags: list[str]


def _photometry_for(chunk: list, photometry, offset: int) -> _Phot:
    """Photometric inputs of one chunk of spectra, from a table (joined by id) or aligned rows."""
    n = len(chunk)
    if photometry is None:
        return _Phot(np.full((n, len(PHOTOMETRIC_INPUTS)), np.nan), np.zeros(n, bool), ["no_photometry"] * n)
    from raveview.core.photometry import PhotometryIndex

    if isinstance(photometry, pd.DataFrame | PhotometryIndex):
        from raveview.core.photometry import absolute_magnitudes, join_photometry

        ids = pd.DataFrame({"rave_obs_id": [getattr(s, "rave_obs_id", None) for s in chunk],
                            "source_id": [getattr(s, "source_id", None) for s in chunk]})
        joined = join_photometry(ids, photometry)
        inputs = absolute_magnitudes(joined)
        matched = joined["phot_match"].to_numpy() != ""
        flags = [f if m else "not_in_photometry" for f, m in zip(inputs.flags, matched)]
        return _Phot(inputs.values, inputs.usable & matched, flags)
    if hasattr(photometry, "values") and hasattr(photometry, "usable"):  # PhotometryInputs, row-aligned
        sl = slice(offset, offset + n)
        return _Phot(np.asarray(photometry.values)[sl], np.asarray(photometry.usable)[sl], list(photometry.flags[sl]))
    values = np.asarray(photometry, dtype=np.float64)[offset:offset + n]
    usable = np.isfinite(values).all(axis=1)
    return _Phot(values, usable, ["" if u else "missing_input" for u in usable])


@dataclass
class Resampled:
    """One chunk of spectra on the model grid, ready for the network.

    Attributes
    ----------
    keep
        Indices (into the chunk) of the spectra that could be resampled.
    flux
        ``(len(keep), n_grid)`` float32 network input.
    filled
        ``(len(keep),)`` fraction of grid pixels filled (masked or not covered).
    snr
        ``(len(keep),)`` S/N of each kept spectrum (its own, else DER_SNR; NaN for bare rows).
    errors
        One-line errors of the spectra left out.
    """

    keep: list[int]
    flux: np.ndarray
    filled: np.ndarray
    snr: np.ndarray
    errors: list[str]


def resample_chunk(chunk: Sequence[Spectrum | np.ndarray], grid, min_coverage: float = 0.5) -> Resampled:
    """Spectra of one chunk on ``grid``; spectra that fail are left out with their error.

    Pure numpy, no model needed: the batch pipeline runs it on its reader thread,
    overlapped with the network evaluating the previous chunk.
    """
    chunk = list(chunk)
    if all(isinstance(s, np.ndarray) for s in chunk):
        flux = np.asarray(chunk, dtype=np.float32).reshape(len(chunk), grid.n)
        bad = ~np.isfinite(flux)
        flux[bad] = 1.0
        return Resampled(list(range(len(chunk))), flux, bad.mean(axis=1), np.full(len(chunk), np.nan), [])
    from raveview.core.preprocess import prepare_batch

    try:
        flux, filled = prepare_batch(chunk, grid, min_coverage=min_coverage)
        keep, errors = list(range(len(chunk))), []
    except RaveviewError:
        keep, rows, fills, errors = [], [], [], []
        for i, spectrum in enumerate(chunk):
            try:
                one, one_filled = prepare_batch([spectrum], grid, min_coverage=min_coverage)
            except RaveviewError as exc:
                errors.append(str(exc))
                continue
            keep.append(i)
            rows.append(one[0])
            fills.append(one_filled[0])
        flux = np.array(rows, dtype=np.float32).reshape(len(rows), grid.n)
        filled = np.array(fills, dtype=np.float64)
    snr = np.array([_snr(chunk[i]) if isinstance(chunk[i], Spectrum) else np.nan for i in keep], dtype=np.float64)
    return Resampled(keep, flux, filled, snr, errors)


def _records(bundle: ModelBundle, chunk: list, resampled: Resampled, phot: _Phot, calibrated: bool) -> list[dict]:
    keep, flux, filled = resampled.keep, resampled.flux, resampled.filled
    n = len(keep)
    order = bundle.label_order
    lo, hi = bundle.range_arrays()
    mean = np.full((n, len(order)), np.nan)
    std = np.full((n, len(order)), np.nan)
    used = np.zeros(n, dtype="<U12")
    disagree = np.zeros((n, len(order)), dtype=bool)
    usable = phot.usable[keep] if n else np.zeros(0, bool)
    groups = {"photometry": usable & bundle.has_photometry, "spectroscopy": ~usable & bundle.has_spectroscopy}
    if not bundle.has_photometry:
        groups["spectroscopy"] = np.ones(n, dtype=bool)
    for kind, rows in groups.items():
        if not rows.any():
            continue
        ensemble = bundle.ensemble(kind)
        x_phot = phot.values[keep][rows] if ensemble.with_photometry else None
        m, s = ensemble.predict(flux[rows], x_phot)
        if ensemble.spread_p99 is not None:
            disagree[rows] = s > ensemble.spread_p99
        if calibrated:
            if ensemble.calibration is None:
                raise ModelError(f"the {kind} ensemble has no calibration; predict without calibrated errors",
                                 bundle.path)
            s = ensemble.calibration.apply(s)
        mean[rows], std[rows], used[rows] = m, s, kind
    records = []
    for r, i in enumerate(keep):
        spectrum = chunk[i]
        is_spec = isinstance(spectrum, Spectrum)
        rec: dict = {
            "rave_obs_id": spectrum.rave_obs_id if is_spec else None,
            "sourceid": spectrum.source_id if is_spec else None,
            "snr": float(resampled.snr[r]),
            "source_file": str(spectrum.source_file) if is_spec and spectrum.source_file else "",
            "model_id": bundle.id,
            "ensemble": str(used[r]),
            "photometry_used": bool(used[r] == "photometry"),
            "phot_flags": phot.flags[i] if bundle.has_photometry else "",
            "masked_fraction": float(filled[r]),
            "disagreement": bool(disagree[r].any()),
        }
        notes = []
        for key in LABEL_KEYS:
            rec[key], rec[f"e{key}"], rec[f"flag_{key}"] = np.nan, np.nan, 0
        for j, key in enumerate(order):
            value = mean[r, j]
            rec[key], rec[f"e{key}"] = float(value), float(std[r, j])
            rec[f"flag_{key}"] = int(bool(np.isfinite(value) and (value < lo[j] or value > hi[j])))
        if disagree[r].any():
            notes.append("member_disagreement:" + "+".join(k for k, d in zip(order, disagree[r]) if d))
        if filled[r] > MASKED_WARNING:
            notes.append(f"masked>{MASKED_WARNING:.0%}")
        if not used[r]:
            notes.append("no_usable_photometry_and_no_spectroscopy_ensemble")
        rec["quality_flags"] = ",".join(notes)
        records.append(rec)
    return records


def _snr(spectrum: Spectrum) -> float:
    from raveview.core.preprocess import spectrum_snr

    return spectrum_snr(spectrum)


def _to_frame(records: list[dict]) -> pd.DataFrame:
    try:
        from raveview.core.catalog import catalog_from_records
    except ImportError:  # the catalog module is optional for prediction
        frame = pd.DataFrame.from_records(records, columns=list(ALL_COLUMNS))
        frame["sourceid"] = frame["sourceid"].astype("Int64")
        return frame
    return catalog_from_records(records)


def iter_predict(bundle: ModelBundle, spectra: Iterable[Spectrum | np.ndarray], photometry=None,
                 chunk_size: int = 1024, calibrated: bool = False, min_coverage: float = 0.5,
                 total: int | None = None) -> Iterator[Progress]:
    """Predict chunk by chunk; each Progress payload is the DataFrame of one chunk.

    Parameters
    ----------
    bundle
        The model bundle.
    spectra
        Spectrum objects (resampled onto the bundle grid here), or rows already on the grid.
    photometry
        None; a photometry table (DataFrame, joined to the spectra by ``rave_obs_id``,
        else Gaia ``source_id``); or row-aligned inputs: a ``PhotometryInputs`` or an
        (N, 9) array of absolute magnitudes and A_V (NaN rows: no photometry).
    chunk_size
        Spectra per chunk (one Keras call per member and chunk).
    calibrated
        Report calibrated uncertainties (the bundle must hold a calibration).
    min_coverage
        Spectra covering less of the model grid are skipped (their errors are in
        the chunk DataFrame's ``attrs["errors"]``).
    total
        Number of spectra, when known (for the progress fraction).

    Yields
    ------
    Progress
        ``done`` counts spectra processed; ``payload`` is the chunk's catalog rows.
    """
    if photometry is None and not bundle.has_spectroscopy:
        raise ModelError("this model needs photometry (it has no spectroscopy-only ensemble)", bundle.path)
    if total is None and isinstance(spectra, Sequence | np.ndarray):
        total = len(spectra)
    iterator, done = iter(spectra), 0
    while chunk := list(islice(iterator, chunk_size)):
        frame = predict_resampled(bundle, chunk, resample_chunk(chunk, bundle.grid, min_coverage),
                                  photometry, calibrated, offset=done)
        done += len(chunk)
        yield Progress(done, total, f"predicted {done} spectra", payload=frame)


def predict_resampled(bundle: ModelBundle, chunk: Sequence[Spectrum | np.ndarray], resampled: Resampled,
                      photometry=None, calibrated: bool = False, offset: int = 0) -> pd.DataFrame:
    """Catalog rows of one chunk already resampled by :func:`resample_chunk`.

    Parameters
    ----------
    bundle, photometry, calibrated
        As for :func:`iter_predict`.
    chunk
        The chunk's spectra (for their ids, file names and photometry join).
    resampled
        ``resample_chunk(chunk, bundle.grid, ...)``.
    offset
        Index of the chunk's first spectrum in row-aligned ``photometry``.

    Returns
    -------
    pandas.DataFrame
        One row per kept spectrum; the errors of the others in ``attrs["errors"]``.
    """
    chunk = list(chunk)
    phot = _photometry_for(chunk, photometry, offset)
    frame = _to_frame(_records(bundle, chunk, resampled, phot, calibrated))
    frame.attrs["errors"] = list(resampled.errors)
    return frame


def predict_spectra(bundle: ModelBundle, spectra: Iterable[Spectrum | np.ndarray], photometry=None,
                    calibrated: bool = False, chunk_size: int = 1024) -> pd.DataFrame:
    """All catalog rows at once (see :func:`iter_predict`); skipped spectra's errors are in ``attrs["errors"]``."""
    frames, errors = [], []
    for progress in iter_predict(bundle, spectra, photometry, chunk_size, calibrated):
        frames.append(progress.payload)
        errors.extend(progress.payload.attrs.get("errors", []))
    frame = pd.concat(frames, ignore_index=True) if frames else _to_frame([])
    frame.attrs["errors"] = errors
    return frame
