"""Training an ensemble into a model bundle (published procedure, resumable).

The published recipe (Guiglion et al. 2020): a 6 % test split (as sklearn's
``train_test_split(random_state=seed)``), min–max normalisation of labels and
photometric inputs fitted on the training split, members trained with MSE,
Adam(1e-3), batch 16, at most 1000 epochs, early stopping on the test-split
loss with patience 40 (last weights kept), then the members whose last
validation loss is below the 80th percentile are kept.

Each member is saved as soon as it finishes (``members/<kind>_NNN.keras`` plus
a small JSON of its loss history), so re-running the same training continues
where it stopped. The manifest is written atomically at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import math
import shutil
from collections.abc import Iterator, Sequence
from os import PathLike
from pathlib import Path

import numpy as np

from raveview.core.dask_cluster import dask_client
from raveview.core.errors import TrainingDataError
from raveview.core.grid import DEFAULT_GRID, WavelengthGrid
from raveview.core.labels import LABELS_BY_KEY, PHOTOMETRIC_INPUTS
from raveview.core.progress import Progress
from raveview.ml import KERAS_LOCK
from raveview.ml.architecture import Architecture, build_model
from raveview.ml.bundle import (FORMAT_NAME, FORMAT_VERSION, ModelBundle, bundle_id, label_entries,
                                member_file, now_iso, software_versions, write_manifest)
from raveview.ml.calibration import coverage, fit_calibration
from raveview.ml.ensemble import KINDS, select_members, sha256_file
from raveview.ml.normalisation import MinMax
from raveview.ml.settings import MemberResult, TrainingSettings

STATE_NAME = "training_state.json"


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices exactly as sklearn's ``train_test_split(test_size, random_state=seed)``.

    ``n_test = ceil(test_fraction * n)``; the rows are a ``RandomState(seed)``
    permutation, the first ``n_test`` of which are the test split.
    """
    n_test = int(math.ceil(test_fraction * n))
    if not 0 < n_test < n:
        raise TrainingDataError(f"a test fraction of {test_fraction} leaves no train or no test stars of {n}")
    perm = np.random.RandomState(seed).permutation(n)
    return perm[n_test:], perm[:n_test]


def member_seeds(settings: TrainingSettings) -> list[int]:
    """The per-member seeds: ``settings.seed + i``."""
    return [settings.seed + i for i in range(settings.members)]


def _fingerprint(*arrays: np.ndarray | None, extra: dict) -> str:
    digest = hashlib.sha256(json.dumps(extra, sort_keys=True).encode())
    for array in arrays:
        if array is not None:
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _check_inputs(x_spec, x_phot, y, label_order, variants) -> None:
    n = x_spec.shape[0]
    if x_spec.ndim != 2 or y.ndim != 2 or y.shape[0] != n:
        raise TrainingDataError(f"spectra {x_spec.shape} and labels {y.shape} do not match")
    if y.shape[1] != len(label_order) or not set(label_order) <= set(LABELS_BY_KEY):
        raise TrainingDataError(f"{y.shape[1]} label columns for label order {list(label_order)}")
    if not np.isfinite(x_spec).all():
        raise TrainingDataError("spectra contain NaN or infinite values")
    if not np.isfinite(y).all():
        raise TrainingDataError("labels contain NaN or infinite values")
    if "photometry" in variants:
        if x_phot is None or x_phot.shape != (n, len(PHOTOMETRIC_INPUTS)):
            raise TrainingDataError(f"the photometry ensemble needs photometric inputs of shape ({n}, 9)")
        if not np.isfinite(x_phot).all():
            raise TrainingDataError("photometric inputs contain NaN (drop stars without usable photometry)")


def _keras_member(seed, arch, settings, data) -> Iterator[Progress]:
    """Train one member with Keras ``fit``, one epoch per call; the last payload is a MemberResult."""
    import keras

    x_tr, y_tr, x_val, y_val = data
    with KERAS_LOCK:
        keras.utils.set_random_seed(seed)
        model = build_model(arch, seed)
        model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss="mse")
        stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience)
        stopper.set_model(model)
        stopper.on_train_begin()
    train_loss, val_loss = [], []
    for epoch in range(settings.max_epochs):
        with KERAS_LOCK:
            hist = model.fit(x_tr, y_tr, batch_size=settings.batch_size, epochs=epoch + 1, initial_epoch=epoch,
                             validation_data=(x_val, y_val), shuffle=True, verbose=0)
            train_loss.append(float(hist.history["loss"][-1]))
            val_loss.append(float(hist.history["val_loss"][-1]))
            stopper.on_epoch_end(epoch, {"val_loss": val_loss[-1]})
        yield Progress(epoch + 1, settings.max_epochs, f"epoch {epoch + 1}, val_loss {val_loss[-1]:.5f}",
                       payload={"epoch": epoch + 1, "val_loss": val_loss[-1], "train_loss": train_loss[-1]})
        if model.stop_training:
            break
    yield Progress(len(val_loss), len(val_loss), "done",
                   payload=MemberResult(seed, model.get_weights(), train_loss, val_loss, len(val_loss) - 1))


def _save_member(folder: Path, kind: str, index: int, arch: Architecture, result: MemberResult) -> None:
    with KERAS_LOCK:
        model = build_model(arch)
        model.set_weights(result.weights)
        model.save(folder / member_file(kind, index))
    history = {"seed": result.seed, "train_loss": result.train_loss, "val_loss": result.val_loss,
               "epochs": result.epochs}
    (folder / member_file(kind, index)).with_suffix(".json").write_text(json.dumps(history), encoding="utf-8")


def _done_members(folder: Path, kind: str, seeds: list[int]) -> dict[int, dict]:
    done = {}
    for i, seed in enumerate(seeds):
        keras_file = folder / member_file(kind, i)
        history = keras_file.with_suffix(".json")
        if keras_file.is_file() and history.is_file():
            info = json.loads(history.read_text(encoding="utf-8"))
            if info.get("seed") == seed:
                done[i] = info
    return done


def _train_kind(kind, folder, arch, settings, seeds, data, engine, offset, total, client=None) -> Iterator[Progress]:
    done = _done_members(folder, kind, seeds)
    todo = [i for i in range(len(seeds)) if i not in done]
    if done:
        yield Progress(offset + len(done), total, f"{kind}: {len(done)} members already trained, kept")
    if engine == "vectorized" and todo:
        x_tr, y_tr, x_val, y_val = data
        phot = (lambda xs: xs[1]) if arch.with_photometry else (lambda xs: None)
        results = None
        checkpoints = folder / "checkpoints" / kind
        checkpoints.mkdir(parents=True, exist_ok=True)
        arrays = (x_tr[0], phot(x_tr), y_tr, x_val[0], phot(x_val), y_val)
        if client is not None:  # groups of members on the workers of a Dask cluster
            from raveview.ml.member_groups import train_member_groups

            steps = train_member_groups(client, *arrays, [seeds[i] for i in todo], arch, settings,
                                        checkpoint_dir=checkpoints)
        else:
            from raveview.ml.vectorized import train_members

            steps = train_members(*arrays, [seeds[i] for i in todo], arch, settings, checkpoint_dir=checkpoints)
        for p in steps:
            if isinstance(p.payload, list):
                results = p.payload
            else:
                yield Progress(offset + len(done), total, f"{kind}: {p.message}", payload=p.payload)
        if results is None:
            raise TrainingDataError("the vectorized engine returned no members")
        for i, result in zip(todo, results):
            _save_member(folder, kind, i, arch, result)
        return
    for n_done, i in enumerate(todo, start=offset + len(done)):
        label = f"{kind} member {i + 1}/{len(seeds)}"
        for p in _keras_member(seeds[i], arch, settings, data):
            if isinstance(p.payload, MemberResult):
                _save_member(folder, kind, i, arch, p.payload)
            else:
                payload = dict(p.payload, kind=kind, member=i, max_epochs=settings.max_epochs)
                yield Progress(n_done, total, f"{label}: {p.message}", payload=payload)
        yield Progress(n_done + 1, total, f"{label} finished")


def train_ensemble(
    x_spec: np.ndarray,
    x_phot: np.ndarray | None,
    y: np.ndarray,
    label_order: Sequence[str],
    settings: TrainingSettings,
    out_bundle: str | PathLike[str],
    engine: str = "keras",
    description: str = "",
    trained_on: str = "",
    *,
    name: str | None = None,
    variants: Sequence[str] | None = None,
    arch: Architecture | None = None,
    grid: WavelengthGrid = DEFAULT_GRID,
    training_data: dict | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> Iterator[Progress]:
    """Train one or both ensemble variants into the bundle folder ``out_bundle``.

    Parameters
    ----------
    x_spec
        Spectra on ``grid``, (N, n_pixels).
    x_phot
        Photometric inputs in physical units (N, 9), or None for spectroscopy only.
    y
        Labels (N, L) in physical units, columns in ``label_order`` (label keys).
    settings
        Training settings (members, epochs, patience, ...).
    out_bundle
        The bundle folder; members already trained there with the same data are kept.
    engine
        ``"keras"`` (per-member ``fit``) or ``"vectorized"`` (:mod:`raveview.ml.vectorized`).
    description, trained_on
        Free text for the manifest (say clearly when the data are mock data).
    name
        Bundle name (default: the folder name).
    variants
        Ensembles to train: ``["photometry"]``, ``["spectroscopy"]`` or both; by default
        from ``settings.with_photometry``.
    arch
        Architecture hyper-parameters (n_pixels and n_labels are set from the data).
    grid
        The wavelength grid of ``x_spec`` (recorded in the manifest).
    training_data
        Extra description of the data for the manifest (file names, counts).
    scheduler, workers
        With the vectorized engine: train the members in groups on a Dask cluster,
        the one at address ``scheduler`` or a local one of ``workers`` processes
        (see :mod:`raveview.ml.member_groups`); by default, in this process.

    Yields
    ------
    Progress
        Per epoch and per member (``done`` counts finished members); the last
        one's payload is the bundle folder ``Path``.

    Raises
    ------
    TrainingDataError
        Inconsistent inputs, or ``out_bundle`` holds members of a different training.
    """
    out = Path(out_bundle)
    x_spec = np.asarray(x_spec, dtype=np.float32)
    y = np.asarray(y, dtype=np.float64)
    x_phot = None if x_phot is None else np.asarray(x_phot, dtype=np.float64)
    label_order = tuple(label_order)
    variants = tuple(variants or (("photometry",) if settings.with_photometry else ("spectroscopy",)))
    if not variants or not set(variants) <= set(KINDS):
        raise TrainingDataError(f"unknown ensemble variants {list(variants)}")
    if engine not in ("keras", "vectorized"):
        raise TrainingDataError(f"unknown training engine {engine!r}")
    if engine == "vectorized" and importlib.util.find_spec("raveview.ml.vectorized") is None:
        raise TrainingDataError("the vectorized engine is not available in this raveview")
    if (scheduler or workers) and engine != "vectorized":
        raise TrainingDataError("training on a Dask cluster needs the vectorized engine")
    _check_inputs(x_spec, x_phot, y, label_order, variants)
    if grid.n != x_spec.shape[1]:
        raise TrainingDataError(f"spectra have {x_spec.shape[1]} pixels but the grid has {grid.n}")
    base = dataclasses.replace(arch or Architecture(), n_pixels=x_spec.shape[1], n_labels=len(label_order))

    train, test = split_indices(x_spec.shape[0], settings.test_fraction, settings.seed)
    label_norm = MinMax.fit(y[train], label_order)
    phot_norm = MinMax.fit(x_phot[train], PHOTOMETRIC_INPUTS) if "photometry" in variants else None
    recipe = {k: v for k, v in settings.to_dict().items() if k not in ("members", "with_photometry")}
    fingerprint = _fingerprint(x_spec, x_phot if "photometry" in variants else None, y,
                               extra={"settings": recipe, "arch": base.to_dict(), "labels": list(label_order)})
    out.mkdir(parents=True, exist_ok=True)
    (out / "members").mkdir(exist_ok=True)
    state_file = out / STATE_NAME
    if state_file.is_file():
        if json.loads(state_file.read_text(encoding="utf-8")).get("fingerprint") != fingerprint:
            raise TrainingDataError("holds members of a different training (other data or settings); "
                                    "choose another output folder", out)
    elif any((out / "members").iterdir()):
        raise TrainingDataError("holds members of an unknown training; choose another output folder", out)
    state_file.write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")

    seeds = member_seeds(settings)
    total = len(seeds) * len(variants)
    scaled_y = label_norm.transform(y).astype(np.float32)
    ensembles = {}
    with contextlib.ExitStack() as stack:  # a Dask cluster, when asked for, serves every variant
        client = stack.enter_context(dask_client(scheduler, workers)) if (scheduler or workers) else None
        for k, kind in enumerate(variants):
            kind_arch = dataclasses.replace(base, with_photometry=kind == "photometry")
            inputs = [x_spec[..., None]]
            if kind_arch.with_photometry:
                inputs.append(phot_norm.transform(x_phot).astype(np.float32)[..., None])
            data = ([x[train] for x in inputs], scaled_y[train], [x[test] for x in inputs], scaled_y[test])
            if engine == "vectorized":
                data = ([x[..., 0] for x in data[0]], data[1], [x[..., 0] for x in data[2]], data[3])
            yield from _train_kind(kind, out, kind_arch, settings, seeds, data, engine, k * len(seeds), total, client)
            histories = _done_members(out, kind, seeds)
            losses = np.array([histories[i]["val_loss"][-1] for i in range(len(seeds))], dtype=np.float64)
            keep = select_members(losses, settings.keep_percentile)
            ensembles[kind] = {
                "architecture": kind_arch.to_dict(), "settings": settings.to_dict(),
                "label_normalisation": label_norm.to_dict(),
                "photometry_normalisation": phot_norm.to_dict() if kind_arch.with_photometry else None,
                "members": [{"file": member_file(kind, i), "seed": seeds[i],
                             "last_val_loss": float(losses[i]) if np.isfinite(losses[i]) else None,
                             "kept": bool(keep[i]), "sha256": sha256_file(out / member_file(kind, i)),
                             "epochs": int(histories[i]["epochs"])} for i in range(len(seeds))],
                "spread_p99": None, "calibration": None, "test_metrics": None,
            }
    data_info = dict(training_data or {})
    data_info.update(n_stars=int(x_spec.shape[0]), n_train=int(train.size), n_test=int(test.size),
                     split_seed=settings.seed, test_fraction=settings.test_fraction)
    manifest = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "id": "", "name": name or out.name,
        "description": description, "trained_on": trained_on, "created": now_iso(),
        "labels": label_entries(label_order), "label_order": list(label_order),
        "label_ranges": {k: [float(y[train, j].min()), float(y[train, j].max())] for j, k in enumerate(label_order)},
        "grid": grid.to_dict(), "photometric_inputs": list(PHOTOMETRIC_INPUTS) if phot_norm else [],
        "training_data": data_info, "software": software_versions(), "ensembles": ensembles,
    }
    manifest["id"] = bundle_id(manifest)
    write_manifest(out, manifest)
    yield Progress(total, total, "evaluating the ensembles on the test split")
    bundle = ModelBundle.load(out)
    for kind in variants:
        _evaluate(bundle, kind, manifest["ensembles"][kind], x_spec, x_phot, y, test)
    write_manifest(out, manifest)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # vectorized-engine checkpoints are spent
    yield Progress(total, total, f"wrote {out}", payload=out)


def _evaluate(bundle: ModelBundle, kind: str, entry: dict, x_spec, x_phot, y, test) -> None:
    """Fill the entry's spread percentiles, calibration and test metrics."""
    ensemble = bundle.ensemble(kind)
    mean, std = ensemble.predict(x_spec, x_phot)
    order = bundle.label_order
    entry["spread_p99"] = {k: float(np.percentile(std[:, j], 99)) for j, k in enumerate(order)}
    resid = mean[test] - y[test]
    calibration = fit_calibration(resid, std[test], order)
    entry["calibration"] = dict(calibration.to_dict(), fitted_on=f"test split ({test.size} stars)")
    entry["test_metrics"] = {
        "n": int(test.size),
        "bias": {k: float(np.mean(resid[:, j])) for j, k in enumerate(order)},
        "scatter": {k: float(np.std(resid[:, j])) for j, k in enumerate(order)},
        "median_spread": {k: float(np.median(std[test, j])) for j, k in enumerate(order)},
        "coverage_raw": dict(zip(order, coverage(resid, std[test]).tolist())),
    }
