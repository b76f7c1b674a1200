"""An ensemble of CNN members: selection, member outputs, mean and spread.

An :class:`Ensemble` is one variant of a model bundle (``"photometry"``: spectra
plus 9 photometric inputs; ``"spectroscopy"``: spectra only). Its members are
Keras ``.keras`` files, loaded lazily (first prediction) with
``safe_mode=True`` after their SHA-256 has been checked against the manifest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raveview.core.errors import ModelError, ModelIntegrityError
from raveview.ml import KERAS_LOCK
from raveview.ml.architecture import Architecture
from raveview.ml.calibration import Calibration
from raveview.ml.fused import FusedEnsemble
from raveview.ml.normalisation import MinMax

#: The two ensemble variants a bundle may hold.
KINDS: tuple[str, ...] = ("photometry", "spectroscopy")
#: Most spectra per call of the fused ensemble.
FUSED_BATCH = 256
#: Members × spectra per call of TensorFlow's fused graph (each engine states its own bound as
#: ``engine.batch_member_rows``).
FUSED_MEMBER_ROWS = FusedEnsemble.batch_member_rows


def fused_batch_size(n_members: int, member_rows: int = FUSED_MEMBER_ROWS) -> int:
    """Spectra per fused call for ``n_members``: a power of two, 16 to :data:`FUSED_BATCH`,
    with at most ``member_rows`` member-spectra (unless 16 spectra already exceed it)."""
    size = FUSED_BATCH
    while size > 16 and size * n_members > member_rows:
        size //= 2
    return size


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def select_members(last_val_losses: np.ndarray, percentile: float = 80.0) -> np.ndarray:
    """The published selection: keep members whose last validation loss is below the percentile.

    Parameters
    ----------
    last_val_losses
        One loss per member; NaN (diverged) members are dropped.
    percentile
        The cut (80 in the paper: the worst 20 % are dropped).

    Returns
    -------
    numpy.ndarray
        Boolean keep mask. When the cut would keep nobody (one member, or all
        losses equal) every finite member is kept.
    """
    losses = np.asarray(last_val_losses, dtype=np.float64)
    finite = np.isfinite(losses)
    if not finite.any():
        return finite
    cut = np.percentile(losses[finite], percentile)
    keep = finite & (losses < cut)
    return keep if keep.any() else finite


@dataclass(frozen=True)
class MemberInfo:
    """One member as recorded in the manifest."""

    file: str
    seed: int | None
    last_val_loss: float | None
    kept: bool
    sha256: str
    epochs: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> "MemberInfo":
        loss = data.get("last_val_loss")
        file, sha256 = data["file"], data["sha256"]
        if not isinstance(file, str) or not isinstance(sha256, str):
            raise TypeError("member 'file' and 'sha256' must be strings")
        return cls(file, data.get("seed"), None if loss is None else float(loss),
                   bool(data.get("kept", True)), sha256, data.get("epochs"))

    def to_dict(self) -> dict:
        return {"file": self.file, "seed": self.seed, "last_val_loss": self.last_val_loss,
                "kept": self.kept, "sha256": self.sha256, "epochs": self.epochs}


class Ensemble:
    """The kept members of one variant, with their normalisations.

    Parameters
    ----------
    kind
        ``"photometry"`` or ``"spectroscopy"``.
    folder
        The bundle folder (member paths are relative to it).
    entry
        The variant's manifest entry (``manifest["ensembles"][kind]``).
    label_order
        Label keys of the network outputs.
    """

    def __init__(self, kind: str, folder: Path, entry: dict, label_order: tuple[str, ...]) -> None:
        self.kind = kind
        self.folder = Path(folder)
        self.label_order = tuple(label_order)
        try:
            self.arch = Architecture.from_dict(entry["architecture"])
            self.label_norm = MinMax.from_dict(entry["label_normalisation"])
            phot = entry.get("photometry_normalisation")
            self.phot_norm = MinMax.from_dict(phot) if phot else None
            self.members = [MemberInfo.from_dict(m) for m in entry["members"]]
            spread = entry.get("spread_p99")
            self.spread_p99 = None if spread is None else np.array([spread[k] for k in self.label_order], float)
            cal = entry.get("calibration")
            self.calibration = Calibration.from_dict(cal) if cal else None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"manifest entry of the {kind} ensemble is malformed ({exc})", folder) from None
        if self.arch.with_photometry and self.phot_norm is None:
            raise ModelError(f"the {kind} ensemble has no photometry normalisation", folder)
        if not self.kept_members:
            raise ModelError(f"the {kind} ensemble keeps no members", folder)
        self._models: list | None = None
        self._fused = None

    @property
    def kept_members(self) -> list[MemberInfo]:
        """Members that pass the selection (used for prediction)."""
        return [m for m in self.members if m.kept]

    @property
    def with_photometry(self) -> bool:
        """True when the members take photometric inputs."""
        return self.arch.with_photometry

    def models(self) -> list:
        """The kept members as Keras models (loaded and checksum-verified on first use)."""
        with KERAS_LOCK:
            if self._models is None:
                self._models = [self._load_member(m) for m in self.kept_members]
            return self._models

    def _load_member(self, member: MemberInfo):
        import keras

        path = self.folder / member.file
        if not path.is_file():
            raise ModelError(f"member file {member.file} is missing", self.folder)
        if sha256_file(path) != member.sha256:
            raise ModelIntegrityError(f"member file {member.file} does not match its checksum", self.folder)
        try:
            return keras.models.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:  # a damaged zip or config
            raise ModelError(f"member file {member.file} cannot be loaded ({type(exc).__name__}: {exc})",
                             self.folder) from None

    def _inputs(self, x_spec: np.ndarray, x_phot: np.ndarray | None) -> list[np.ndarray]:
        x_spec = np.asarray(x_spec, dtype=np.float32)
        if x_spec.ndim != 2 or x_spec.shape[1] != self.arch.n_pixels:
            raise ModelError(f"the {self.kind} ensemble expects spectra of shape (N, {self.arch.n_pixels}), "
                             f"got {x_spec.shape}")
        inputs = [x_spec[..., None]]
        if self.with_photometry:
            if x_phot is None:
                raise ModelError(f"the {self.kind} ensemble needs photometric inputs")
            phot = np.asarray(x_phot, dtype=np.float64)
            if phot.shape != (x_spec.shape[0], self.arch.n_photometry):
                raise ModelError(f"photometric inputs of shape {phot.shape}, expected "
                                 f"({x_spec.shape[0]}, {self.arch.n_photometry})")
            inputs.append(self.phot_norm.transform(phot).astype(np.float32)[..., None])
        return inputs

    def fused(self):
        """All kept members as one computation (:func:`raveview.ml.fused_cpu.make_fused`).

        On a CPU this is the compiled convolution kernel when it was built, else
        (and on a GPU) TensorFlow's fused graph. ``engine.backend`` names it.
        """
        with KERAS_LOCK:
            if self._fused is None:
                from raveview.ml.fused_cpu import make_fused

                self._fused = make_fused(self.models())
            return self._fused

    def member_outputs(self, x_spec: np.ndarray, x_phot: np.ndarray | None = None,
                       batch_size: int = 4096, fused: bool = True) -> np.ndarray:
        """Normalised outputs of every kept member.

        Parameters
        ----------
        x_spec
            Spectra on the bundle grid, (N, n_pixels) float32.
        x_phot
            Photometric inputs in physical units (absolute magnitudes, A_V), (N, 9);
            normalised here with the ensemble's limits. Ignored by spectroscopy-only ensembles.
        batch_size
            Rows per Keras call (per-member path).
        fused
            Evaluate all members in one compiled computation (the default; equal
            to the per-member Keras outputs within 1e-5) instead of one Keras
            call per member.

        Returns
        -------
        numpy.ndarray
            (M, N, L) min–max-normalised outputs, float32.
        """
        inputs = self._inputs(x_spec, x_phot if self.with_photometry else None)
        n = inputs[0].shape[0]
        if fused:
            engine = self.fused()
            with KERAS_LOCK:
                return engine.predict(inputs[0][..., 0], inputs[1][..., 0] if len(inputs) > 1 else None,
                                      batch_size=fused_batch_size(engine.n_members, engine.batch_member_rows))
        models = self.models()
        out = np.empty((len(models), n, self.arch.n_labels), dtype=np.float32)
        with KERAS_LOCK:
            for m, model in enumerate(models):
                for start in range(0, n, batch_size):
                    part = [x[start:start + batch_size] for x in inputs]
                    out[m, start:start + batch_size] = np.asarray(model.predict_on_batch(part))
        return out

    def predict(self, x_spec: np.ndarray, x_phot: np.ndarray | None = None,
                calibrated: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and spread in physical units.

        Parameters
        ----------
        x_spec, x_phot
            As for :meth:`member_outputs`.
        calibrated
            Return calibrated uncertainties instead of the raw spread (needs a calibration).

        Returns
        -------
        mean, std
            (N, L) each, in the bundle's label order; ``std`` is the standard
            deviation over kept members (the published uncertainty).
        """
        outputs = self.member_outputs(x_spec, x_phot).astype(np.float64)
        mean = self.label_norm.inverse(outputs.mean(axis=0))
        std = self.label_norm.inverse_scale(outputs.std(axis=0))
        if calibrated:
            if self.calibration is None:
                raise ModelError(f"the {self.kind} ensemble has no calibration", self.folder)
            std = self.calibration.apply(std)
        return mean, std
