"""Builders shared by the GUI tests: RAVE DR6 files and results tables written for real."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raveview.core.catalog_schema import ALL_COLUMNS
from raveview.core.io import write_rave_dr6
from raveview.core.labels import LABEL_KEYS

CAT_LINES = (8498.02, 8542.09, 8662.14)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path):
    """Window settings (geometry, dock layout, recent files) in ``tmp_path``, never the user's own.

    ``QSettings("raveview", "raveview")`` uses the native format, so its path is set too.
    """
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(tmp_path / "settings"))
    QSettings.setDefaultFormat(QSettings.IniFormat)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """After each test: close every main window left open and check its worker threads have stopped.

    Import it into a test module (``from gui_helpers import no_leaked_threads``) to use it there
    (likewise :func:`isolated_settings`).
    """
    yield
    from PySide6.QtWidgets import QApplication

    from raveview.gui.main_window import MainWindow

    app = QApplication.instance()
    for widget in app.topLevelWidgets() if app is not None else []:
        if isinstance(widget, MainWindow):
            widget.close()  # cancels the jobs and joins the threads
    alive = [t for t in threading.enumerate() if t.name.startswith("raveview-")]
    for thread in alive:
        thread.join(10)
    assert not [t.name for t in alive if t.is_alive()], "worker threads still running after the test"


def write_dr6_files(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` Ca-triplet-like spectra in the RAVE DR6 layout (star i has ROI ``OBS{i:04d}``)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        start, step, npix = 8410.0 + rng.uniform(0, 2), 0.35, 1100
        wave = start + step * np.arange(npix)
        flux = np.ones(npix)
        for centre, depth in zip(CAT_LINES, (0.5, 0.65, 0.6)):
            flux -= depth * np.exp(-0.5 * ((wave - centre) / 1.2) ** 2)
        flux += rng.normal(0, 0.01, npix)
        header = {"SNR": 60.0 + i, "SOURCEID": 1000 + i // 2}  # pairs of repeat observations
        paths.append(write_rave_dr6(folder / f"star_{i:04d}.fits", flux, np.full(npix, 0.02), start, step,
                                    f"OBS{i:04d}", header))
    return paths


def results_frame(n: int, seed: int = 1, obs_prefix: str = "OBS") -> pd.DataFrame:
    """A results table with every catalog column; row 0 has a Teff boundary flag."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({col: np.zeros(n) for col in ALL_COLUMNS})
    frame["rave_obs_id"] = [f"{obs_prefix}{i:04d}" for i in range(n)]
    frame["sourceid"] = pd.array(1000 + np.arange(n) // 2, dtype="Int64")
    centre = {"teff": 4800, "logg": 2.5, "mh": -0.3, "feh": -0.35, "alpham": 0.1, "sife": 0.1,
              "mgfe": 0.15, "alfe": 0.05, "nife": 0.0}
    for key in LABEL_KEYS:
        scale = 400 if key == "teff" else 0.8 if key == "logg" else 0.2
        frame[key] = centre[key] + rng.normal(0, scale, n)
        frame[f"e{key}"] = 80.0 if key == "teff" else 0.1
        frame[f"flag_{key}"] = 0
    frame.loc[0, "teff"], frame.loc[0, "flag_teff"] = 7500.0, 1
    for col in ("source_file", "model_id", "ensemble", "phot_flags", "quality_flags"):
        frame[col] = ""
    frame["photometry_used"] = True
    frame["disagreement"] = False
    frame["snr"] = 50.0
    return frame
