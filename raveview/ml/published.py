"""Import of the published Guiglion et al. (2020) ensemble (Keras 2 HDF5 members) into a bundle.

Loading an ``.h5`` full-model file is a trusted conversion step the user starts
explicitly (``raveview model import-keras2``). Each member's weights are copied
by layer name into :func:`raveview.ml.architecture.build_model` and saved as a
``.keras`` file; bundles themselves never contain HDF5 or pickle.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from raveview.core.errors import ModelError, TrainingDataError
from raveview.core.grid import DEFAULT_GRID
from raveview.core.labels import PHOTOMETRIC_INPUTS, PUBLISHED_LABEL_COLUMNS
from raveview.core.progress import Progress
from raveview.ml import KERAS_LOCK
from raveview.ml.architecture import Architecture, build_model
from raveview.ml.bundle import (FORMAT_NAME, FORMAT_VERSION, ModelBundle, bundle_id, label_entries,
                                member_file, now_iso, software_versions, write_manifest)
from raveview.ml.calibration import fit_calibration
from raveview.ml.ensemble import sha256_file
from raveview.ml.normalisation import MinMax

TRAINED_ON = "RAVE DR6 × APOGEE DR16 (Guiglion et al. 2020, published weights)"
#: Published label-file column name (lower case) → label key.
_PUBLISHED_KEYS = {v.lower(): k for k, v in PUBLISHED_LABEL_COLUMNS.items()}


def published_key(column: str) -> str:
    """Label key of a published column name (``Teff``, ``AlphaM``/``alphaM``, ...)."""
    try:
        return _PUBLISHED_KEYS[column.strip().lower()]
    except KeyError:
        raise KeyError(f"unknown published label column {column!r}") from None


def read_limits(path: Path) -> tuple[MinMax, MinMax]:
    """Label and photometric normalisations from a ``derived_normalization_limits.json``-like file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        order = [published_key(c) for c in data["label_order"]]
        labels = data["label_limits_min_max"]
        lo = [labels[c][0] for c in data["label_order"]]
        hi = [labels[c][1] for c in data["label_order"]]
        phot = data["photometric_limits_min_max"]
        plo = [phot[name][0] for name in PHOTOMETRIC_INPUTS]
        phi = [phot[name][1] for name in PHOTOMETRIC_INPUTS]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelError(f"not a usable normalisation-limits file ({exc})", path) from None
    return MinMax(np.array(lo), np.array(hi), tuple(order)), MinMax(np.array(plo), np.array(phi), PHOTOMETRIC_INPUTS)


def convert_member(h5_path: Path, arch: Architecture = Architecture()):
    """A :func:`build_model` network holding the weights of one published ``.h5`` member."""
    import keras

    with KERAS_LOCK:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras 2 configs use deprecated argument names
                legacy = keras.models.load_model(h5_path, compile=False)
        except Exception as exc:
            raise ModelError(f"cannot load as a Keras HDF5 model ({type(exc).__name__}: {exc})", h5_path) from None
        model = build_model(arch)
        pairs = match_layers([l for l in legacy.layers if l.weights], [l for l in model.layers if l.weights])
        if pairs is None:
            raise ModelError("the HDF5 model's layers do not match the published architecture", h5_path)
        for source, layer in pairs:
            weights = source.get_weights()
            if [w.shape for w in weights] != [tuple(w.shape) for w in layer.weights]:
                raise ModelError(f"layer '{source.name}' has weights of another shape than '{layer.name}'", h5_path)
            layer.set_weights(weights)
    return model


def _base_and_index(name: str) -> tuple[str, int]:
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    return match.group(1), int(match.group(2)) if match.group(2) else 0


def match_layers(source: list, target: list) -> list[tuple] | None:
    """Pair weighted layers by name; names auto-numbered by Keras (``dense_40``) are paired by
    their order within the same base name (``dense_40..43`` → ``dense``, ``dense_1``..``dense_3``)."""
    def groups(layers: list) -> dict[str, list]:
        out: dict[str, list] = {}
        for layer in layers:
            base, index = _base_and_index(layer.name)
            out.setdefault(base, []).append((index, layer))
        return {k: [layer for _, layer in sorted(v, key=lambda t: t[0])] for k, v in out.items()}

    by_name = {layer.name: layer for layer in source}
    if all(layer.name in by_name for layer in target):
        return [(by_name[layer.name], layer) for layer in target]
    src, tgt = groups(source), groups(target)
    if set(src) != set(tgt) or any(len(src[k]) != len(tgt[k]) for k in tgt):
        return None
    return [pair for k in tgt for pair in zip(src[k], tgt[k])]


def _read_losses(models_dir: Path) -> list[float]:
    files = sorted(models_dir.glob("last_val_loss*.csv"))
    if not files:
        return []
    return [float(v) for v in pd.read_csv(files[0])["last_val_loss"].to_numpy()]


def _from_published_output(output_dir: Path, order: tuple[str, ...]) -> tuple[dict, dict | None]:
    """Spread percentiles and calibration from the published train/test results (res_*, y_test_*)."""
    def one(pattern: str) -> pd.DataFrame:
        found = sorted(output_dir.glob(pattern))
        if not found:
            raise ModelError(f"no file matching {pattern}", output_dir)
        return pd.read_csv(found[0])

    res_test, y_test = one("res_test_*.csv"), one("y_test_*.csv")
    res_train = one("res_train_*.csv")
    cols = {published_key(c): c for c in y_test.columns if c.lower() in _PUBLISHED_KEYS}
    e_test = np.column_stack([res_test["e" + cols[k]] for k in order])
    e_all = np.vstack([e_test, np.column_stack([res_train["e" + cols[k]] for k in order])])
    spread = {k: float(np.nanpercentile(e_all[:, j], 99)) for j, k in enumerate(order)}
    if not (res_test["RAVE_OBS_ID"].to_numpy() == y_test["RAVE_OBS_ID"].to_numpy()).all():
        raise ModelError("res_test and y_test rows are not aligned", output_dir)
    resid = np.column_stack([res_test[cols[k]] - y_test[cols[k]] for k in order])
    calibration = fit_calibration(resid, e_test, order).to_dict()
    calibration["fitted_on"] = "published test split (235 stars), published ensemble predictions"
    return spread, calibration


def import_published(models_dir: str | PathLike[str], limits: str | PathLike[str], out: str | PathLike[str],
                     labels_csv: str | PathLike[str] | None = None,
                     published_output: str | PathLike[str] | None = None,
                     name: str = "guiglion2020") -> Iterator[Progress]:
    """Convert the published members into a bundle at ``out``.

    Parameters
    ----------
    models_dir
        Folder with ``model_version_*_NNN.h5`` (and optionally ``last_val_loss*.csv``).
    limits
        The normalisation-limits JSON; its label limits are the train split's min/max
        and become the bundle's training-set label ranges.
    out
        The bundle folder to write (replaced if it is a bundle already).
    labels_csv
        Optional ``training_sample_labels.csv``: its size is recorded and the
        label ranges are checked to lie inside it.
    published_output
        Optional folder with the published ``res_train``/``res_test``/``y_test`` CSVs:
        the 99th percentiles of the ensemble spread and a calibration are fitted from them.

    Yields
    ------
    Progress
        One per converted member; the last one's payload is the bundle ``Path``.
    """
    models_dir, out = Path(models_dir), Path(out)
    h5_files = sorted(models_dir.glob("*.h5"))
    if not h5_files:
        raise ModelError("no .h5 model files", models_dir)
    label_norm, phot_norm = read_limits(Path(limits))
    order = label_norm.names
    training_data = {"source": "RAVE DR6 spectra with APOGEE DR16 labels (Guiglion et al. 2020)",
                     "n_train": 3669, "n_test": 235, "limits_file": Path(limits).name}
    if labels_csv is not None:
        table = pd.read_csv(labels_csv)
        cols = {published_key(c): c for c in table.columns if c.lower() in _PUBLISHED_KEYS}
        if set(cols) != set(order):
            raise TrainingDataError("labels table lacks some of the 9 published label columns", labels_csv)
        for j, key in enumerate(order):
            values = table[cols[key]].to_numpy(float)
            if label_norm.minimum[j] < np.nanmin(values) - 1e-6 or label_norm.maximum[j] > np.nanmax(values) + 1e-6:
                raise TrainingDataError(f"label limits of {key} lie outside the labels table", labels_csv)
        training_data["n_stars"] = int(len(table))
        training_data["labels_file"] = Path(labels_csv).name
    spread, calibration = (None, None)
    if published_output is not None:
        spread, calibration = _from_published_output(Path(published_output), order)
    losses = _read_losses(models_dir)
    if out.exists():
        if not (out / "manifest.json").is_file() and any(p.name != "members" for p in out.iterdir()):
            raise ModelError("output folder exists and is not a model bundle; choose another", out)
        shutil.rmtree(out / "members", ignore_errors=True)
    (out / "members").mkdir(parents=True, exist_ok=True)
    members = []
    for i, h5 in enumerate(h5_files):
        model = convert_member(h5)
        rel = member_file("photometry", i)
        with KERAS_LOCK:
            model.save(out / rel)
        members.append({"file": rel, "seed": None, "last_val_loss": losses[i] if i < len(losses) else None,
                        "kept": True, "sha256": sha256_file(out / rel), "epochs": None, "source": h5.name})
        yield Progress(i + 1, len(h5_files), f"converted {h5.name}")
    manifest = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "id": "", "name": name,
        "description": f"The {len(members)} published CNN members of Guiglion et al. (2020), converted from "
                       "Keras 2 HDF5; all kept (validation losses are published for members 000-002 only).",
        "trained_on": TRAINED_ON, "created": now_iso(),
        "labels": label_entries(order), "label_order": list(order),
        "label_ranges": {k: [float(label_norm.minimum[j]), float(label_norm.maximum[j])] for j, k in enumerate(order)},
        "grid": DEFAULT_GRID.to_dict(), "photometric_inputs": list(PHOTOMETRIC_INPUTS),
        "training_data": training_data, "software": software_versions(),
        "ensembles": {"photometry": {
            "architecture": Architecture().to_dict(), "settings": None,
            "label_normalisation": label_norm.to_dict(), "photometry_normalisation": phot_norm.to_dict(),
            "members": members, "spread_p99": spread, "calibration": calibration,
        }},
    }
    manifest["id"] = bundle_id(manifest)
    write_manifest(out, manifest)
    ModelBundle.load(out)  # proves the written bundle reads back
    yield Progress(len(h5_files), len(h5_files), f"wrote {out}", payload=out)
