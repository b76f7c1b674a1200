"""Import of the published Guiglion et al. (2020) ensemble (real .h5 members)."""

import keras
import numpy as np
import pandas as pd
import pytest

from raveview.core.io import read_spectrum
from raveview.core.labels import LABEL_KEYS, PUBLISHED_LABEL_ORDER
from raveview.core.photometry import absolute_magnitudes, read_photometry
from raveview.ml.bundle import ModelBundle
from raveview.ml.predict import predict_spectra
from raveview.ml.published import TRAINED_ON, import_published
from raveview.ml.training import split_indices

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def imported(guiglion_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("published") / "guiglion2020"
    steps = list(import_published(guiglion_dir / "models", guiglion_dir / "derived_normalization_limits.json", out,
                                  labels_csv=guiglion_dir / "data" / "training_sample_labels.csv",
                                  published_output=guiglion_dir / "output"))
    assert steps[-1].payload == out and steps[-2].done == 10
    return ModelBundle.load(out)


def test_member_outputs_equal_the_h5_models(imported, guiglion_dir):
    ensemble = imported.ensemble("photometry")
    assert imported.label_order == PUBLISHED_LABEL_ORDER and imported.trained_on == TRAINED_ON
    rng = np.random.default_rng(1)
    x_spec = rng.uniform(0.2, 1.1, (32, 912)).astype(np.float32)
    x_phot = ensemble.phot_norm.inverse(rng.uniform(-0.1, 1.1, (32, 9)))
    outputs = ensemble.member_outputs(x_spec, x_phot, fused=False)  # the converted .keras members
    fused = ensemble.member_outputs(x_spec, x_phot)  # all members in one computation (the default)
    assert outputs.shape == fused.shape == (10, 32, 9)
    norm_phot = ensemble.phot_norm.transform(x_phot).astype(np.float32)[..., None]
    for i in (0, 4, 9):
        h5 = keras.models.load_model(guiglion_dir / "models" / f"model_version_1_{i:03d}.h5", compile=False)
        reference = h5.predict_on_batch([x_spec[..., None], norm_phot])
        np.testing.assert_allclose(outputs[i], reference, atol=1e-6, rtol=0)
        np.testing.assert_allclose(fused[i], reference, rtol=1e-5, atol=1e-6)


def test_label_ranges_come_from_the_real_training_labels(imported, guiglion_dir):
    y_train = pd.read_csv(guiglion_dir / "output" / "y_train_cnn_version_1_True.csv")
    columns = {"teff": "Teff", "logg": "logg", "mh": "MH", "feh": "FeH", "alpham": "AlphaM", "sife": "SiFe",
               "alfe": "AlFe", "mgfe": "MgFe", "nife": "NiFe"}
    for key, col in columns.items():
        lo, hi = imported.label_ranges[key]
        assert lo == pytest.approx(y_train[col].min(), rel=1e-6, abs=1e-7)
        assert hi == pytest.approx(y_train[col].max(), rel=1e-6, abs=1e-7)
    members = imported.manifest["ensembles"]["photometry"]["members"]
    assert [m["last_val_loss"] is not None for m in members] == [True] * 3 + [False] * 7
    assert all(m["kept"] for m in members)


def test_calibration_from_published_test_split(imported):
    cal = imported.ensemble("photometry").calibration
    i = cal.labels.index("teff")
    assert cal.coverage_before[i] < 0.5 and cal.coverage_after[i] == pytest.approx(0.68, abs=0.01)
    assert cal.n_fit == 235


def test_predictions_with_real_test_photometry_are_in_range(imported, guiglion_dir, indo_us_dir):
    labels_file = guiglion_dir / "data" / "training_sample_labels.csv"
    phot = read_photometry(guiglion_dir / "data" / "training_sample_parameters.csv", ids=labels_file)
    _, test = split_indices(len(phot), 0.06, 42)
    inputs = absolute_magnitudes(phot.iloc[test].reset_index(drop=True))
    assert inputs.usable.all()
    spectrum = read_spectrum(indo_us_dir / "indo-us_G102-27.fits")  # a real CaT spectrum (no RAVE spectra here)
    cat = predict_spectra(imported, [spectrum] * len(test), photometry=inputs)
    assert len(cat) == 235 and cat["photometry_used"].all() and cat["ensemble"].eq("photometry").all()
    values = cat[list(LABEL_KEYS)].to_numpy()
    assert np.isfinite(values).all() and np.isfinite(cat[[f"e{k}" for k in LABEL_KEYS]].to_numpy()).all()
    flags = cat[[f"flag_{k}" for k in LABEL_KEYS]].to_numpy()
    assert flags.mean() < 0.01  # predictions lie inside the training ranges
    truth = pd.read_csv(labels_file)["Teff"].to_numpy()[test]
    assert np.corrcoef(cat["teff"], truth)[0, 1] > 0.5  # the photometry drives Teff
