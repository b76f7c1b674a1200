"""The mock survey: reproducibility, repeats, exotic stars, files on disk, the CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from raveview.core.progress import Progress
from raveview.mock import EXOTIC_CLASSES, iter_simulate_survey, model_spectrum, simulate_survey, write_survey

OBS_ID = re.compile(r"^\d{8}_\d{4}[mp]\d{2}_\d{3}$")


@pytest.fixture(scope="module")
def survey():
    return simulate_survey(400, seed=7, snr_range=(20, 120), exotic_fraction=0.3, layout="matrix")


def test_same_seed_same_survey_other_seed_other_survey(survey):
    again = simulate_survey(400, seed=7, snr_range=(20, 120), exotic_fraction=0.3, layout="matrix")
    np.testing.assert_array_equal(again.flux, survey.flux)
    pd.testing.assert_frame_equal(again.labels, survey.labels)
    other = simulate_survey(400, seed=8, snr_range=(20, 120), exotic_fraction=0.3, layout="matrix")
    assert not np.allclose(other.flux, survey.flux)


def test_tables_ids_and_repeats(survey):
    labels, phot = survey.labels, survey.photometry
    assert len(labels) == len(phot) == 400 and survey.flux.shape == (400, 912)
    assert labels["rave_obs_id"].is_unique and labels["rave_obs_id"].map(OBS_ID.match).all()
    assert (labels["rave_obs_id"] == phot["rave_obs_id"]).all()
    for col in ("TEFF", "LOGG", "M_H", "FE_H", "ALPHA_M", "SI_FE", "MG_FE", "AL_FE", "NI_FE", "TEFF_ERR", "SNR"):
        assert col in labels
    for col in ("phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag", "j_m", "h_m", "ks_m", "w1mpro",
                "w2mpro", "parallax", "parallax_error", "av50"):
        assert col in phot and phot[col].notna().all()
    assert labels["SNR"].between(20, 120).all()
    counts = labels["source_id"].value_counts()
    n_stars = counts.size
    repeated = counts[counts > 1]
    assert 0.08 < repeated.size / n_stars < 0.35 and repeated.max() <= 6
    sid = repeated.index[0]
    rows = np.flatnonzero(labels["source_id"].to_numpy() == sid)
    assert labels.iloc[rows]["TEFF"].nunique() == 1
    assert phot.iloc[rows]["phot_g_mean_mag"].nunique() == 1
    assert not np.allclose(survey.flux[rows[0]], survey.flux[rows[1]])  # independent noise


def test_noise_level_follows_snr():
    s = simulate_survey(60, seed=3, snr_range=(30, 30), layout="matrix")
    model = model_spectrum(s.labels)
    resid = s.flux - model
    # continuum residuals are smooth; the pixel-to-pixel scatter measures the noise
    scatter = np.std(np.diff(resid, axis=1), axis=1) / np.sqrt(2)
    assert 0.85 / 30 < np.median(scatter) < 1.15 / 30
    np.testing.assert_allclose(np.median(s.rel_error[:, 700:760]), 1 / 30, rtol=0.2)


def test_exotic_classes(survey):
    labels = survey.labels
    classes = set(labels["EXOTIC_CLASS"])
    assert "normal" in classes and len(classes & set(EXOTIC_CLASSES)) >= 5
    hot = labels["EXOTIC_CLASS"] == "hot"
    assert (labels.loc[hot, "TEFF"] >= 8000).all()
    cosmic = (labels["EXOTIC_CLASS"] == "cosmic").to_numpy()
    normal = (labels["EXOTIC_CLASS"] == "normal").to_numpy()
    assert survey.flux[cosmic].max(axis=1).min() > 1.3
    assert np.median(survey.flux[normal].max(axis=1)) < 1.15


def test_iter_yields_progress_and_returns_survey():
    gen = iter_simulate_survey(30, seed=1)
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            result = stop.value
            break
    assert all(isinstance(p, Progress) for p in steps) and steps[-1].done == 30
    assert result.layout == "dr6" and len(result.flux) == 30
    wave = result.wavelength(0)
    assert 8405 < wave[0] < 8415 and 8790 < wave[-1] < 8800 and abs(np.diff(wave).mean() - 0.39) < 0.01


def test_write_and_read_back_dr6_and_matrix(tmp_path):
    from raveview.core.io import read_spectrum
    from raveview.core.io.matrix import read_matrix

    s = simulate_survey(12, seed=5, exotic_fraction=0.5)
    paths = write_survey(s, tmp_path / "dr6")
    files = sorted(paths["spectra"].glob("RAVE_*.fits"))
    assert len(files) == 12
    spec = read_spectrum(paths["spectra"] / f"RAVE_{s.labels['rave_obs_id'][0]}.fits")
    assert spec.rave_obs_id == s.labels["rave_obs_id"][0]
    assert spec.source_id == s.labels["source_id"][0]
    assert spec.meta["MOCK"] is True and spec.meta["SIMCLASS"] == s.labels["EXOTIC_CLASS"][0]
    np.testing.assert_allclose(spec.flux, s.flux[0], rtol=1e-6)
    np.testing.assert_allclose(spec.wavelength, s.wavelength(0), atol=1e-6)
    labels = pd.read_csv(paths["labels"])
    phot = pd.read_csv(paths["photometry"])
    assert list(labels["rave_obs_id"]) == list(s.labels["rave_obs_id"]) and len(phot) == 12

    m = simulate_survey(15, seed=5, layout="matrix")
    paths = write_survey(m, tmp_path / "matrix")
    back = read_matrix(paths["spectra"])
    assert back.flux.shape == (15, 912)
    np.testing.assert_allclose(back.flux, m.flux, rtol=1e-6)
    assert list(back.rave_obs_id) == list(m.labels["rave_obs_id"])


def test_cli_simulate(tmp_path, capsys):
    from raveview.cli.main import main

    out = tmp_path / "mock"
    assert main(["simulate", "--n", "8", "--seed", "2", "--out", str(out), "--format", "matrix",
                 "--snr", "30", "60", "--exotic-fraction", "0.2"]) == 0
    assert (out / "spectra.fits").is_file() and (out / "labels.csv").is_file() and (out / "photometry.csv").is_file()
    assert pd.read_csv(out / "labels.csv")["SNR"].between(30, 60).all()
    assert main(["simulate", "--n", "0", "--out", str(out)]) == 2
