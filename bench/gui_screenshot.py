"""Write ``docs/screenshot_main.png``: the main window (offscreen), a mock giant and its predicted labels.

Usage: ``python bench/gui_screenshot.py [OUT.png]``. The spectra are mock-survey
spectra written as RAVE DR6 files to a temporary folder; labels come from the
demo model when its bundle is installed, otherwise (``--no-model``, or no bundle)
from the mock catalogue's true labels with nominal errors.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GIANT = {"teff": 4650.0, "logg": 2.35, "mh": -0.25, "feh": -0.3, "alpham": 0.12, "sife": 0.1,
         "mgfe": 0.15, "alfe": 0.08, "nife": 0.02}


def write_stars(folder: Path, n: int = 400, seed: int = 3) -> tuple[list[Path], pd.DataFrame]:
    """A giant first, then ``n`` mock stars across the Kiel diagram, as DR6 files."""
    from raveview.core.grid import DEFAULT_GRID
    from raveview.core.io import write_rave_dr6
    from raveview.mock.model import model_spectrum

    rng = np.random.default_rng(seed)
    teff = rng.uniform(4000, 6800, n)
    logg = np.where(teff < 5200, rng.uniform(1.2, 4.7, n), rng.uniform(3.6, 4.6, n))
    mh = rng.normal(-0.2, 0.3, n)
    labels = pd.DataFrame({"teff": teff, "logg": logg, "mh": mh, "feh": mh - 0.03,
                           "alpham": np.clip(-0.3 * mh + rng.normal(0.02, 0.04, n), -0.1, 0.4),
                           "sife": rng.normal(0.05, 0.05, n), "mgfe": rng.normal(0.1, 0.06, n),
                           "alfe": rng.normal(0.05, 0.08, n), "nife": rng.normal(0.0, 0.04, n)})
    labels = pd.concat([pd.DataFrame([GIANT]), labels], ignore_index=True)
    flux = model_spectrum(labels, DEFAULT_GRID)
    paths = []
    for i, row in enumerate(flux):
        snr = 55.0 if i == 0 else float(rng.uniform(20, 90))
        noisy = row + rng.normal(0, 1 / snr, row.size)
        paths.append(write_rave_dr6(folder / f"mock_{i:04d}.fits", noisy, np.full(row.size, 1 / snr),
                                    DEFAULT_GRID.start, DEFAULT_GRID.step, f"20120416_0035m18_{i:03d}",
                                    {"SNR": snr, "SOURCEID": 4_000_000_000 + i}))
    return paths, labels


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv and not argv[0].startswith("-") else Path("docs/screenshot_main.png")
    from raveview.gui.app import application, create_main_window

    from PySide6.QtCore import QSettings

    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in (QSettings.NativeFormat, QSettings.IniFormat):  # the first-start layout, not the user's
            QSettings.setPath(fmt, QSettings.UserScope, str(Path(tmp) / "settings"))
        paths, labels = write_stars(Path(tmp))
        use_model = "--no-model" not in argv
        if use_model:
            from raveview.ml.bundle import demo_bundle_path

            use_model = (demo_bundle_path() / "manifest.json").is_file()
        win = create_main_window(paths, load_model=use_model)
        win.resize(1600, 1000)
        win.show()
        win.wait_idle(600)
        if not use_model:
            results = labels.copy()
            for key in labels.columns:
                results[f"e{key}"] = 90.0 if key == "teff" else 0.12 if key == "logg" else 0.07
                results[f"flag_{key}"] = 0
            results["photometry_used"] = True
            win._on_rows_predicted(np.arange(len(labels)), results)
        win.star_list.set_current(0)
        win.spectrum_view.set_element_visible("Fe I", True)
        for _ in range(20):
            app.processEvents()
        win.grab().save(str(out))
        print(f"wrote {out}")
        win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
