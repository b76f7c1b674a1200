"""Photometry catalogs: column mapping, absolute magnitudes, flags, joins, real published limits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from raveview.core.errors import PhotometryError
from raveview.core.labels import PHOTOMETRIC_INPUTS
from raveview.core.photometry import absolute_magnitudes, join_photometry, read_photometry

GAIA_ID = 6917528997577384320  # 19 digits, above 2**53


def gaia_2mass_wise_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "RAVE_OBS_ID": ["20040403_1042m11_024", "20040403_1042m11_058", "20120101_0000m00_001"],
            "gaia_dr2_source_id": [GAIA_ID, GAIA_ID + 1, GAIA_ID + 2],
            "Parallax": [1.0, -0.3, 0.05],
            "e_parallax": [0.1, 0.05, 0.02],
            "phot_g_mean_mag": [10.0, 11.0, 12.0],
            "phot_bp_mean_mag": [10.5, 11.5, 12.5],
            "phot_rp_mean_mag": [9.5, 10.5, 11.5],
            "j_m": [9.0, 10.0, 11.0],
            "h_m": [8.5, 9.5, 10.5],
            "ks_m": [8.4, 9.4, 10.4],
            "w1mpro": [8.3, 9.3, 10.3],
            "w2mpro": [8.2, 9.3, np.nan],
            "av": [0.2, 0.3, np.nan],
        }
    )


def test_absolute_magnitudes_and_flags(tmp_path):
    path = tmp_path / "phot.csv"
    gaia_2mass_wise_table().to_csv(path, index=False)
    table = read_photometry(path)
    assert list(table.columns) == [
        "rave_obs_id", "source_id", "parallax", "parallax_error",
        "G", "BP", "RP", "J", "H", "Ks", "W1", "W2", "A_V",
    ]
    assert table["source_id"].tolist() == [GAIA_ID, GAIA_ID + 1, GAIA_ID + 2]
    inputs = absolute_magnitudes(table)
    assert inputs.values.shape == (3, 9)
    # parallax 1 mas → distance modulus 10: M = m - 10
    np.testing.assert_allclose(inputs.values[0], [0.0, 0.5, -0.5, -1.0, -1.5, -1.6, -1.7, -1.8, 0.2])
    assert inputs.usable.tolist() == [True, False, False]
    assert inputs.flags[0] == ""
    assert inputs.flags[1] == "parallax<=0,parallax_clipped"
    assert inputs.flags[2] == "missing_band:W2,missing_A_V,parallax_clipped,parallax_error>20%"
    # the published clip: parallax 0.05 → 0.1 mas, modulus 5 (log10(1e-4) + 1) = -15
    assert inputs.values[2, 0] == pytest.approx(12.0 - 15.0)
    assert np.isnan(inputs.values[2, 7]) and np.isnan(inputs.values[2, 8])
    unclipped = absolute_magnitudes(table, clip_parallax=False)
    assert np.all(np.isnan(unclipped.values[1, :8]))
    assert unclipped.values[2, 0] == pytest.approx(12.0 + 5 * (np.log10(0.05e-3) + 1))
    frame = inputs.to_frame()
    assert list(frame.columns[:9]) == list(PHOTOMETRIC_INPUTS)


def test_large_parallax_error_is_flagged_but_usable():
    table = gaia_2mass_wise_table().iloc[:1].copy()
    table["e_parallax"] = 0.25
    inputs = absolute_magnitudes(table)
    assert inputs.usable.tolist() == [True]
    assert inputs.flags == ["parallax_error>20%"]


@pytest.mark.parametrize("suffix", [".fits", ".vot"])
def test_fits_and_votable_catalogs_read_with_exact_ids(tmp_path, suffix):
    frame = gaia_2mass_wise_table().rename(
        columns={"j_m": "Jmag", "h_m": "Hmag", "ks_m": "Ksmag", "w1mpro": "W1mag", "w2mpro": "W2mag",
                 "av": "A_V", "gaia_dr2_source_id": "source_id"}
    )
    path = tmp_path / f"phot{suffix}"
    Table.from_pandas(frame).write(path, format="votable" if suffix == ".vot" else "fits")
    table = read_photometry(path)
    assert table["source_id"].tolist() == [GAIA_ID, GAIA_ID + 1, GAIA_ID + 2]
    assert table["rave_obs_id"].tolist()[0] == "20040403_1042m11_024"
    assert table["Ks"].tolist() == [8.4, 9.4, 10.4]
    assert np.isnan(table["W2"].iloc[2])


def test_sentinels_are_missing_and_negative_parallax_is_per_star(tmp_path):
    frame = gaia_2mass_wise_table()
    frame.loc[0, "j_m"] = -9999.0
    frame.loc[1, "w1mpro"] = 99.99
    inputs = absolute_magnitudes(frame)
    assert "missing_band:J" in inputs.flags[0] and "missing_band:W1" in inputs.flags[1]
    assert not inputs.usable.any()


def test_table_without_magnitudes_raises_naming_file(tmp_path):
    path = tmp_path / "no_mags.csv"
    pd.DataFrame({"source_id": [1, 2], "parallax": [1.0, 2.0]}).to_csv(path, index=False)
    with pytest.raises(PhotometryError, match="no_mags.csv: no magnitude columns found"):
        read_photometry(path)
    with pytest.raises(PhotometryError, match="no such file"):
        read_photometry(tmp_path / "absent.csv")


def test_join_by_rave_id_then_gaia_id():
    phot = read_photometry_frame()
    ids = pd.DataFrame(
        {
            "rave_obs_id": ["20040403_1042m11_058", "unknown_obs", "nobody"],
            "sourceid": [GAIA_ID + 1, GAIA_ID, 42],
        }
    )
    joined = join_photometry(ids, phot)
    assert len(joined) == 3
    assert joined["phot_match"].tolist() == ["rave_obs_id", "source_id", ""]
    assert joined["G"].iloc[0] == 11.0 and joined["G"].iloc[1] == 10.0 and np.isnan(joined["G"].iloc[2])
    assert joined["source_id"].tolist() == [GAIA_ID + 1, GAIA_ID, 42]


def test_photometry_index_joins_chunks_like_the_table():
    # a survey run builds the index once and joins every chunk to it
    from raveview.core.photometry import PhotometryIndex

    phot = read_photometry_frame()
    index = PhotometryIndex(phot)
    assert len(index) == len(phot)
    chunks = [
        pd.DataFrame({"rave_obs_id": ["nobody", "20040403_1042m11_058"], "sourceid": [42, GAIA_ID + 1]}),
        pd.DataFrame({"rave_obs_id": ["unknown_obs"], "sourceid": [GAIA_ID]}),
        pd.DataFrame({"sourceid": [GAIA_ID, None]}),
    ]
    for ids in chunks:
        pd.testing.assert_frame_equal(join_photometry(ids, index), join_photometry(ids, phot))
    joined = join_photometry(chunks[0], index)
    assert joined["phot_match"].tolist() == ["", "rave_obs_id"]
    assert np.isnan(joined["G"].iloc[0]) and joined["G"].iloc[1] == 11.0


def read_photometry_frame() -> pd.DataFrame:
    from raveview.core.photometry import standardise_columns

    return standardise_columns(gaia_2mass_wise_table())


def test_real_training_table_reproduces_published_photometric_limits(guiglion_dir):
    params = guiglion_dir / "data" / "training_sample_parameters.csv"
    labels = guiglion_dir / "data" / "training_sample_labels.csv"
    table = read_photometry(params, ids=labels)
    assert len(table) == 3904
    assert table["rave_obs_id"].iloc[0] == "20040403_1042m11_024"
    assert table.columns.tolist() == [
        "rave_obs_id", "parallax", "G", "BP", "RP", "J", "H", "Ks", "W1", "W2", "A_V",
    ]
    inputs = absolute_magnitudes(table)
    assert inputs.usable.all()
    train_ids = pd.read_csv(guiglion_dir / "output" / "y_train_cnn_version_1_True.csv", dtype={"RAVE_OBS_ID": str})
    rows = table.reset_index().set_index("rave_obs_id").loc[train_ids["RAVE_OBS_ID"], "index"].to_numpy()
    assert rows.size == 3669
    train = inputs.values[rows]
    limits = json.loads((guiglion_dir / "derived_normalization_limits.json").read_text())[
        "photometric_limits_min_max"
    ]
    for k, name in enumerate(PHOTOMETRIC_INPUTS):
        lo, hi = limits[name]
        assert train[:, k].min() == pytest.approx(lo, abs=1e-6), name
        assert train[:, k].max() == pytest.approx(hi, abs=1e-6), name
