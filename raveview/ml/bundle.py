"""Model bundles: a folder with ``manifest.json`` and one ``.keras`` file per member.

Layout::

    BUNDLE/
        manifest.json
        members/photometry_000.keras ...
        members/spectroscopy_000.keras ...

The manifest (plain JSON, format :data:`FORMAT_VERSION`) holds everything
inference needs: label names, order and units, normalisation limits, the
wavelength grid, the photometric inputs, training-set label ranges (boundary
flags), per-member seeds, last validation losses, kept flags and SHA-256
checksums, software versions, a description of the training data and the
optional calibration. No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import resources
from os import PathLike
from pathlib import Path

import numpy as np

from raveview.core.errors import ModelError, ModelIntegrityError
from raveview.core.grid import WavelengthGrid
from raveview.core.labels import LABELS_BY_KEY
from raveview.ml.ensemble import KINDS, Ensemble, sha256_file

#: The manifest format this raveview writes and the newest it reads.
FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "raveview-model-bundle"


def demo_bundle_path() -> Path:
    """The bundled demo ensemble (``raveview/resources/models/demo``), trained on mock data."""
    return Path(str(resources.files("raveview") / "resources" / "models" / "demo"))


def member_file(kind: str, index: int) -> str:
    """Relative path of a member file, e.g. ``members/photometry_003.keras``."""
    return f"members/{kind}_{index:03d}.keras"


def software_versions() -> dict[str, str]:
    """Versions of raveview, Python, NumPy and (when loaded or importable) TensorFlow/Keras."""
    from importlib.metadata import PackageNotFoundError, version

    from raveview import __version__

    out = {"raveview": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for dist in ("tensorflow", "keras"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def label_entries(label_order: tuple[str, ...] | list[str]) -> list[dict]:
    """Manifest ``labels`` list: key, display name and unit of each output, in order."""
    return [{"key": k, "display": LABELS_BY_KEY[k].display, "unit": LABELS_BY_KEY[k].unit} for k in label_order]


def write_manifest(folder: str | PathLike[str], manifest: dict) -> Path:
    """Write ``manifest.json`` atomically (temporary file in the folder, then ``os.replace``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest, indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(tmp, folder / MANIFEST_NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return folder / MANIFEST_NAME


def bundle_id(manifest: dict) -> str:
    """A content id: the first 12 hex digits of the SHA-256 over the member checksums and name."""
    digest = hashlib.sha256(str(manifest.get("name", "")).encode())
    for kind in KINDS:
        for member in manifest.get("ensembles", {}).get(kind, {}).get("members", []):
            digest.update(member["sha256"].encode())
    return digest.hexdigest()[:12]


def now_iso() -> str:
    """The current UTC time, ISO 8601, seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class ModelBundle:
    """A loaded model bundle (manifest read, member checksums verified; Keras not yet loaded).

    Use :meth:`load`. Attributes: ``path``, ``manifest`` (dict), ``sha256`` (of
    ``manifest.json``), and the properties below.
    """

    def __init__(self, path: Path, manifest: dict, sha256: str) -> None:
        self.path = path
        self.manifest = manifest
        self.sha256 = sha256
        self._ensembles: dict[str, Ensemble] = {}

    @classmethod
    def load(cls, path: str | PathLike[str], verify: bool = True) -> "ModelBundle":
        """Read a bundle folder (or its ``manifest.json``).

        Parameters
        ----------
        path
            The bundle folder.
        verify
            Check every member file against its SHA-256 now (members are checked
            again when loaded into Keras).

        Raises
        ------
        ModelError
            Missing or malformed manifest, newer format, missing member.
        ModelIntegrityError
            A member file does not match its checksum.
        """
        path = Path(path)
        if path.name == MANIFEST_NAME and path.is_file():
            path = path.parent
        manifest_path = path / MANIFEST_NAME
        if not path.is_dir():
            raise ModelError("no such model bundle folder", path)
        if not manifest_path.is_file():
            raise ModelError(f"not a model bundle (no {MANIFEST_NAME})", path)
        raw = manifest_path.read_bytes()
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{MANIFEST_NAME} is not valid JSON ({exc})", path) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise ModelError(f"{MANIFEST_NAME} is not a raveview model manifest", path)
        version = manifest.get("format_version")
        if not isinstance(version, int):
            raise ModelError(f"{MANIFEST_NAME} has no integer format_version", path)
        if version > FORMAT_VERSION:
            raise ModelError(f"bundle format {version} is newer than this raveview supports "
                             f"({FORMAT_VERSION}); upgrade raveview", path)
        for key in ("label_order", "grid", "label_ranges", "ensembles"):
            if key not in manifest:
                raise ModelError(f"{MANIFEST_NAME} lacks '{key}'", path)
        if not any(kind in manifest["ensembles"] for kind in KINDS):
            raise ModelError("the bundle holds no ensemble", path)
        bundle = cls(path, manifest, hashlib.sha256(raw).hexdigest())
        bundle._validate()
        if verify:
            bundle.verify()
        return bundle

    def _validate(self) -> None:
        """Read every field prediction needs once, so a malformed manifest fails here, in one line."""
        try:
            order = self.label_order
            unknown = [k for k in order if not isinstance(k, str) or k not in LABELS_BY_KEY]
            if unknown or not order:
                raise ValueError(f"unknown label keys {unknown}")
            self.grid  # noqa: B018  (parses the grid)
            lo, hi = self.range_arrays()
            if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
                raise ValueError("label ranges must be finite numbers")
            if not isinstance(self.manifest["ensembles"], dict):
                raise TypeError("'ensembles' must be a mapping")
            for kind in self.kinds:
                ensemble = self.ensemble(kind)
                for member in ensemble.members:
                    if not isinstance(member.file, str) or not isinstance(member.sha256, str):
                        raise TypeError("member file names and checksums must be strings")
                    target = (self.path / member.file).resolve()
                    if self.path.resolve() not in target.parents:
                        raise ValueError(f"member file {member.file!r} lies outside the bundle folder")
            self.summary()
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ModelError(f"{MANIFEST_NAME} is malformed ({type(exc).__name__}: {detail})"[:300],
                             self.path) from None

    def verify(self) -> int:
        """Check every member file's SHA-256; returns the number checked."""
        checked = 0
        for kind in self.kinds:
            for member in self.ensemble(kind).members:
                file = self.path / member.file
                if not file.is_file():
                    raise ModelError(f"member file {member.file} is missing", self.path)
                if sha256_file(file) != member.sha256:
                    raise ModelIntegrityError(f"member file {member.file} does not match its checksum "
                                              "(the bundle was modified or damaged)", self.path)
                checked += 1
        return checked

    # --- descriptive properties -------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.manifest.get("id", ""))

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    @property
    def description(self) -> str:
        return str(self.manifest.get("description", ""))

    @property
    def trained_on(self) -> str:
        return str(self.manifest.get("trained_on", ""))

    @property
    def label_order(self) -> tuple[str, ...]:
        """Label keys in the order of the network outputs."""
        return tuple(self.manifest["label_order"])

    @property
    def grid(self) -> WavelengthGrid:
        """The wavelength grid the members expect."""
        return WavelengthGrid.from_dict(self.manifest["grid"])

    @property
    def label_ranges(self) -> dict[str, tuple[float, float]]:
        """Training-set (min, max) per label key (boundary flags)."""
        return {k: (float(v[0]), float(v[1])) for k, v in self.manifest["label_ranges"].items()}

    @property
    def photometric_inputs(self) -> tuple[str, ...]:
        return tuple(self.manifest.get("photometric_inputs", ()))

    @property
    def kinds(self) -> tuple[str, ...]:
        """The ensemble variants present, photometry first."""
        return tuple(k for k in KINDS if k in self.manifest["ensembles"])

    @property
    def has_photometry(self) -> bool:
        return "photometry" in self.manifest["ensembles"]

    @property
    def has_spectroscopy(self) -> bool:
        return "spectroscopy" in self.manifest["ensembles"]

    def ensemble(self, kind: str) -> Ensemble:
        """The ``"photometry"`` or ``"spectroscopy"`` ensemble (ModelError if absent)."""
        if kind not in self.kinds:
            raise ModelError(f"the bundle has no {kind} ensemble (it has: {', '.join(self.kinds)})", self.path)
        if kind not in self._ensembles:
            self._ensembles[kind] = Ensemble(kind, self.path, self.manifest["ensembles"][kind], self.label_order)
        return self._ensembles[kind]

    def range_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Training-set label minima and maxima in :attr:`label_order`."""
        ranges = self.label_ranges
        lo = np.array([ranges[k][0] for k in self.label_order])
        hi = np.array([ranges[k][1] for k in self.label_order])
        return lo, hi

    def summary(self) -> list[str]:
        """Human-readable lines describing the bundle (``raveview model show``)."""
        lines = [f"name:        {self.name}", f"id:          {self.id}", f"trained on:  {self.trained_on}"]
        if self.description:
            lines.append(f"description: {self.description}")
        lines.append(f"format:      {self.manifest['format_version']}, created {self.manifest.get('created', '?')}")
        lines.append(f"grid:        {self.grid}")
        if self.photometric_inputs:
            lines.append(f"photometry:  {', '.join(self.photometric_inputs)}")
        lines.append("labels (training-set range):")
        for key in self.label_order:
            lo, hi = self.label_ranges[key]
            label = LABELS_BY_KEY[key]
            lines.append(f"  {label.display:<8} {lo:>10.4g} .. {hi:<10.4g} {label.unit}")
        for kind in self.kinds:
            entry = self.manifest["ensembles"][kind]
            members = entry["members"]
            kept = sum(bool(m.get("kept", True)) for m in members)
            lines.append(f"{kind} ensemble: {kept} of {len(members)} members kept")
            cal = entry.get("calibration")
            if cal:
                pairs = zip(cal["labels"], cal["coverage_before"], cal["coverage_after"])
                lines.append("  calibrated 1-sigma coverage: " + ", ".join(f"{k} {b:.0%}->{a:.0%}" for k, b, a in pairs))
        data = self.manifest.get("training_data")
        if data:
            lines.append("training data: " + "; ".join(f"{k}={v}" for k, v in data.items()))
        return lines
