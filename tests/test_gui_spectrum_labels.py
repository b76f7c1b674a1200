"""Line labels on the spectrum view: stacked in rows, never overlapping, the strongest kept."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gui_helpers import isolated_settings, no_leaked_threads, write_dr6_files  # noqa: F401 (autouse fixture)
from raveview.gui.diagnostic_lines import ELEMENTS, place_labels

pytestmark = pytest.mark.timeout(120)  # a hung test fails instead of stalling CI


def test_place_labels_stacks_then_drops_the_weakest():
    # four labels 40 px wide at the same spot, three rows: the lowest-priority one is left out
    tiers = place_labels([100, 102, 104, 106], [40] * 4, [2, 0, 1, 2], tiers=3)
    assert tiers[1] == 0 and tiers[2] == 1  # Ca II on top, Paschen below
    assert sorted(t for t in tiers if t is not None) == [0, 1, 2] and tiers.count(None) == 1
    assert place_labels([10, 100, 200], [40] * 3, [2, 2, 2]) == [0, 0, 0]  # room for all on one row
    assert place_labels([], [], []) == []


def _label_rects(view):
    rects = []
    for item in itertools.chain.from_iterable(view._line_items.values()):
        if item.isVisible() and item.label.isVisible():
            rects.append((item.diagnostic, item.label.mapRectToScene(item.label.boundingRect())))
    return rects


def test_visible_labels_never_overlap_and_zooming_shows_more(qtbot, tmp_path):
    from raveview.core.io import read_spectrum
    from raveview.gui.spectrum_view import SpectrumView

    view = SpectrumView()
    qtbot.addWidget(view)
    view.resize(900, 520)
    view.show()
    qtbot.waitExposed(view)
    spectrum = read_spectrum(write_dr6_files(tmp_path, 1)[0])
    view.set_spectrum(spectrum)
    for element in ELEMENTS:
        view.set_element_visible(element, True)
    qtbot.wait(50)
    full = _label_rects(view)
    assert {line.label for line, _ in full} >= {"Ca II 8498", "Ca II 8542", "Ca II 8662"}
    n_lines = sum(len(items) for items in view._line_items.values())
    assert len(full) < n_lines  # crowded at full range: some labels left out
    for (_, a), (_, b) in itertools.combinations(full, 2):
        assert not a.intersects(b), "two line labels overlap"
    view.zoom_to(8542.09, half_width=6.0)
    qtbot.wait(50)
    zoomed = _label_rects(view)
    in_range = [i for items in view._line_items.values() for i in items if 8536.09 <= i.value() <= 8548.09]
    assert len(zoomed) == len(in_range) >= 3  # zoomed in: every line in view is labelled
    for (_, a), (_, b) in itertools.combinations(zoomed, 2):
        assert not a.intersects(b)
    assert np.all([8536 <= line.wavelength <= 8549 for line, _ in zoomed])
