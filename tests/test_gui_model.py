"""The window with the real demo model: every format predicted, warm latency, folder run, oddity."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table
from PySide6.QtCore import QSettings, Qt

from gui_helpers import isolated_settings, no_leaked_threads, write_dr6_files  # noqa: F401 (autouse fixture)
from raveview.core.airvac import vacuum_to_air
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io import write_rave_dr6
from raveview.gui.app import create_main_window
from raveview.gui.dialogs import run_folder
from raveview.gui.folder_run import JournalTail
from raveview.gui.number_format import format_value

GIANT = {"teff": 4700.0, "logg": 2.4, "mh": -0.2, "feh": -0.22, "alpham": 0.1, "sife": 0.1,
         "mgfe": 0.12, "alfe": 0.05, "nife": 0.0}

pytestmark = pytest.mark.timeout(300)  # a hung test fails instead of stalling CI


@pytest.fixture(scope="session")
def demo_bundle():
    """The demo model bundle, loaded once per test session and warmed up."""
    from raveview.ml.bundle import ModelBundle, demo_bundle_path

    bundle = ModelBundle.load(demo_bundle_path())
    for kind in bundle.kinds:
        ensemble = bundle.ensemble(kind)
        phot = np.zeros((1, len(bundle.photometric_inputs))) if ensemble.with_photometry else None
        ensemble.predict(np.ones((1, bundle.grid.n)), phot)
    return bundle


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path):
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))


@pytest.fixture
def make_window(qtbot, demo_bundle):
    """Build windows using the session's model; their worker threads are stopped after the test."""
    windows = []

    def make(paths=(), bundle=True):
        win = create_main_window(list(paths), load_model=False, demo=False)
        qtbot.addWidget(win)
        if bundle:
            win.service.set_bundle(demo_bundle)
        windows.append(win)
        return win

    yield make
    for win in windows:
        win.close()
        assert not win.service.runner.running and not win.io.running


def _giant_flux(wave: np.ndarray) -> np.ndarray:
    from raveview.mock.model import model_spectrum

    model = model_spectrum(pd.DataFrame([GIANT]), DEFAULT_GRID)[0]
    rng = np.random.default_rng(0)
    return np.interp(wave, DEFAULT_GRID.wavelength, model) + rng.normal(0, 0.01, wave.size)


def write_every_format(folder) -> dict[str, object]:
    """The same giant as DR6, FITS image, CSV, ECSV, ASCII, and a Gaia RVS datalink CSV."""
    wave = np.arange(8400.0, 8800.0, 0.4)
    flux = _giant_flux(wave)
    paths = {"dr6": write_rave_dr6(folder / "dr6.fits", flux, np.full(wave.size, 0.01), 8400.0, 0.4,
                                   "RAVE_GIANT", {"SNR": 80.0})}
    hdu = fits.PrimaryHDU(flux.astype(np.float32))
    hdu.header.update(CRVAL1=8400.0, CDELT1=0.4, CRPIX1=1.0, CUNIT1="Angstrom")
    hdu.writeto(folder / "image.fits")
    paths["image"] = folder / "image.fits"
    (folder / "plain.csv").write_text("wavelength,flux\n" + "".join(f"{w:.2f},{f:.5f}\n" for w, f in zip(wave, flux)))
    paths["csv"] = folder / "plain.csv"
    table = Table({"wavelength": wave, "flux": flux, "flux_err": np.full(wave.size, 0.01)})
    table["wavelength"].unit = "Angstrom"
    table.write(folder / "table.ecsv")
    paths["ecsv"] = folder / "table.ecsv"
    np.savetxt(folder / "columns.txt", np.column_stack([wave, flux]), header="wavelength flux")
    paths["ascii"] = folder / "columns.txt"
    rvs = 846.0 + 0.01 * np.arange(2401)
    rvs_flux = _giant_flux(vacuum_to_air(rvs * 10))
    (folder / "rvs.csv").write_text("source_id,wavelength,flux,flux_error\n" + "".join(
        f"4295806720,{w:.2f},{f:.5f},0.01\n" for w, f in zip(rvs, rvs_flux)))
    paths["gaia_rvs"] = folder / "rvs.csv"
    return paths


def test_every_format_opens_and_gets_labels(make_window, tmp_path):
    paths = write_every_format(tmp_path)
    win = make_window(paths.values())
    assert win.wait_idle(60)
    assert win.messages_log == []
    frame = win.store.frame
    assert len(frame) == len(paths)
    assert np.isfinite(frame["teff"]).all() and np.isfinite(frame["eteff"]).all()
    assert np.isfinite(frame["residual"]).all() and np.isfinite(frame["oddity"]).all()
    # the same star on the same grid gives the same labels whatever the file format
    full = frame.iloc[:5]  # Gaia RVS covers only part of the grid (the rest is filled)
    np.testing.assert_allclose(full["teff"], full["teff"].iloc[0], atol=5)
    np.testing.assert_allclose(full["logg"], full["logg"].iloc[0], atol=0.01)
    win.star_list.set_current(1)
    shown = win.labels_panel.value_labels["teff"].text()
    assert shown == format_value(frame.loc[1, "teff"], frame.loc[1, "eteff"], 0)
    assert win.spectrum_view.model_flux is not None  # comparison overlay drawn from the labels
    assert "MOCK" in win.labels_panel.model_label.text()


def test_labels_shown_half_a_second_after_opening_with_the_model_warm(make_window, tmp_path, qtbot):
    paths = write_dr6_files(tmp_path, 2)
    win = make_window()
    win.open_paths(paths[:1])
    assert win.wait_idle(60)  # warm: this batch size has been traced
    start = time.perf_counter()
    win.open_paths(paths[1:])
    qtbot.waitUntil(lambda: len(win.store) == 2 and np.isfinite(win.store.frame["teff"].iloc[1]), timeout=10_000)
    win.star_list.set_current(1)
    elapsed = time.perf_counter() - start
    assert win.labels_panel.value_labels["teff"].text() != "–"
    assert elapsed <= 0.5, f"labels took {elapsed:.2f} s"


def test_folder_run_streams_cancels_and_resumes(make_window, tmp_path, qtbot):
    folder = tmp_path / "spectra"
    folder.mkdir()
    write_dr6_files(folder, 60)
    (folder / "broken.fits").write_bytes(b"not a FITS file" * 40)
    out = tmp_path / "out.csv"
    win = make_window()
    job = run_folder(win, folder, out, chunk_size=2)
    gate = threading.Event()

    def hold(progress) -> None:  # runs in the worker: a fast run must not finish before Cancel is clicked
        if progress.done >= 6:
            gate.wait(30)

    job.yielded.connect(hold, Qt.DirectConnection)
    qtbot.waitUntil(lambda: len(win.store) >= 2, timeout=30_000)
    assert not win.progress_bar.isHidden() and not win.cancel_button.isHidden()
    win.cancel_button.click()
    gate.set()
    qtbot.waitUntil(lambda: job.settled, timeout=30_000)  # every row delivered
    assert 2 <= len(win.store) < 60
    assert not out.exists()  # stopped before the catalog was written
    first = len(win.store)
    assert np.isfinite(win.store.frame["teff"]).all()

    again = make_window()
    job = run_folder(again, folder, out, resume=True, chunk_size=16)
    qtbot.waitUntil(lambda: job.settled, timeout=60_000)
    assert out.is_file()
    assert len(again.store) == 60  # journaled rows come back, then the rest
    assert sorted(again.store.frame["rave_obs_id"]) == [f"OBS{i:04d}" for i in range(60)]
    assert any("broken.fits" in m for m in again.messages_log)
    again.star_list.set_current(3)  # a row of the run shows its spectrum, read from its source file
    assert again.spectrum_view.spectrum is not None
    assert first <= len(JournalTail(out.with_name(out.name + ".journal.sqlite")).read_new()[0])


def test_oddity_ranks_a_spectrum_unlike_its_labels_first(make_window, tmp_path):
    wave = np.arange(8400.0, 8800.0, 0.4)
    paths = []
    for i in range(4):
        flux = _giant_flux(wave)
        paths.append(write_rave_dr6(tmp_path / f"g{i}.fits", flux, np.full(wave.size, 0.01), 8400.0, 0.4,
                                    f"G{i}", {"SNR": 80.0}))
    odd = _giant_flux(wave)
    for centre in (8498.0, 8542.1, 8662.1):  # emission cores in the Ca triplet
        odd += 0.8 * np.exp(-0.5 * ((wave - centre) / 0.6) ** 2)
    paths.append(write_rave_dr6(tmp_path / "odd.fits", odd, np.full(wave.size, 0.01), 8400.0, 0.4, "ODD",
                                {"SNR": 80.0}))
    win = make_window(paths)
    assert win.wait_idle(60)
    frame = win.store.frame
    assert frame["residual"].idxmax() == 4
    win.sort_by_oddity()
    assert win.star_list.proxy.position_of(0) == 4
