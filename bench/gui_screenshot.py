"""Write ``docs/screenshot_main.png``: the main window (offscreen), a mock giant and its predicted labels.

Usage: ``python bench/gui_screenshot.py [OUT.png]``. The spectra and photometry
are a mock survey written as RAVE DR6 files to a temporary folder; the labels
are predicted by the demo model.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: Window size: a common laptop/desktop screen, and legible when the README scales the picture down.
SIZE = (1600, 900)


def write_survey_stars(folder: Path, n: int = 400, seed: int = 3) -> tuple[list[Path], Path, str]:
    """A mock survey of ``n`` stars with photometry as DR6 files; returns (paths, photometry, a giant's obs id)."""
    from raveview.mock import simulate_survey, write_survey

    survey = simulate_survey(n, seed, snr_range=(25.0, 120.0))
    written = write_survey(survey, folder)
    labels = survey.labels
    giants = labels[(labels["LOGG"] < 2.6) & (labels["TEFF"] < 4900) & (labels["EXOTIC_CLASS"] == "normal")]
    giant = str(giants.sort_values("SNR", ascending=False)["rave_obs_id"].iloc[0])
    return sorted((folder / "spectra").glob("*.fits")), written["photometry"], giant


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv and not argv[0].startswith("-") else Path("docs/screenshot_main.png")
    from raveview.gui.app import application, create_main_window

    from PySide6.QtCore import QSettings

    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in (QSettings.NativeFormat, QSettings.IniFormat):  # the first-start layout, not the user's
            QSettings.setPath(fmt, QSettings.UserScope, str(Path(tmp) / "settings"))
        paths, photometry, giant = write_survey_stars(Path(tmp) / "survey")
        win = create_main_window([], load_model=True, demo=False)
        win.load_photometry(photometry)
        win.open_paths(paths)
        win.resize(*SIZE)
        win.show()
        win.wait_idle(600)
        # the giant by its obs id, which does not depend on the order the store keeps its rows in
        win.star_list.set_current(int(win.store.frame.index[win.store.frame["rave_obs_id"] == giant][0]))
        win.spectrum_view.set_element_visible("Fe I", True)
        for _ in range(20):
            app.processEvents()
        win.wait_idle(60)
        win.grab().save(str(out))
        print(f"wrote {out}")
        win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
