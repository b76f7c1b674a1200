"""``raveview --self-test``: open the window offscreen, predict one demo spectrum, check the labels.

Used to check a packaged build (PyInstaller) on a machine without a display:
exits 0 when the demo model loads and gives finite labels, 1 otherwise,
printing one line either way.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from raveview.core.labels import LABEL_KEYS

#: Seconds allowed for loading the model and predicting the spectrum.
TIMEOUT_S = 300.0


def demo_spectra() -> list:
    """The bundled demo spectra (``raveview/resources/demo/spectra`` or ``.../demo``)."""
    from importlib import resources
    from pathlib import Path

    root = Path(str(resources.files("raveview") / "resources" / "demo"))
    for folder in (root / "spectra", root):
        if folder.is_dir():
            found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".fits", ".fit"))
            if found:
                return found
    return []


def run_self_test(timeout: float = TIMEOUT_S) -> int:
    """Open the main window offscreen on one demo spectrum with the demo model; returns the exit code."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    from raveview.gui.app import create_main_window

    paths = demo_spectra()[:1]
    if not paths:
        sys.stdout.write("self-test FAILED: no demo spectrum is bundled\n")
        return 1
    window = create_main_window(paths, load_model=True, demo=False)
    try:
        window.show()
        end = time.perf_counter() + timeout
        labels = None
        while time.perf_counter() < end:
            window.wait_idle(1.0)
            frame = window.store.frame
            if len(frame) and frame[list(LABEL_KEYS)].notna().all(axis=1).any():
                labels = frame[list(LABEL_KEYS)].iloc[0].to_numpy(dtype=float)
                break
            if window.messages_log:
                break
        if labels is None or not np.all(np.isfinite(labels)):
            cause = "; ".join(window.messages_log) or "no labels within the time limit"
            sys.stdout.write(f"self-test FAILED: {cause}\n")
            return 1
        values = ", ".join(f"{k}={v:.3g}" for k, v in zip(LABEL_KEYS, labels))
        sys.stdout.write(f"self-test OK in {time.perf_counter() - start:.1f} s: {paths[0].name}: {values}\n")
        return 0
    finally:
        window.close()
