"""Opt-in (RAVEVIEW_PACKAGING_SMOKE=1): build the PyInstaller app and run its --self-test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("RAVEVIEW_PACKAGING_SMOKE") != "1",
                       reason="slow (minutes): set RAVEVIEW_PACKAGING_SMOKE=1 to build and test the packaged app"),
]


def test_build_and_self_test(tmp_path):
    if shutil.which("pyinstaller") is None and subprocess.run([sys.executable, "-c", "import PyInstaller"]).returncode:
        pytest.skip("PyInstaller is not installed")
    env = {**os.environ, "RAVEVIEW_DIST": str(tmp_path / "dist"), "RAVEVIEW_BUILD": str(tmp_path / "build"),
           "QT_QPA_PLATFORM": "offscreen"}
    build = subprocess.run(["bash", str(REPO / "packaging" / "build.sh")], env=env, capture_output=True, text=True,
                           timeout=3600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    app = tmp_path / "dist" / "raveview" / ("raveview.exe" if os.name == "nt" else "raveview")
    result = subprocess.run([str(app), "--self-test"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "self-test OK" in result.stdout
