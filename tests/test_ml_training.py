"""Training: published split, same-seed reproducibility, save/load round trip, resumption."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
from ml_helpers import synthetic_set

from raveview.core.errors import TrainingDataError
from raveview.core.labels import LABEL_KEYS
from raveview.ml.architecture import Architecture, build_model
from raveview.ml.bundle import ModelBundle
from raveview.ml.settings import MemberResult, TrainingSettings
from raveview.ml.training import _keras_member, _save_member, split_indices, train_ensemble


def test_split_reproduces_the_published_train_test_split(guiglion_dir):
    labels = pd.read_csv(guiglion_dir / "data" / "training_sample_labels.csv")
    y_test = pd.read_csv(guiglion_dir / "output" / "y_test_cnn_version_1_True.csv")
    y_train = pd.read_csv(guiglion_dir / "output" / "y_train_cnn_version_1_True.csv")
    train, test = split_indices(len(labels), 0.06, 42)
    assert (train.size, test.size) == (3669, 235)
    assert labels["RAVE_OBS_ID"].to_numpy()[test].tolist() == y_test["RAVE_OBS_ID"].tolist()
    assert labels["RAVE_OBS_ID"].to_numpy()[train].tolist() == y_train["RAVE_OBS_ID"].tolist()


def _member(seed, data, arch):
    steps = list(_keras_member(seed, arch, TrainingSettings(max_epochs=2), data))
    assert [s.payload["epoch"] for s in steps[:-1]] == [1, 2]
    return steps[-1].payload


@pytest.fixture(scope="module")
def small():
    ids, x_spec, _, x_phot, y = synthetic_set(60, seed=5)
    y = (y - y.min(0)) / (y.max(0) - y.min(0))
    inputs = [x_spec[:50, :, None], ((x_phot[:50] - x_phot.min(0)) / np.ptp(x_phot, 0))[..., None].astype("float32")]
    val = [x_spec[50:, :, None], ((x_phot[50:] - x_phot.min(0)) / np.ptp(x_phot, 0))[..., None].astype("float32")]
    return inputs, y[:50].astype("float32"), val, y[50:].astype("float32")


def test_same_seed_retrain_reproduces_member(small, tmp_path):
    arch = Architecture()
    a = _member(7, small, arch)
    b = _member(7, small, arch)
    c = _member(8, small, arch)
    assert isinstance(a, MemberResult) and a.epochs == 2
    assert a.val_loss == b.val_loss
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.weights[0], c.weights[0])
    # save/load round trip of a trained member gives identical predictions
    (tmp_path / "members").mkdir()
    _save_member(tmp_path, "photometry", 0, arch, a)
    loaded = keras.models.load_model(tmp_path / "members" / "photometry_000.keras", compile=False, safe_mode=True)
    fresh = build_model(arch)
    fresh.set_weights(a.weights)
    x = small[2]
    np.testing.assert_array_equal(loaded.predict_on_batch(x), fresh.predict_on_batch(x))
    history = json.loads((tmp_path / "members" / "photometry_000.json").read_text())
    assert history["seed"] == 7 and history["val_loss"] == a.val_loss


def test_training_resumes_and_refuses_other_data(tmp_path):
    ids, x_spec, _, _, y = synthetic_set(60, seed=6)
    out = tmp_path / "bundle"
    settings = TrainingSettings(members=2, max_epochs=1, with_photometry=False)
    steps = train_ensemble(x_spec, None, y, LABEL_KEYS, settings, out)
    for step in steps:  # stop after the first member finished (a cancelled run)
        if "member 1/2 finished" in step.message:
            break
    steps.close()
    first = (out / "members" / "spectroscopy_000.keras").read_bytes()
    assert not (out / "members" / "spectroscopy_001.keras").exists()
    messages = [s.message for s in train_ensemble(x_spec, None, y, LABEL_KEYS, settings, out)]
    assert "spectroscopy: 1 members already trained, kept" in messages
    assert not any("member 1/2" in m for m in messages) and any("member 2/2 finished" in m for m in messages)
    assert (out / "members" / "spectroscopy_000.keras").read_bytes() == first
    bundle = ModelBundle.load(out)
    assert bundle.kinds == ("spectroscopy",) and len(bundle.ensemble("spectroscopy").members) == 2
    with pytest.raises(TrainingDataError, match="different training"):
        list(train_ensemble(x_spec, None, y + 1.0, LABEL_KEYS, settings, out))
    with pytest.raises(TrainingDataError, match="NaN"):
        bad = y.copy()
        bad[3, 2] = np.nan
        list(train_ensemble(x_spec, None, bad, LABEL_KEYS, settings, tmp_path / "other"))


def test_vectorized_engine_writes_a_bundle(tmp_path):
    pytest.importorskip("raveview.ml.vectorized")
    ids, x_spec, _, x_phot, y = synthetic_set(60, seed=7)
    out = tmp_path / "vec"
    settings = TrainingSettings(members=2, max_epochs=1)
    steps = list(train_ensemble(x_spec, x_phot, y, LABEL_KEYS, settings, out, engine="vectorized"))
    assert steps[-1].payload == out
    bundle = ModelBundle.load(out)
    members = bundle.manifest["ensembles"]["photometry"]["members"]
    assert [m["epochs"] for m in members] == [1, 1] and [m["seed"] for m in members] == [42, 43]
    mean, std = bundle.ensemble("photometry").predict(x_spec[:3], x_phot[:3])
    assert np.isfinite(mean).all() and mean.shape == (3, 9)
