"""The malformed-input corpus through the CLI: one line naming the file, no traceback, good rows kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from raveview.cli.main import main
from reliability_corpus import BUNDLES, CORPUS, PHOTOMETRY, SPECTRA, good_dr6

from raveview.ml.bundle import demo_bundle_path

needs_demo = pytest.mark.skipif(not (demo_bundle_path() / "manifest.json").is_file(), reason="no demo bundle")


def test_corpus_has_enough_kinds():
    assert len(CORPUS) >= 25 and len({b.name for b in CORPUS}) == len(CORPUS)


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("raveview: error:")]


@pytest.mark.parametrize("bad", SPECTRA, ids=lambda b: b.name)
def test_info_gives_one_line(tmp_path, capsys, bad):
    path = bad.make(tmp_path)
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = _error_lines(err)
    assert len(lines) == 1 and str(path) in lines[0]
    assert re.search(bad.cause, lines[0], re.IGNORECASE), lines[0]


def test_info_goes_on_after_bad_files(tmp_path, capsys):
    bad = [b.make(tmp_path) for b in SPECTRA[:5]]
    good = good_dr6(tmp_path / "good.fits")
    assert main(["info", *map(str, bad), str(good)]) == 1
    out, err = capsys.readouterr()
    assert "GOOD0001" in out and len(_error_lines(err)) == 5


@needs_demo
@pytest.mark.slow
def test_predict_keeps_every_good_row(tmp_path, capsys):
    from raveview.core.catalog import read_catalog

    folder = tmp_path / "in"
    folder.mkdir()
    bad = {}
    for item in SPECTRA:
        sub = folder / item.name
        sub.mkdir()
        bad[item.name] = item.make(sub)
    good = [good_dr6(folder / f"good{i}.fits", f"GOOD{i:04d}", shift=0.3 * i) for i in range(3)]
    out = tmp_path / "cat.fits"
    assert main(["predict", str(folder), "--out", str(out), "--chunk-size", "7"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    frame, provenance = read_catalog(out)
    assert sorted(frame["rave_obs_id"]) == ["GOOD0000", "GOOD0001", "GOOD0002"]
    assert provenance["model_sha256"] and provenance["software"].startswith("raveview")
    log = Path(str(out) + ".errors.txt").read_text()
    for name, path in bad.items():
        line = next((line for line in log.splitlines() if line.startswith(str(path))), None)
        assert line is not None, f"{name} is not in the error log"
        assert "\n" not in line and "Traceback" not in line


@needs_demo
@pytest.mark.slow
@pytest.mark.parametrize("bad", BUNDLES, ids=lambda b: b.name)
def test_predict_with_a_bad_bundle(tmp_path, capsys, bad):
    bundle = bad.make(tmp_path)
    good = good_dr6(tmp_path / "good.fits")
    assert main(["predict", str(good), "--model", str(bundle), "--out", str(tmp_path / "c.csv")]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = _error_lines(err)
    assert lines and str(bundle) in lines[0] and re.search(bad.cause, lines[0], re.IGNORECASE), err


@needs_demo
@pytest.mark.slow
@pytest.mark.parametrize("bad", PHOTOMETRY, ids=lambda b: b.name)
def test_predict_with_bad_photometry(tmp_path, capsys, bad):
    from raveview.core.catalog import read_catalog

    phot = bad.make(tmp_path)
    goods = [good_dr6(tmp_path / f"g{i}.fits", f"GOOD{i + 1:04d}") for i in range(2)]
    out = tmp_path / "c.csv"
    code = main(["predict", *map(str, goods), "--photometry", str(phot), "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code != 0:  # the table as a whole is unusable: one line naming it
        lines = _error_lines(err)
        assert len(lines) == 1 and str(phot) in lines[0], err
    else:  # bad rows: the stars are still parameterized, without photometry
        frame, _ = read_catalog(out)
        assert len(frame) == 2 and frame["teff"].notna().all()
        assert not frame["photometry_used"].any()
