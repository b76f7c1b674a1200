"""The mock population resembles the real RAVE DR6 x APOGEE DR16 training sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raveview.mock import simulate_survey
from raveview.mock.photometry import BAND_COLUMNS


@pytest.fixture(scope="module")
def mock():
    # labels and photometry only matter here; a small matrix survey is quick
    return simulate_survey(3000, seed=11, layout="matrix")


def _absolute(mag: np.ndarray, parallax: np.ndarray) -> np.ndarray:
    return mag + 5.0 * (np.log10(np.clip(parallax, 0.1, None) / 1000.0) + 1.0)


def test_kiel_and_abundance_coverage(mock, guiglion_dir):
    real = pd.read_csv(guiglion_dir / "data" / "training_sample_labels.csv")
    stars = mock.labels.drop_duplicates("source_id")
    giants_real = (real["logg"] < 3.5).mean()
    giants_mock = (stars["LOGG"] < 3.5).mean()
    assert abs(giants_real - giants_mock) < 0.12
    for real_col, mock_col, tol in (("Teff", "TEFF", 250.0), ("logg", "LOGG", 0.35), ("MH", "M_H", 0.12),
                                    ("alphaM", "ALPHA_M", 0.05), ("MgFe", "MG_FE", 0.07)):
        rq = np.percentile(real[real_col], [10, 50, 90])
        mq = np.percentile(stars[mock_col], [10, 50, 90])
        assert np.all(np.abs(rq - mq) < tol), (real_col, rq, mq)
    # red clump: a dense clump near (4750 K, 2.45) in both
    def clump(t, g):
        return ((t > 4500) & (t < 5100) & (g > 2.2) & (g < 2.7)).mean()
    assert abs(clump(real["Teff"], real["logg"]) - clump(stars["TEFF"], stars["LOGG"])) < 0.12
    # two α sequences: metal-poor stars are α-enhanced
    poor = stars["M_H"] < -0.8
    assert stars.loc[poor, "ALPHA_M"].median() > 0.2 > stars.loc[~poor, "ALPHA_M"].median()


def test_absolute_magnitude_ranges(mock, guiglion_dir):
    params = pd.read_csv(guiglion_dir / "data" / "training_sample_parameters.csv", skipinitialspace=True)
    real_cols = ["phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag", "Jmag_2MASS", "Hmag_2MASS",
                 "Kmag_2MASS", "wise1", "wise2"]
    phot = mock.photometry
    for band, real_col in zip(BAND_COLUMNS, real_cols):
        real_m = _absolute(params[real_col].to_numpy(), params["parallax"].to_numpy())
        mock_m = _absolute(phot[BAND_COLUMNS[band]].to_numpy(), phot["parallax"].to_numpy())
        rq, mq = np.percentile(real_m, [2, 50, 98]), np.percentile(mock_m, [2, 50, 98])
        assert np.all(np.abs(rq - mq) < 1.2), (band, rq, mq)
    assert abs(np.median(phot["phot_g_mean_mag"]) - np.median(params["phot_g_mean_mag"])) < 0.4
    assert abs(np.median(phot["av50"]) - np.median(params["av50"])) < 0.15
