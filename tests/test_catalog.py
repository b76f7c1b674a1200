"""The results catalog: schema, writers and readers in every format, provenance, atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raveview.core.catalog import (
    COLUMN_TYPES,
    catalog_from_records,
    default_provenance,
    empty_catalog,
    read_catalog,
    write_catalog,
)
from raveview.core.catalog_schema import ALL_COLUMNS, TABLE1_COLUMNS
from raveview.core.errors import CatalogError

BIG_IDS = [6917528997577384320, 4611686018427387905, 1234567890123456789]
PROVENANCE = {
    "model_id": "guiglion2020-v1",
    "model_sha256": "9f" * 32,
    "software": "raveview 0.1.0",
    "date": "2024-05-01T12:00:00Z",
    "input": "3 spectra from a test folder, photometry phot.csv",
}


def sample_catalog() -> pd.DataFrame:
    return catalog_from_records(
        [
            {
                "rave_obs_id": "20040403_1042m11_024", "sourceid": BIG_IDS[0], "teff": 4873.01,
                "eteff": 55.5, "flag_teff": 0, "logg": 2.487, "elogg": 0.1, "mh": -0.107,
                "feh": -0.121, "alpham": 0.0039, "sife": 0.029, "mgfe": -0.0107, "alfe": 0.0465,
                "nife": -0.0033, "flag_alfe": 1, "snr": 48.2, "source_file": "spec/a_Å.fits",
                "model_id": "guiglion2020-v1", "ensemble": "photometry", "photometry_used": True,
                "phot_flags": "", "masked_fraction": 0.0, "disagreement": False,
                "quality_flags": "teff_boundary,low_snr",
            },
            {
                "rave_obs_id": "20110825_1904m20_099", "sourceid": BIG_IDS[1], "teff": 5000.0,
                "ensemble": "spectroscopy", "phot_flags": "missing_band:W2,parallax<=0",
                "masked_fraction": 0.125, "disagreement": True,
            },
            {"rave_obs_id": "", "sourceid": None, "snr": np.nan},
            {"rave_obs_id": "20050331_1101m01_054", "sourceid": BIG_IDS[2], "teff": 6000.25},
        ]
    )


def test_schema_columns_and_types():
    empty = empty_catalog()
    assert tuple(empty.columns) == ALL_COLUMNS
    assert tuple(empty.columns[: len(TABLE1_COLUMNS)])[:5] == ("rave_obs_id", "sourceid", "teff", "eteff", "flag_teff")
    assert len(TABLE1_COLUMNS) == 30
    cat = sample_catalog()
    assert str(cat["sourceid"].dtype) == "Int64"
    assert cat["teff"].dtype == np.float32 and cat["flag_teff"].dtype == np.int16
    assert cat["photometry_used"].dtype == bool
    assert cat["sourceid"].tolist()[:2] == BIG_IDS[:2] and cat["sourceid"].isna().tolist()[2]
    assert cat["flag_alfe"].tolist() == [1, 0, 0, 0]
    assert np.isnan(cat["logg"].iloc[1])
    assert cat["rave_obs_id"].iloc[2] == ""


@pytest.mark.parametrize("suffix", [".fits", ".vot", ".ecsv", ".csv", ".parquet"])
def test_round_trip_every_format(tmp_path, suffix):
    cat = sample_catalog()
    cat["extra_note"] = ["a", "b", "c", "d"]  # columns beyond the schema follow it
    path = write_catalog(cat, tmp_path / f"results{suffix}", provenance=PROVENANCE)
    assert path.exists()
    assert [p.name for p in tmp_path.iterdir()] == [f"results{suffix}"]  # no temp file left behind
    back, prov = read_catalog(path)
    assert prov == PROVENANCE
    assert tuple(back.columns[: len(ALL_COLUMNS)]) == ALL_COLUMNS
    assert back["extra_note"].astype(str).tolist() == ["a", "b", "c", "d"]
    for name, dtype in COLUMN_TYPES.items():
        assert str(back[name].dtype) == str(cat[name].dtype), name
        if dtype == "float32":
            np.testing.assert_array_equal(back[name].to_numpy(), cat[name].to_numpy(), err_msg=name)
        else:
            assert back[name].tolist() == cat[name].tolist() or (
                back[name].isna().tolist() == cat[name].isna().tolist()
                and back[name].dropna().tolist() == cat[name].dropna().tolist()
            ), name
    assert back["sourceid"].iloc[0] == 6917528997577384320


def test_fits_has_units_and_provenance_cards(tmp_path):
    from astropy.io import fits

    path = write_catalog(sample_catalog(), tmp_path / "results.fits", provenance=PROVENANCE)
    header = fits.getheader(path, 1)
    assert header["XTENSION"] == "BINTABLE"
    names = [header[f"TTYPE{i}"] for i in range(1, header["TFIELDS"] + 1)]
    assert names == list(ALL_COLUMNS)
    assert header[f"TUNIT{names.index('teff') + 1}"] == "K"
    assert header[f"TUNIT{names.index('elogg') + 1}"] == "dex"
    assert header["PROV MODEL_SHA256"] == "9f" * 32
    assert any("provenance" in str(c) for c in header["COMMENT"])


def test_votable_is_version_1_4_with_infos(tmp_path):
    path = write_catalog(sample_catalog(), tmp_path / "results.vot", provenance=PROVENANCE)
    text = path.read_text()
    assert 'VOTABLE version="1.4"' in text
    assert '<INFO ID="model_id" name="model_id" value="guiglion2020-v1"/>' in text
    assert 'name="teff"' in text and 'unit="K"' in text


def test_csv_has_comment_header_and_reads_in_pandas(tmp_path):
    path = write_catalog(sample_catalog(), tmp_path / "results.csv", provenance=PROVENANCE)
    lines = path.read_text().splitlines()
    assert lines[0] == "# model_id: guiglion2020-v1"
    plain = pd.read_csv(path, comment="#", dtype={"sourceid": str})
    assert plain["sourceid"].iloc[0] == "6917528997577384320"


def test_format_argument_and_errors(tmp_path):
    path = write_catalog(sample_catalog(), tmp_path / "results.dat", format="parquet")
    back, prov = read_catalog(path, format="parquet")
    assert len(back) == 4 and prov == {}
    with pytest.raises(CatalogError, match="unknown catalog format"):
        write_catalog(sample_catalog(), tmp_path / "results.xyz")
    with pytest.raises(CatalogError, match="no such file"):
        read_catalog(tmp_path / "absent.fits")
    with pytest.raises(CatalogError, match="folder does not exist"):
        write_catalog(sample_catalog(), tmp_path / "nowhere" / "r.fits")
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"not a fits file at all" * 10)
    with pytest.raises(CatalogError, match="broken.fits: cannot read as fits"):
        read_catalog(broken)


def test_failed_write_leaves_old_file_untouched(tmp_path):
    path = tmp_path / "results.csv"
    write_catalog(sample_catalog(), path, provenance={"model_id": "old"})
    bad = sample_catalog()
    bad["teff"] = bad["teff"].astype(object)
    bad.loc[0, "teff"] = object()  # cannot become float32 → error before any byte is written
    bad["sourceid"] = ["x", "y", "z", "w"]
    with pytest.raises(CatalogError, match="sourceid"):
        write_catalog(bad, path, provenance={"model_id": "new"})
    assert read_catalog(path)[1] == {"model_id": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_default_provenance_and_key_cleaning():
    prov = default_provenance(**{"Model ID": "m1", "input": "a\nb"})
    assert prov["model_id"] == "m1" and prov["input"] == "a b"
    assert prov["software"].startswith("raveview ") and prov["date"].endswith("Z")
