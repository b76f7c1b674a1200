"""Model bundles: save/load, integrity, format version, prediction, boundary flags, fallback."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from ml_helpers import synthetic_set

from raveview.core.catalog_schema import ALL_COLUMNS
from raveview.core.errors import ModelError, ModelIntegrityError
from raveview.core.grid import DEFAULT_GRID
from raveview.core.labels import LABEL_KEYS
from raveview.core.spectrum import Spectrum
from raveview.ml.bundle import ModelBundle
from raveview.ml.predict import predict_spectra
from raveview.ml.settings import TrainingSettings
from raveview.ml.training import train_ensemble

pytestmark = pytest.mark.slow  # the module fixture trains 6 tiny members (~20 s on 2 shared cores)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ids, x_spec, phot, x_phot, y = synthetic_set(100)
    out = tmp_path_factory.mktemp("bundle") / "tiny"
    settings = TrainingSettings(members=3, max_epochs=2)
    steps = list(train_ensemble(x_spec, x_phot, y, LABEL_KEYS, settings, out, variants=["photometry", "spectroscopy"],
                                trained_on="synthetic test data (not real stars)"))
    assert steps[-1].payload == out
    return out, (ids, x_spec, phot, x_phot, y)


def _copy(bundle_dir, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(bundle_dir, target)
    return target


def test_manifest_content(trained):
    out, (_, _, _, _, y) = trained
    bundle = ModelBundle.load(out)
    assert bundle.has_photometry and bundle.has_spectroscopy
    assert bundle.label_order == LABEL_KEYS and bundle.grid == DEFAULT_GRID
    assert bundle.trained_on.startswith("synthetic")
    ens = bundle.manifest["ensembles"]["photometry"]
    assert [m["seed"] for m in ens["members"]] == [42, 43, 44]
    assert sum(m["kept"] for m in ens["members"]) == 2  # 80th-percentile cut of 3 members
    assert all(len(m["sha256"]) == 64 for m in ens["members"])
    # training-set ranges are those of the train split (a subset of all stars)
    lo, hi = bundle.range_arrays()
    assert np.all(lo >= y.min(axis=0)) and np.all(hi <= y.max(axis=0))
    assert ens["calibration"]["n_fit"] == 6 and set(ens["spread_p99"]) == set(LABEL_KEYS)


def test_reload_gives_identical_predictions(trained):
    out, (_, x_spec, _, x_phot, _) = trained
    a = ModelBundle.load(out).ensemble("photometry")
    b = ModelBundle.load(out).ensemble("photometry")
    outputs = a.member_outputs(x_spec[:10], x_phot[:10])
    assert outputs.shape == (2, 10, 9)
    np.testing.assert_array_equal(outputs, b.member_outputs(x_spec[:10], x_phot[:10]))
    mean, std = a.predict(x_spec[:10], x_phot[:10])
    np.testing.assert_allclose(mean, a.label_norm.inverse(outputs.astype(np.float64).mean(axis=0)), rtol=1e-9)
    assert np.all(std >= 0) and np.all(np.isfinite(mean))


def test_tampered_member_is_refused(trained, tmp_path):
    copy = _copy(trained[0], tmp_path)
    member = copy / "members" / "spectroscopy_001.keras"
    data = bytearray(member.read_bytes())
    data[len(data) // 2] ^= 0xFF
    member.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="spectroscopy_001.keras does not match its checksum"):
        ModelBundle.load(copy)


def test_newer_format_is_refused(trained, tmp_path):
    copy = _copy(trained[0], tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 3
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError) as info:
        ModelBundle.load(copy)
    assert "bundle format 3 is newer than this raveview supports (2); upgrade raveview" in str(info.value)
    assert "\n" not in str(info.value)


def test_not_a_bundle(tmp_path):
    with pytest.raises(ModelError, match="not a model bundle"):
        ModelBundle.load(tmp_path)


def _spectra(ids, x_spec, n):
    return [Spectrum(DEFAULT_GRID.wavelength, x_spec[i], rave_obs_id=ids[i], snr=50.0) for i in range(n)]


def test_spectroscopy_fallback_for_negative_parallax(trained):
    out, (ids, x_spec, phot, _, _) = trained
    bundle = ModelBundle.load(out)
    phot = phot.copy()
    phot.loc[1, "parallax"] = -0.4
    phot = phot.drop(index=2)  # star 2 is missing from the photometry table
    cat = predict_spectra(bundle, _spectra(ids, x_spec, 4), photometry=phot)
    assert list(cat.columns) == list(ALL_COLUMNS)
    assert cat["ensemble"].tolist() == ["photometry", "spectroscopy", "spectroscopy", "photometry"]
    assert cat["photometry_used"].tolist() == [True, False, False, True]
    assert "parallax<=0" in cat.loc[1, "phot_flags"]
    assert cat.loc[2, "phot_flags"] == "not_in_photometry"
    assert cat["rave_obs_id"].tolist() == list(ids[:4])
    # the fallback rows equal the spectroscopy ensemble's own prediction
    mean, std = bundle.ensemble("spectroscopy").predict(x_spec[1:3])
    np.testing.assert_allclose(cat.loc[1:2, "teff"], mean[:, 0], rtol=1e-5)
    np.testing.assert_allclose(cat.loc[1:2, "eteff"], std[:, 0], rtol=1e-4)
    assert cat["masked_fraction"].tolist() == [0.0] * 4


def test_boundary_flags(trained, tmp_path):
    out, (ids, x_spec, _, _, _) = trained
    cat = predict_spectra(ModelBundle.load(out), x_spec[:8])
    lo, hi = ModelBundle.load(out).range_arrays()
    for j, key in enumerate(LABEL_KEYS):
        expected = ((cat[key] < lo[j]) | (cat[key] > hi[j])).astype(int)
        assert cat[f"flag_{key}"].tolist() == expected.tolist()
    copy = _copy(out, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["label_ranges"]["teff"] = [0.0, 1.0]  # nothing can lie inside
    manifest["label_ranges"]["logg"] = [-100.0, 100.0]  # everything lies inside
    (copy / "manifest.json").write_text(json.dumps(manifest))
    cat = predict_spectra(ModelBundle.load(copy), x_spec[:8])
    assert cat["flag_teff"].tolist() == [1] * 8 and cat["flag_logg"].tolist() == [0] * 8
    assert cat["ensemble"].eq("spectroscopy").all() and not cat["photometry_used"].any()


def test_calibrated_errors_are_wider(trained):
    out, (_, x_spec, _, _, _) = trained
    bundle = ModelBundle.load(out)
    raw = predict_spectra(bundle, x_spec[:5])
    cal = predict_spectra(bundle, x_spec[:5], calibrated=True)
    np.testing.assert_allclose(raw["teff"], cal["teff"])
    expected = bundle.ensemble("spectroscopy").calibration.apply(raw[[f"e{k}" for k in LABEL_KEYS]].to_numpy())
    np.testing.assert_allclose(cal[[f"e{k}" for k in LABEL_KEYS]].to_numpy(), expected, rtol=1e-5)


def test_photometry_only_bundle_needs_photometry(trained, tmp_path):
    copy = _copy(trained[0], tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["ensembles"]["spectroscopy"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="needs photometry"):
        predict_spectra(ModelBundle.load(copy), trained[1][1][:2])
    assert isinstance(pd.DataFrame(), pd.DataFrame)
