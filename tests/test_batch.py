"""Survey-scale batch prediction: streaming, journal, SIGKILL + resume, Dask, bad inputs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ml_helpers import synthetic_set

from raveview.cli.main import main
from raveview.core.catalog import read_catalog, write_catalog
from raveview.core.errors import CatalogError
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io.rave_dr6 import write_rave_dr6
from raveview.ml.settings import TrainingSettings
from raveview.ml.training import train_ensemble
from raveview.pipeline.batch import BatchConfig, error_log_path, journal_path, run_batch
from raveview.pipeline.journal import Journal

N_GOOD = 48
BAD = {
    "empty.fits": b"",
    "garbage.fits": b"\x00\x01 not a FITS file at all" * 40,
    "offgrid.csv": b"wavelength,flux\n" + b"".join(f"{5000 + i},1.0\n".encode() for i in range(50)),
}


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A tiny trained bundle (both ensembles), DR6 files with some bad ones, and photometry."""
    root = tmp_path_factory.mktemp("batch")
    ids, x_spec, phot, x_phot, y = synthetic_set(N_GOOD + 40, seed=5)
    settings = TrainingSettings(members=2, max_epochs=1, patience=1)
    for _ in train_ensemble(x_spec[40:], x_phot[40:], y[40:], ("teff", "logg", "mh", "feh", "alpham",
                            "sife", "alfe", "mgfe", "nife"), settings, root / "bundle",
                            variants=("photometry", "spectroscopy"), name="batch-test", trained_on="test data"):
        pass
    spectra = root / "spectra" / "night1"
    spectra.mkdir(parents=True)
    wave = np.arange(8410.0, 8795.0, 0.39)
    for i in range(N_GOOD):
        flux = np.interp(wave, DEFAULT_GRID.wavelength, x_spec[i])
        write_rave_dr6(spectra / f"RAVE_{ids[i]}.fits", flux, np.full(wave.size, 0.02), wave[0], 0.39, ids[i],
                       {"SNR": 50.0})
    for name, data in BAD.items():
        (spectra / name).write_bytes(data)
    phot.loc[3, "parallax"] = -0.5  # this star falls back to the spectroscopy-only ensemble
    phot.to_csv(root / "photometry.csv", index=False)
    return root, list(ids[:N_GOOD])


def _config(root: Path, out: Path, **kw) -> BatchConfig:
    return BatchConfig(inputs=(str(root / "spectra"),), out=out, model=root / "bundle",
                       photometry=root / "photometry.csv", chunk_size=8, **kw)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("rave_obs_id").reset_index(drop=True)


def _run(config: BatchConfig):
    steps = list(run_batch(config))
    return steps[-1].payload


def test_batch_writes_catalog_and_error_log(survey, tmp_path):
    root, ids = survey
    out = tmp_path / "catalog.fits"
    summary = _run(_config(root, out))
    assert summary.n_rows == N_GOOD and summary.n_failed == len(BAD)
    catalog, provenance = read_catalog(out)
    assert sorted(catalog["rave_obs_id"]) == sorted(ids)
    assert provenance["model_name"] == "batch-test" and "model_sha256" in provenance
    row = catalog.set_index("rave_obs_id").loc[ids[3]]
    assert row["ensemble"] == "spectroscopy" and "parallax<=0" in row["phot_flags"]
    assert (catalog["ensemble"] == "photometry").sum() == N_GOOD - 1
    log = error_log_path(out).read_text().splitlines()
    assert sorted(Path(line.split("\t")[0]).name for line in log) == sorted(BAD)
    assert all("\t" in line and len(line.split("\t")[1]) > 10 for line in log)
    assert journal_path(out).exists()


def test_existing_journal_needs_resume(survey, tmp_path):
    root, _ = survey
    out = tmp_path / "c.csv"
    _run(_config(root, out))
    from raveview.core.errors import RaveviewError

    with pytest.raises(RaveviewError, match="--resume"):
        _run(_config(root, out))
    summary = _run(_config(root, out, resume=True))  # nothing left to do, catalog rewritten
    assert summary.n_rows == N_GOOD


def test_cli_exit_code_and_messages(survey, tmp_path, capsys):
    root, _ = survey
    out = tmp_path / "cat.parquet"
    code = main(["predict", str(root / "spectra"), "--model", str(root / "bundle"), "--out", str(out),
                 "--photometry", str(root / "photometry.csv"), "--chunk-size", "16"])
    captured = capsys.readouterr()
    assert code == 1
    assert "garbage.fits" in captured.err and "Traceback" not in captured.err
    assert f"wrote {N_GOOD} stars" in captured.out



def test_streamed_export_equals_the_in_memory_catalog(survey, tmp_path):
    root, _ = survey
    out = tmp_path / "catalog.fits"
    summary = _run(_config(root, out))
    _, provenance = read_catalog(out)
    with Journal(journal_path(out)) as journal:
        assert journal.n_rows() == summary.n_rows == N_GOOD
        frame = journal.results().sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)
    reference = write_catalog(frame, tmp_path / "reference.fits", provenance=provenance)
    assert out.read_bytes() == reference.read_bytes()


def test_failed_export_keeps_the_journal_and_the_previous_catalog(survey, tmp_path):
    root, _ = survey
    out = tmp_path / "catalog.csv"
    _run(_config(root, out))
    before = out.read_bytes()
    with Journal(journal_path(out)) as journal:
        bad = journal.results().iloc[:1].drop(columns="_key").assign(sourceid="not-a-gaia-id")
        journal.record_chunk(bad, ["~sorts-last.fits"])  # fails after the other rows were streamed
    with pytest.raises(CatalogError, match="sourceid"):
        _run(_config(root, out, resume=True))
    assert out.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    with Journal(journal_path(out)) as journal:
        assert journal.n_rows() == N_GOOD + 1


def _chunks_committed(journal: Path) -> int:
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_midway_then_resume_equals_uninterrupted(survey, tmp_path):
    root, _ = survey
    reference = tmp_path / "reference.fits"
    _run(_config(root, reference))

    out = tmp_path / "killed.fits"
    cmd = [sys.executable, "-m", "raveview", "predict", str(root / "spectra"), "--model", str(root / "bundle"),
           "--photometry", str(root / "photometry.csv"), "--out", str(out), "--chunk-size", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while _chunks_committed(journal_path(out)) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed midway"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # killed before the export
    partial = _chunks_committed(journal_path(out))
    assert 3 <= partial < (N_GOOD + len(BAD)) / 2

    assert main(["predict", str(root / "spectra"), "--model", str(root / "bundle"), "--resume",
                 "--photometry", str(root / "photometry.csv"), "--out", str(out), "--chunk-size", "2"]) == 1
    resumed, _ = read_catalog(out)
    expected, _ = read_catalog(reference)
    assert not resumed["rave_obs_id"].duplicated().any()
    resumed, expected = _sorted(resumed), _sorted(expected)
    assert list(resumed["rave_obs_id"]) == list(expected["rave_obs_id"])
    for column in ("teff", "eteff", "logg", "mh", "alpham", "nife"):
        np.testing.assert_allclose(resumed[column], expected[column], rtol=1e-5, atol=1e-6)
    assert list(resumed["ensemble"]) == list(expected["ensemble"])
    assert len(error_log_path(out).read_text().splitlines()) == len(BAD)


@pytest.mark.slow
def test_dask_local_cluster_equals_single_process(survey, tmp_path):
    root, _ = survey
    single = tmp_path / "single.fits"
    _run(_config(root, single))
    distributed = tmp_path / "dask.fits"
    summary = _run(_config(root, distributed, workers=2))
    assert summary.n_rows == N_GOOD and summary.n_failed == len(BAD)
    a, _ = read_catalog(single)
    b, _ = read_catalog(distributed)
    a, b = _sorted(a), _sorted(b)
    assert list(a["rave_obs_id"]) == list(b["rave_obs_id"])
    for column in ("teff", "logg", "mh", "feh", "eteff"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-5, atol=1e-6)
