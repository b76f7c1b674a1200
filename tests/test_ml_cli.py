"""``raveview train`` → bundle → ``raveview model show`` → ``raveview predict``, end to end."""

import numpy as np
import pytest
from ml_helpers import labels_frame, synthetic_set

from raveview.cli.main import main
from raveview.core.catalog import read_catalog
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io import write_matrix
from raveview.core.io.rave_dr6 import write_rave_dr6
from raveview.ml.bundle import ModelBundle


@pytest.mark.slow
def test_train_show_predict(tmp_path, capsys):
    ids, x_spec, phot, _, y = synthetic_set(90, seed=2)
    phot.loc[5, "parallax"] = -1.0  # unusable photometry: dropped from training, fallback at prediction
    write_matrix(tmp_path / "spectra.fits", DEFAULT_GRID.wavelength, x_spec, ids={"rave_obs_id": list(ids)})
    labels_frame(ids, y).to_csv(tmp_path / "labels.csv", index=False)
    phot.to_csv(tmp_path / "photometry.csv", index=False)
    bundle_dir = tmp_path / "bundle"
    args = ["train", "--spectra", str(tmp_path / "spectra.fits"), "--labels", str(tmp_path / "labels.csv"),
            "--photometry", str(tmp_path / "photometry.csv"), "--out", str(bundle_dir), "--both",
            "--members", "3", "--max-epochs", "2"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "training on the 89 stars with usable photometry" in out.err
    assert "photometry: 2/3 members kept" in out.out
    bundle = ModelBundle.load(bundle_dir)
    assert bundle.kinds == ("photometry", "spectroscopy")
    assert bundle.manifest["training_data"]["n_stars"] == 89

    assert main(["model", "show", str(bundle_dir)]) == 0
    shown = capsys.readouterr().out
    assert "checksums:   OK (6 member files)" in shown and "spectroscopy ensemble: 2 of 3 members kept" in shown

    # re-running the same command resumes: nothing is retrained
    assert main(args) == 0
    assert "photometry: 3 members already trained, kept" in capsys.readouterr().err
    resumed = ModelBundle.load(bundle_dir)
    assert resumed.id == bundle.id  # same members, same content id

    spectra = tmp_path / "dr6"
    spectra.mkdir()
    wave = np.arange(8410.0, 8795.0, 0.39)
    for i in range(4, 8):
        flux = np.interp(wave, DEFAULT_GRID.wavelength, x_spec[i])
        write_rave_dr6(spectra / f"RAVE_{ids[i]}.fits", flux, np.full(wave.size, 0.01), wave[0], 0.39, ids[i])
    (spectra / "broken.fits").write_bytes(b"not a fits file")
    catalog = tmp_path / "catalog.csv"
    code = main(["predict", str(spectra), "--photometry", str(tmp_path / "photometry.csv"),
                 "--model", str(bundle_dir), "--out", str(catalog)])
    captured = capsys.readouterr()
    assert code == 1 and "broken.fits" in captured.err  # a bad file is reported, the others go on
    cat, provenance = read_catalog(catalog)
    cat = cat.set_index("rave_obs_id")
    assert sorted(cat.index) == sorted(ids[4:8])
    assert cat.loc[ids[5], "ensemble"] == "spectroscopy" and "parallax<=0" in cat.loc[ids[5], "phot_flags"]
    assert cat.loc[ids[4], "ensemble"] == "photometry" and bool(cat.loc[ids[4], "photometry_used"])
    assert (cat["model_id"] == bundle.id).all()
    assert provenance["model_sha256"] == resumed.sha256
    assert np.isfinite(cat["teff"]).all()


@pytest.mark.slow
def test_train_on_a_local_dask_cluster_writes_the_members_of_one_process(tmp_path, capsys):
    import keras

    ids, x_spec, phot, _, y = synthetic_set(60, seed=4)
    write_matrix(tmp_path / "spectra.fits", DEFAULT_GRID.wavelength, x_spec, ids={"rave_obs_id": list(ids)})
    labels_frame(ids, y).to_csv(tmp_path / "labels.csv", index=False)
    phot.to_csv(tmp_path / "photometry.csv", index=False)
    common = ["train", "--spectra", str(tmp_path / "spectra.fits"), "--labels", str(tmp_path / "labels.csv"),
              "--photometry", str(tmp_path / "photometry.csv"), "--members", "4", "--max-epochs", "3"]
    assert main(common + ["--out", str(tmp_path / "here")]) == 0
    assert main(common + ["--out", str(tmp_path / "cluster"), "--workers", "2"]) == 0
    assert "4 of 4 members running (2 groups)" in capsys.readouterr().err
    here, cluster = ModelBundle.load(tmp_path / "here"), ModelBundle.load(tmp_path / "cluster")
    for a, b in zip(here.manifest["ensembles"]["photometry"]["members"],
                    cluster.manifest["ensembles"]["photometry"]["members"]):
        assert a["seed"] == b["seed"] and a["epochs"] == b["epochs"]
        wa = keras.models.load_model(tmp_path / "here" / a["file"], compile=False).get_weights()
        wb = keras.models.load_model(tmp_path / "cluster" / b["file"], compile=False).get_weights()
        for x, z in zip(wa, wb):
            np.testing.assert_allclose(x, z, atol=1e-5)
