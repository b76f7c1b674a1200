"""Start-up failures reach a dialog and a log file; the self-test of packaged builds works."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from raveview.gui.startup_errors import LOG_NAME, guarded_startup, log_directory  # noqa: E402


def test_failure_is_logged_shown_and_exits_1(tmp_path):
    shown = []
    with pytest.raises(SystemExit) as info:
        with guarded_startup(show=lambda *args: shown.append(args), log_dir=tmp_path):
            raise RuntimeError("the GPU driver\nexploded")
    assert info.value.code == 1
    message, log_path, details = shown[0]
    assert message == "the GPU driver exploded"
    assert log_path == tmp_path / LOG_NAME
    log = log_path.read_text()
    assert "Traceback" in log and "RuntimeError: the GPU driver" in log and "test_reliability_startup" in log


def test_success_and_exit_pass_through(tmp_path):
    with guarded_startup(show=lambda *a: pytest.fail("shown"), log_dir=tmp_path):
        value = 42
    assert value == 42
    with pytest.raises(SystemExit) as info:
        with guarded_startup(show=lambda *a: pytest.fail("shown"), log_dir=tmp_path):
            raise SystemExit(3)
    assert info.value.code == 3
    assert not (tmp_path / LOG_NAME).exists()


def test_real_message_box_is_shown(tmp_path, qapp):
    seen = []

    def close_box():
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(50, close_box)
            return
        seen.append((box.windowTitle(), box.text(), box.informativeText()))
        box.done(0)

    QTimer.singleShot(50, close_box)
    with pytest.raises(SystemExit):
        with guarded_startup(log_dir=tmp_path):
            raise ValueError("bad settings file")
    title, text, informative = seen[0]
    assert "could not start" in title and "bad settings file" in text
    assert str(tmp_path / LOG_NAME) in informative


def test_unwritable_log_folder_still_shows(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    shown = []
    with pytest.raises(SystemExit):
        with guarded_startup(show=lambda *a: shown.append(a), log_dir=blocker / "sub"):
            raise OSError("disk full")
    assert shown[0][0] == "disk full" and shown[0][1] is None
    assert log_directory().name  # the platform folder is defined


@pytest.mark.slow
def test_self_test_passes_with_the_demo_model():
    result = subprocess.run([sys.executable, "-c", "import sys; from raveview.gui.self_test import run_self_test; "
                             "sys.exit(run_self_test())"], capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "self-test OK" in result.stdout and "teff=" in result.stdout
