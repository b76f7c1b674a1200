"""Shared fixtures: paths to the real data in ../shared/real, temp data folders."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never touch the user's own settings, logs or caches (QSettings, platformdirs).
_HOME = tempfile.mkdtemp(prefix="raveview-tests-")
for _var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
    os.environ[_var] = os.path.join(_HOME, _var.lower())
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = Path(os.environ.get("RAVEVIEW_SHARED_REAL", REPO.parent / "shared" / "real"))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (it ships with the project's CI, not with a clone)")
    return path


@pytest.fixture(scope="session")
def shared_real() -> Path:
    """The ../shared/real folder (skips the test when absent)."""
    return _need(SHARED_REAL)


@pytest.fixture(scope="session")
def indo_us_dir(shared_real: Path) -> Path:
    """Folder of the 33 real Indo-US Ca-triplet spectra."""
    return _need(shared_real / "indo_us_cat" / "templates")


@pytest.fixture(scope="session")
def guiglion_dir(shared_real: Path) -> Path:
    """Folder of the published Guiglion et al. (2020) models and data."""
    return _need(shared_real / "guiglion2020")


@pytest.fixture(autouse=True)
def _qt_garbage_on_the_gui_thread(request):
    """In Qt tests, collect cyclic garbage on the GUI thread only, as the app does.

    Otherwise a worker thread's allocation can trigger a collection that frees a
    window of an earlier test there, which can deadlock PySide6 (see
    :mod:`raveview.gui.main_thread_gc`). At the end of the test everything left
    is collected here, on the GUI thread.
    """
    if not {"qtbot", "qapp"} & set(request.fixturenames):
        yield
        return
    request.getfixturevalue("qapp")
    from raveview.gui.main_thread_gc import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector()
    yield
    collector.stop()
    collector.deleteLater()
