"""The main window as shown: it fits a common screen, and no text is squeezed, cut off or stale."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from gui_helpers import CAT_LINES, isolated_settings, no_leaked_threads, results_frame  # noqa: F401
from raveview.core.io import write_rave_dr6
from raveview.core.progress import Progress
from raveview.gui.app import create_main_window
from raveview.gui.labels_panel import ModelInfo

pytestmark = pytest.mark.timeout(120)

OBS_PREFIX, GAIA_ID = "20060627_1738m14_", 5266050039378658807

#: The demo model's description: the longest text of the Labels panel.
MOCK_INFO = ModelInfo("raveview demo (mock)", "MOCK data: raveview simulate --n 9000 --seed 1 --snr 30 150 "
                      "--format matrix (5685 distinct mock stars, one spectrum each); not real stars",
                      is_mock=True)


def _settle(seconds: float = 0.4) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def _rave_like_files(folder, n: int) -> list:
    """``n`` spectra with RAVE-length ids (``20060627_1738m14_0000`` …) and 19-digit Gaia ids."""
    rng = np.random.default_rng(0)
    wave = 8410.0 + 0.35 * np.arange(1100)
    flux = 1 - sum(d * np.exp(-0.5 * ((wave - c) / 1.2) ** 2) for c, d in zip(CAT_LINES, (0.5, 0.65, 0.6)))
    return [write_rave_dr6(folder / f"star_{i:04d}.fits", flux + rng.normal(0, 0.01, wave.size),
                           np.full(wave.size, 0.02), 8410.0, 0.35, f"{OBS_PREFIX}{i:04d}",
                           {"SNR": 60.0 + i, "SOURCEID": GAIA_ID + i // 2}) for i in range(n)]


@pytest.fixture
def shown(qtbot, tmp_path):
    """The window at 1600 × 900 with a star, its labels (as the demo model gives them) and the mock banner."""
    win = create_main_window(_rave_like_files(tmp_path, 4), load_model=False)
    qtbot.addWidget(win)
    assert win.wait_idle(30)
    win.resize(1600, 900)
    win.show()
    _settle()
    win.labels_panel.set_model_info(MOCK_INFO)
    frame = results_frame(4, obs_prefix=OBS_PREFIX)
    frame["sourceid"] = pd.array(GAIA_ID + np.arange(4) // 2, dtype="Int64")
    frame.loc[0, ["teff", "flag_teff"]] = [4800.0, 0]  # no boundary flag: the panel as the screenshot shows it
    win._on_rows_predicted(np.arange(4), frame)
    win.star_list.set_current(2)
    _settle()
    return win


def test_the_window_fits_a_1440_pixel_screen(shown):
    # The spectrum's title and the star's name + Gaia id in the Labels panel used to set a minimum width
    # of 1631 px: the window could not be made narrower than that, nor the docks their default widths.
    assert shown.minimumSizeHint().width() <= 1440
    assert shown.width() == 1600
    assert shown.list_dock.width() >= 500 and shown.centralWidget().width() >= 550


def test_the_spectrum_title_shrinks_with_an_ellipsis_and_keeps_the_signal_to_noise(shown):
    title = shown.spectrum_view.title
    assert title.minimumSizeHint().width() <= 120
    assert title.toolTip() == title.text() and "S/N 62" in title.text().split(",")[0]


def test_the_labels_panel_shows_name_and_ids_on_two_lines(shown):
    panel = shown.labels_panel
    assert panel.star_title.text() == f"{OBS_PREFIX}0002"
    assert panel.star_ids.text() == f"Gaia {GAIA_ID + 1}  ·  2 observations"


@pytest.mark.parametrize("width", [330, 260])
def test_label_rows_are_not_squeezed_in_a_narrow_labels_dock(shown, width):
    shown.resizeDocks([shown.labels_dock], [width], Qt.Horizontal)
    _settle(0.2)
    panel = shown.labels_panel
    line = panel.fontMetrics().height()
    rows = [panel.value_labels[key].geometry() for key in panel.value_labels]
    assert all(r.height() >= line for r in rows), [r.height() for r in rows]
    assert all(b.top() >= a.bottom() for a, b in zip(rows, rows[1:]))  # no row drawn over the one above
    model = panel.model_label.geometry()
    assert panel.model_label.heightForWidth(model.width()) <= model.height()  # every wrapped line shown
    assert model.bottom() <= panel.height()


def test_photometry_columns_share_the_width(shown):
    table = shown.photometry_panel.table
    header = table.horizontalHeader()
    assert abs(header.sectionSize(0) - header.sectionSize(1)) <= 1  # not one narrow and one very wide column
    for column in (0, 1):
        text = table.horizontalHeaderItem(column).text()
        assert header.fontMetrics().horizontalAdvance(text) < header.sectionSize(column)  # not cut off
    assert table.verticalHeader().defaultSectionSize() <= table.fontMetrics().height() + 8


@pytest.mark.parametrize("diagram", ["kiel", "abundance"])
def test_the_colour_bar_top_tick_label_is_not_cut_off(shown, diagram):
    plot = getattr(shown, diagram)
    bar = plot.colour_bar
    half_label = QFontMetrics(QApplication.font()).height() / 2
    top = plot.widget.mapFromScene(bar.sceneBoundingRect().topLeft()).y()
    assert top >= half_label  # the tick label centred on the bar's top end lies inside the view


def test_the_status_bar_drops_the_eta_once_a_batch_is_done(shown):
    shown.start_progress()
    shown._on_progress(Progress(2, 4, "predicted 2 spectra"))
    assert "ETA" in shown.statusBar().currentMessage()
    shown._on_progress(Progress(4, 4, "predicted 4 spectra"))
    assert shown.statusBar().currentMessage() == "predicted 4 spectra"


def test_model_text_is_shown_literally(qtbot):
    # "< 15 %" in a model description must not be read as the start of an HTML tag
    from raveview.gui.labels_panel import LabelsPanel

    panel = LabelsPanel()
    qtbot.addWidget(panel)
    panel.set_model_info(ModelInfo("a <b>bold</b> name", "stars with parallax error < 15 %, one spectrum each"))
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(panel.model_label.text())
    shown = doc.toPlainText()
    assert "parallax error < 15 %, one spectrum each" in shown
    assert "a <b>bold</b> name" in shown
