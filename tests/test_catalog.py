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
from raveview.core.catalog_stream import write_catalog_chunks
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


# --------------------------------------------------------------------------- streamed writing


def _rows(start: int, n: int, note_width: int = 5) -> pd.DataFrame:
    """Catalog rows with missing values, 19-digit Gaia ids and text of varying width."""
    rng = np.random.default_rng(start)
    index = np.arange(start, start + n)
    ids = pd.array(6_917_528_997_577_384_320 + index, dtype="Int64")
    ids[index % 3 == 0] = pd.NA
    teff = rng.uniform(3500, 7000, n).astype(np.float32)
    teff[index % 4 == 1] = np.nan
    return pd.DataFrame(
        {
            "rave_obs_id": [f"2004{i:04d}_1042m11_{i % 150:03d}" for i in index],
            "sourceid": ids,
            "teff": teff,
            "eteff": rng.uniform(20, 90, n).astype(np.float32),
            "flag_teff": (index % 5 == 0).astype(np.int16),
            "logg": np.where(index % 2 == 0, np.nan, rng.uniform(0.5, 5, n)),
            "snr": rng.uniform(5, 100, n).astype(np.float32),
            "source_file": [f"spectra/night_{i}_Å.fits" for i in index],
            "ensemble": np.where(index % 3 == 0, "spectroscopy", "photometry"),
            "photometry_used": index % 3 != 0,
            "phot_flags": ["" if i % 3 else "missing_band:" + "W2" * note_width for i in index],
            "disagreement": index % 7 == 0,
            "quality_flags": ["low_snr" if i % 6 == 0 else "" for i in index],
            "vetting_note": [f" odd {'?' * (i % 9)} " for i in index],  # beyond the schema: kept after it
        }
    )


def _chunks() -> list[pd.DataFrame]:
    """A few chunks, one empty, the widest text in the last one (the FITS widths must come from all)."""
    return [_rows(0, 7), _rows(7, 0), _rows(7, 1), _rows(8, 11), _rows(19, 5, note_width=40)]


class _Once:
    """Re-iterable chunks whose ``fail_at``-th chunk of pass ``fail_pass`` raises (a journal read failing)."""

    def __init__(self, chunks, fail_pass: int, fail_at: int) -> None:
        self.chunks, self.fail_pass, self.fail_at, self.passes = chunks, fail_pass, fail_at, 0

    def __iter__(self):
        self.passes += 1
        for index, chunk in enumerate(self.chunks):
            if self.passes == self.fail_pass and index == self.fail_at:
                raise OSError("disk went away")
            yield chunk


@pytest.mark.parametrize("suffix", [".fits", ".csv", ".parquet", ".vot", ".ecsv"])
def test_streamed_catalog_equals_in_memory_catalog(tmp_path, suffix):
    chunks = _chunks()
    expected = write_catalog(pd.concat(chunks, ignore_index=True), tmp_path / f"memory{suffix}", provenance=PROVENANCE)
    streamed = write_catalog_chunks(chunks, tmp_path / f"streamed{suffix}", n_rows=24, provenance=PROVENANCE)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([expected.name, streamed.name])
    back, prov = read_catalog(streamed)
    want, want_prov = read_catalog(expected)
    assert prov == want_prov == PROVENANCE
    pd.testing.assert_frame_equal(back, want)
    assert len(back) == 24 and back["sourceid"].iloc[1] == 6_917_528_997_577_384_321
    assert back["sourceid"].isna().sum() == 8 and back["teff"].isna().sum() == 6
    assert back["phot_flags"].str.len().max() == len("missing_band:") + 80
    assert list(back.columns) == [*ALL_COLUMNS, "vetting_note"]
    if suffix in (".fits", ".csv"):
        assert streamed.read_bytes() == expected.read_bytes()


def test_streamed_fits_is_valid_fits(tmp_path):
    from astropy.io import fits

    path = write_catalog_chunks(_chunks(), tmp_path / "s.fits", provenance=PROVENANCE)
    assert path.stat().st_size % 2880 == 0
    with fits.open(path, checksum=True) as hdul:  # checks CHECKSUM/DATASUM if present (none are written)
        hdul.verify("exception")
        assert hdul[1].header["NAXIS2"] == 24 and "CHECKSUM" not in hdul[1].header
        assert hdul[1].data["sourceid"][1] == 6_917_528_997_577_384_321
        assert list(hdul[1].data["photometry_used"][:4]) == [False, True, True, False]


@pytest.mark.parametrize("suffix", [".fits", ".csv", ".parquet"])
def test_streamed_catalog_of_no_rows(tmp_path, suffix):
    expected = write_catalog(pd.DataFrame(), tmp_path / f"memory{suffix}", provenance=PROVENANCE)
    streamed = write_catalog_chunks([_rows(0, 0)], tmp_path / f"streamed{suffix}", n_rows=0, provenance=PROVENANCE)
    back, prov = read_catalog(streamed)
    pd.testing.assert_frame_equal(back, read_catalog(expected)[0])
    assert len(back) == 0 and tuple(back.columns) == ALL_COLUMNS and prov == PROVENANCE


@pytest.mark.parametrize(("suffix", "fail_pass"), [(".fits", 1), (".fits", 2), (".csv", 1), (".parquet", 1)])
def test_failure_mid_stream_leaves_no_partial_file(tmp_path, suffix, fail_pass):
    path = tmp_path / f"results{suffix}"
    with pytest.raises(CatalogError, match="disk went away") as info:
        write_catalog_chunks(_Once(_chunks(), fail_pass, fail_at=3), path, provenance=PROVENANCE)
    assert info.value.path == path
    assert list(tmp_path.iterdir()) == []  # neither the catalog nor its temporary file
    write_catalog(_rows(0, 2), path, provenance={"model_id": "old"})
    with pytest.raises(CatalogError):
        write_catalog_chunks(_Once(_chunks(), fail_pass, fail_at=3), path, provenance=PROVENANCE)
    old, prov = read_catalog(path)
    assert len(old) == 2 and prov == {"model_id": "old"}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_streamed_catalog_checks_rows_columns_and_passes(tmp_path):
    with pytest.raises(CatalogError, match="held 24 rows, not the 25 expected"):
        write_catalog_chunks(_chunks(), tmp_path / "a.csv", n_rows=25)
    other = _rows(30, 2).assign(extra=1.5)
    with pytest.raises(CatalogError, match="chunk 1 has other columns"):
        write_catalog_chunks([_rows(0, 2), other], tmp_path / "b.parquet")
    with pytest.raises(TypeError, match="two passes"):
        write_catalog_chunks(iter(_chunks()), tmp_path / "c.fits")
    assert list(tmp_path.iterdir()) == []
    write_catalog_chunks(iter(_chunks()), tmp_path / "d.csv")  # one pass is enough for CSV
    assert len(read_catalog(tmp_path / "d.csv")[0]) == 24
