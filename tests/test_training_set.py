"""Building a RAVE × APOGEE training set from small survey-like tables written here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from raveview.cli.main import main
from raveview.core.errors import TrainingDataError
from raveview.core.io import expand_inputs, write_rave_dr6
from raveview.pipeline.training_set import APOGEE_LABELS, build_training_set

BASE_ID = 5_983_723_702_088_571_392  # a 19-digit Gaia DR2 id

#: (obs id, Gaia id offset or None, what it fails). Offsets index the APOGEE entries below.
STARS = [
    ("20040403_1042m11_000", 0, None),
    ("20040403_1042m11_001", 1, None),             # spectrum file named otherwise (found by ROI)
    ("20040403_1042m11_002", 99, "cross-match"),   # Gaia id unknown to APOGEE
    ("20040403_1042m11_003", None, "cross-match"), # no Gaia id
    ("20040403_1042m11_004", 4, "labels"),         # NI_FE NaN
    ("20040403_1042m11_005", 5, "labels"),         # AL_FE -9999
    ("20040403_1042m11_006", 6, "apogee snr"),
    ("20040403_1042m11_007", 7, "aspcapflag"),
    ("20040403_1042m11_008", 8, "x_fe_flag"),
    ("20040403_1042m11_009", 9, "rave snr"),
    ("20040403_1042m11_010", 10, "class b"),
    ("20040403_1042m11_011", 11, "class w"),
    ("20040403_1042m11_012", 12, "missing W2"),
    ("20040403_1042m11_013", 13, "negative parallax"),
    ("20040403_1042m11_014", 14, "parallax error 20%"),
    ("20040403_1042m11_015", 15, "no A_V"),
    ("20040403_1042m11_016", 16, "no spectrum"),
    ("20040403_1042m11_017", 17, None),            # duplicate APOGEE entries: the good one is used
    ("20040403_1042m11_018", 18, None),            # photometry matched by Gaia id only
    ("20050101_0000m00_019", 0, None),             # a repeat observation of star 0
]
KEPT = ["20040403_1042m11_000", "20040403_1042m11_001", "20040403_1042m11_017",
        "20040403_1042m11_018", "20050101_0000m00_019"]


def write_inputs(folder):
    spectra = folder / "spectra"
    (spectra / "night1").mkdir(parents=True)
    wave_n = 950
    for obs_id, _, fails in STARS:
        if fails == "no spectrum":
            continue
        name = "renamed_spectrum.fits" if obs_id.endswith("_001") else f"{obs_id}.fits"
        write_rave_dr6(spectra / "night1" / name, np.ones(wave_n), np.full(wave_n, 0.02), 8410.0, 0.4, obs_id)

    rave = pd.DataFrame(
        {
            "rave_obs_id": [s[0] for s in STARS],
            "gaiadr2_source_id": ["" if s[1] is None else str(BASE_ID + s[1]) for s in STARS],
            "snr_med_sparv": [25.0 if s[2] == "rave snr" else 45.0 for s in STARS],
            "flag1_class": [{"class b": "b", "class w": "w"}.get(s[2], "n") for s in STARS],
        }
    )
    rave.to_csv(folder / "rave_dr6.csv", index=False)

    rows = []
    for offset in sorted({s[1] for s in STARS if s[1] is not None and s[1] != 99}):
        fails = next(s[2] for s in STARS if s[1] == offset)
        row = {"GAIA_SOURCE_ID": BASE_ID + offset, "SNR": 50.0 if fails == "apogee snr" else 200.0,
               "ASPCAPFLAG": 1 if fails == "aspcapflag" else 0}
        for k, name in enumerate(APOGEE_LABELS):
            row[name] = 4000.0 + offset if name == "TEFF" else 0.01 * k
        row["NI_FE"] = np.nan if fails == "labels" and offset == 4 else row["NI_FE"]
        row["AL_FE"] = -9999.0 if fails == "labels" and offset == 5 else row["AL_FE"]
        for flag in ("FE_H_FLAG", "SI_FE_FLAG", "MG_FE_FLAG", "AL_FE_FLAG", "NI_FE_FLAG"):
            row[flag] = 0
        row["MG_FE_FLAG"] = 64 if fails == "x_fe_flag" else 0
        rows.append(row)
        if offset == 17:  # a higher-S/N duplicate that fails ASPCAPFLAG, listed first
            rows.insert(len(rows) - 1, {**row, "SNR": 500.0, "ASPCAPFLAG": 8, "TEFF": 9999.0})
    apogee = Table(rows=[[r[k] for k in rows[0]] for r in rows], names=list(rows[0]))
    apogee["PARAM"] = np.zeros((len(apogee), 7))  # a 2-D column, as in allStar
    apogee.write(folder / "allStar.fits")

    phot = []
    for obs_id, offset, fails in STARS:
        if offset is None or obs_id.endswith("_019"):
            continue  # the repeat is matched by Gaia id to star 0's row
        phot.append(
            {
                "rave_obs_id": "other_obs_id" if obs_id.endswith("_018") else obs_id,
                "source_id": str(BASE_ID + offset),
                "parallax": -0.5 if fails == "negative parallax" else 2.0,
                "parallax_error": 0.4 if fails == "parallax error 20%" else 0.1,
                "phot_g_mean_mag": 11.0, "phot_bp_mean_mag": 11.5, "phot_rp_mean_mag": 10.5,
                "j_m": 10.0, "h_m": 9.6, "ks_m": 9.5, "w1mpro": 9.4,
                "w2mpro": np.nan if fails == "missing W2" else 9.45,
                "av50": np.nan if fails == "no A_V" else 0.3,
            }
        )
    pd.DataFrame(phot).to_csv(folder / "photometry.csv", index=False)
    return spectra


def run_build(folder, **kwargs):
    spectra = write_inputs(folder)
    steps = build_training_set(spectra, folder / "rave_dr6.csv", folder / "allStar.fits",
                               folder / "photometry.csv", folder / "out", **kwargs)
    progress = []
    try:
        while True:
            progress.append(next(steps))
    except StopIteration as stop:
        return stop.value, progress


def test_cuts_remove_the_right_stars(tmp_path):
    result, progress = run_build(tmp_path)
    assert progress and progress[-1].done == progress[-1].total
    counts = [(removed, remaining) for _, removed, remaining in result.cuts]
    names = [name for name, _, _ in result.cuts]
    assert names[0] == "RAVE DR6 observations" and names[1].startswith("cross-match")
    assert counts == [(0, 20), (2, 18), (2, 16), (1, 15), (1, 14), (1, 13), (1, 12), (2, 10), (2, 8),
                      (1, 7), (1, 6), (1, 5)]
    assert result.n_stars == 5

    labels = pd.read_csv(tmp_path / "out" / "labels.csv", dtype={"source_id": str})
    assert labels.columns.tolist() == ["rave_obs_id", "source_id", "TEFF", "LOGG", "M_H", "FE_H", "ALPHA_M",
                                       "SI_FE", "MG_FE", "AL_FE", "NI_FE"]
    assert labels["rave_obs_id"].tolist() == KEPT
    assert labels["source_id"].tolist() == [str(BASE_ID + k) for k in (0, 1, 17, 18, 0)]
    assert labels["TEFF"].tolist() == [4000.0, 4001.0, 4017.0, 4018.0, 4000.0]  # not the 9999 duplicate

    phot = pd.read_csv(tmp_path / "out" / "photometry.csv")
    assert phot["rave_obs_id"].tolist() == KEPT
    assert phot.columns.tolist()[2:] == ["parallax", "parallax_error", "G", "BP", "RP", "J", "H", "Ks",
                                         "W1", "W2", "A_V"]
    assert phot["W2"].tolist() == [9.45] * 5

    listed = expand_inputs([tmp_path / "out" / "spectra.txt"])
    assert [p.name for p in listed] == [
        "20040403_1042m11_000.fits", "renamed_spectrum.fits", "20040403_1042m11_017.fits",
        "20040403_1042m11_018.fits", "20050101_0000m00_019.fits",
    ]
    assert all(p.is_file() for p in listed)
    cuts = pd.read_csv(tmp_path / "out" / "cuts.csv")
    assert cuts["remaining"].tolist()[-1] == 5 and cuts["removed"].sum() == 15


def test_looser_cuts_keep_more(tmp_path):
    from raveview.pipeline.training_set import Cuts

    result, _ = run_build(tmp_path, cuts=Cuts(min_rave_snr=20.0, max_parallax_error=None, bad_classes=("c",)))
    assert result.n_stars == 9  # + rave snr 25, class b, class w, parallax error 20 %
    assert not any(name.startswith("parallax error") for name, _, _ in result.cuts)


def test_missing_apogee_column_names_the_file(tmp_path):
    spectra = write_inputs(tmp_path)
    table = Table.read(tmp_path / "allStar.fits")
    table.remove_column("ASPCAPFLAG")
    table.write(tmp_path / "allStar_bad.fits")
    with pytest.raises(TrainingDataError, match=r"allStar_bad.fits: APOGEE table lacks column\(s\) ASPCAPFLAG"):
        list(build_training_set(spectra, tmp_path / "rave_dr6.csv", tmp_path / "allStar_bad.fits",
                                tmp_path / "photometry.csv", tmp_path / "out"))


def test_cli_prints_the_cut_table(tmp_path, capsys):
    spectra = write_inputs(tmp_path)
    argv = ["training-set", "build", "--spectra", str(spectra), "--rave", str(tmp_path / "rave_dr6.csv"),
            "--apogee", str(tmp_path / "allStar.fits"), "--photometry", str(tmp_path / "photometry.csv"),
            "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "APOGEE: ASPCAPFLAG = 0" in out and "wrote 5 stars" in out
    assert main(argv[:-4] + ["--photometry", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "o2")]) == 1
    assert "absent.csv: no such file" in capsys.readouterr().err
