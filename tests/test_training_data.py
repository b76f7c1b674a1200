"""Reading a training set: matching spectra, labels and photometry, and the paper's parallax cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raveview.core.progress import run_to_end
from raveview.mock import simulate_survey, write_survey
from raveview.ml.training_data import TRAINING_MAX_PARALLAX_ERROR, load_training_set


@pytest.fixture(scope="module")
def mock_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    survey = simulate_survey(40, seed=11, snr_range=(40.0, 80.0), layout="matrix")
    written = write_survey(survey, folder)
    labels = survey.labels.drop_duplicates("rave_obs_id")
    photometry = pd.read_csv(written["photometry"], dtype={"source_id": str})
    return folder, written, labels, photometry


def _load(folder, written, photometry_path, **kwargs):
    return run_to_end(load_training_set(written["spectra"], written["labels"], photometry_path, **kwargs))


def test_parallax_error_cut_marks_noisy_stars_unusable(mock_set, tmp_path):
    folder, written, labels, photometry = mock_set
    noisy_ids = photometry["rave_obs_id"].iloc[:5].tolist()
    photometry = photometry.copy()
    noisy = photometry["rave_obs_id"].isin(noisy_ids)
    photometry.loc[noisy, "parallax_error"] = photometry.loc[noisy, "parallax"] * 0.3
    photometry.loc[~noisy, "parallax_error"] = photometry.loc[~noisy, "parallax"] * 0.05
    path = tmp_path / "photometry.csv"
    photometry.to_csv(path, index=False)

    cut = _load(folder, written, path)
    assert TRAINING_MAX_PARALLAX_ERROR == 0.15
    unusable = set(cut.ids[~cut.phot_usable])
    assert unusable == set(noisy_ids)
    assert any("parallax error of 15%" in note for note in cut.notes)

    loose = _load(folder, written, path, max_parallax_error=0.35)
    assert loose.phot_usable.all()
    assert np.isfinite(loose.x_phot).all()
    np.testing.assert_array_equal(loose.x_phot, cut.x_phot)   # the cut hides nothing else


def test_without_parallax_errors_the_cut_is_skipped_with_a_note(mock_set, tmp_path):
    folder, written, labels, photometry = mock_set
    path = tmp_path / "photometry_no_errors.csv"
    photometry.drop(columns=["parallax_error"]).to_csv(path, index=False)
    data = _load(folder, written, path)
    assert data.phot_usable.all()
    assert any("no parallax_error column" in note for note in data.notes)
