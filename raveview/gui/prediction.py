"""Background model loading and prediction through one worker thread.

Keras models are not thread-safe, so every call into the model goes through
the single :class:`~raveview.gui.worker.JobRunner` owned here. TensorFlow and
``raveview.ml`` are imported inside the jobs, never in the GUI thread, so the
window appears before they have loaded.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import QObject, Signal, Slot

from raveview.core.progress import Progress
from raveview.core.spectrum import Spectrum
from raveview.gui.labels_panel import ModelInfo
from raveview.gui.worker import Job, JobRunner

CHUNK_SIZE = 256


def model_info(bundle) -> ModelInfo:
    """What the labels panel shows about ``bundle`` (a ``raveview.ml.bundle.ModelBundle``)."""
    manifest = getattr(bundle, "manifest", {}) or {}
    trained_on = str(getattr(bundle, "trained_on", "") or "")
    text = f"{trained_on} {manifest.get('training_data', '')} {getattr(bundle, 'name', '')}".lower()
    is_mock = bool(manifest.get("mock")) or "mock" in text
    return ModelInfo(name=str(getattr(bundle, "name", "model")), trained_on=trained_on,
                     description=str(getattr(bundle, "description", "")), is_mock=is_mock,
                     label_ranges=dict(getattr(bundle, "label_ranges", {}) or {}))


def _spectrum_key(spectrum: Spectrum) -> tuple[str, str]:
    return (str(spectrum.source_file or ""), str(spectrum.rave_obs_id or ""))


def match_rows(spectra: Sequence[Spectrum], frame: pd.DataFrame) -> np.ndarray:
    """Index into ``spectra`` of each row of a prediction chunk (rows of skipped spectra are absent)."""
    if len(frame) == len(spectra):
        return np.arange(len(spectra))
    slots: dict[tuple[str, str], deque[int]] = defaultdict(deque)
    for i, spectrum in enumerate(spectra):
        slots[_spectrum_key(spectrum)].append(i)
    files = frame["source_file"].fillna("").astype(str) if "source_file" in frame else [""] * len(frame)
    obs = frame["rave_obs_id"].fillna("").astype(str) if "rave_obs_id" in frame else [""] * len(frame)
    out = []
    for key in zip(files, obs):
        queue = slots.get(key)
        out.append(queue.popleft() if queue else -1)
    return np.asarray(out, dtype=np.int64)


def with_residuals(frame: pd.DataFrame, spectra: list[Spectrum | None], grid) -> pd.DataFrame:
    """``frame`` with a ``residual`` column: RMS of (spectrum − mock model at the predicted labels)."""
    from raveview.core.labels import LABEL_KEYS
    from raveview.gui.file_loading import model_residuals

    frame = frame.copy()
    frame["residual"] = np.nan
    ok = np.array([s is not None for s in spectra], dtype=bool) & np.isfinite(
        frame["teff"].to_numpy(dtype=float))
    if ok.any():
        values = model_residuals(frame.loc[ok, list(LABEL_KEYS)], [s for s, k in zip(spectra, ok) if k], grid)
        if values is not None:
            frame.loc[ok, "residual"] = values
    return frame


def _load_bundle(path: Path | None, holder: dict):
    yield Progress(0, None, "Loading TensorFlow…")
    from raveview.ml.bundle import ModelBundle, demo_bundle_path
    from raveview.ml.device import describe_device

    device = describe_device()
    yield Progress(1, None, f"Loading model ({device})…", payload=device)
    bundle = ModelBundle.load(path or demo_bundle_path())
    for kind in bundle.kinds:  # build and run the Keras members once, so the first prediction is fast
        ensemble = bundle.ensemble(kind)
        ensemble.models()
        try:
            phot = np.zeros((1, len(bundle.photometric_inputs) or 9)) if ensemble.with_photometry else None
            ensemble.predict(np.ones((1, bundle.grid.n)), phot)
        except Exception:  # the warm-up is an optimisation only
            pass
    try:  # the comparison overlay's model, imported here rather than in the GUI thread
        import raveview.mock.model  # noqa: F401
    except ImportError:
        pass
    holder["bundle"] = bundle
    return bundle


def _predict(holder: dict, spectra: list[Spectrum], photometry, chunk_size: int):
    bundle = holder.get("bundle")
    if bundle is None:
        from raveview.core.errors import ModelError

        raise ModelError("no model is loaded (Model ▸ Choose model…)")
    from raveview.ml.predict import iter_predict

    offset = 0
    for progress in iter_predict(bundle, spectra, photometry, chunk_size=chunk_size, total=len(spectra)):
        chunk = spectra[offset:progress.done]
        frame = progress.payload
        matched = match_rows(chunk, frame)
        frame = with_residuals(frame, [chunk[i] if i >= 0 else None for i in matched], bundle.grid)
        index = matched + offset
        offset = progress.done
        yield Progress(progress.done, progress.total, progress.message, payload=(index, frame))


class PredictionService(QObject):
    """Loads the model and predicts rows in the background, one job at a time.

    Signals
    -------
    model_loaded(object)
        The ``ModelBundle`` now active.
    device_found(str)
        Where TensorFlow computes (``"CPU (n threads)"`` / ``"GPU: …"``).
    rows_predicted(object, object)
        Row ids (numpy array) and their catalog rows (DataFrame, same order).
    progress(object)
        A :class:`Progress` of the running batch.
    failed(str)
        A one-line error message.
    batch_finished()
        The running prediction batch ended (completed, cancelled or failed).
    """

    model_loaded = Signal(object)
    device_found = Signal(str)
    rows_predicted = Signal(object, object)
    progress = Signal(object)
    failed = Signal(str)
    batch_finished = Signal()
    status = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = JobRunner("raveview-model", self)
        self._holder: dict = {}
        self.bundle = None
        self.loading = False
        self._batches: dict[int, np.ndarray] = {}
        self.current_batch: Job | None = None

    def load_model(self, path: Path | None = None) -> Job:
        """Load a bundle folder (``None``: the demo bundle) in the model thread."""
        self.loading = True
        self.status.emit("Loading model…")
        job = Job(_load_bundle, None if path is None else Path(path), self._holder, name="load model")
        job.yielded.connect(self._on_load_progress)
        job.returned.connect(self._on_loaded)
        job.errored.connect(self._on_load_error)
        return self.runner.submit(job)

    def set_bundle(self, bundle) -> None:
        """Use a ``ModelBundle`` loaded elsewhere (its Keras calls then go through this service's thread)."""
        self._holder["bundle"] = bundle
        self._on_loaded(bundle)

    def predict(self, row_ids: np.ndarray, spectra: list[Spectrum], photometry=None,
                chunk_size: int = CHUNK_SIZE) -> Job:
        """Predict ``spectra`` (rows ``row_ids`` of the store) after any job already queued."""
        job = Job(_predict, self._holder, list(spectra), photometry, chunk_size, name="predict")
        self._batches[job.id] = np.asarray(row_ids, dtype=np.int64)
        job.yielded.connect(self._on_rows)
        job.errored.connect(self._on_error)
        job.finished.connect(self._on_batch_finished)
        self.current_batch = job
        return self.runner.submit(job)

    def cancel(self) -> None:
        """Cancel every queued or running prediction."""
        self.runner.cancel_all()

    def shutdown(self) -> None:
        """Stop the model thread (at window close)."""
        self.runner.shutdown()

    @Slot(object)
    def _on_load_progress(self, progress: Progress) -> None:
        self.status.emit(progress.message)
        if isinstance(progress.payload, str):
            self.device_found.emit(progress.payload)

    @Slot(object)
    def _on_loaded(self, bundle) -> None:
        self.loading = False
        self.bundle = bundle
        self.status.emit(f"Model ready: {bundle.name}")
        self.model_loaded.emit(bundle)

    @Slot(object)
    def _on_load_error(self, exc: Exception) -> None:
        self.loading = False
        self.failed.emit(f"Cannot load the model: {exc}")

    @Slot(object)
    def _on_rows(self, progress: Progress) -> None:
        job = self.sender()
        rows = self._batches.get(getattr(job, "id", -1))
        if rows is None:
            return
        index, frame = progress.payload
        ok = index >= 0
        self.rows_predicted.emit(rows[index[ok]], frame[ok].reset_index(drop=True))
        for error in frame.attrs.get("errors", []) or []:
            self.failed.emit(str(error))
        self.progress.emit(progress)

    @Slot(object)
    def _on_error(self, exc: Exception) -> None:
        self.failed.emit(str(exc))

    @Slot()
    def _on_batch_finished(self) -> None:
        job = self.sender()
        self._batches.pop(getattr(job, "id", -1), None)
        self.batch_finished.emit()
