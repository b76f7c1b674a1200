"""The star list's model: value ± error, numpy sorting and filtering, fast at catalog size."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui_helpers import isolated_settings, no_leaked_threads, results_frame  # noqa: F401 (autouse fixture)
from raveview.gui.results_model import FLAG_TOOLTIP, ResultsModel, StarFilterProxy
from raveview.gui.star_store import StarStore, normalise_catalog

pytestmark = pytest.mark.timeout(120)  # a hung test fails instead of stalling CI


def _column(model: ResultsModel, key: str) -> int:
    return next(i for i, c in enumerate(model.columns) if c.key == key)


def test_labels_shown_as_value_plus_error_and_flags_coloured(qapp):
    store = StarStore()
    store.add_rows(normalise_catalog(results_frame(10)))
    model = ResultsModel(store)
    col = _column(model, "teff")
    assert model.index(0, col).data() == "7500 ± 80"
    assert model.index(0, col).data(Qt.ToolTipRole) == FLAG_TOOLTIP
    assert model.index(1, col).data(Qt.ToolTipRole) is None
    logg = model.index(1, _column(model, "logg")).data()
    assert " ± 0.10" in logg
    assert model.index(0, _column(model, "n_obs")).data() == "2"  # OBS0000 and OBS0001 share a source id


def test_tiny_errors_keep_two_significant_digits(qapp):
    from raveview.gui.labels_panel import LabelsPanel
    from raveview.gui.number_format import format_value

    assert format_value(0.1234, 0.0031, 2) == "0.1234 ± 0.0031"
    assert format_value(-0.3, 0.00049, 2) == "-0.30000 ± 0.00049"
    assert format_value(2.345, 0.0996, 2) == "2.35 ± 0.10"  # rounds to 0.10, not 0.100
    assert format_value(5.04, 2.5, 2) == "5.0 ± 2.5"
    assert format_value(4712.3, 123.4, 0) == "4712 ± 123"
    assert format_value(1.0, float("nan"), 2) == "1.00" and format_value(float("nan"), 0.1, 2) == "–"
    frame = results_frame(3)
    frame.loc[1, ["mh", "emh", "alfe", "ealfe"]] = [-0.3141, 0.0031, 0.0812, 0.012]
    store = StarStore()
    store.add_rows(normalise_catalog(frame))
    model = ResultsModel(store)
    assert model.index(1, _column(model, "mh")).data() == "-0.3141 ± 0.0031"
    assert model.index(1, _column(model, "alfe")).data() == "0.081 ± 0.012"
    panel = LabelsPanel()
    panel.set_star(store.frame.iloc[1])
    assert panel.value_labels["mh"].text() == "-0.3141 ± 0.0031"
    assert panel.value_labels["alfe"].text() == "0.081 ± 0.012"
    assert panel.value_labels["teff"].text() == f"{frame.loc[1, 'teff']:.0f} ± 80"


def test_sort_filter_and_row_mapping(qapp):
    store = StarStore()
    store.add_rows(normalise_catalog(results_frame(50)))
    proxy = StarFilterProxy(ResultsModel(store))
    col = _column(proxy.sourceModel(), "teff")
    proxy.sort(col, Qt.DescendingOrder)
    teff = store.frame["teff"].to_numpy()
    shown = [proxy.position_of(r) for r in range(proxy.rowCount())]
    assert np.all(np.diff(teff[shown]) <= 0)
    assert shown[0] == 0  # the flagged 7500 K star
    proxy.set_text("obs001")
    assert proxy.rowCount() == 10  # OBS0010..OBS0019
    assert {proxy.position_of(r) for r in range(10)} == set(range(10, 20))
    proxy.set_text("")
    proxy.set_flagged_only(True)
    assert proxy.rowCount() == 1 and proxy.position_of(0) == 0
    proxy.set_flagged_only(False)
    rows = proxy.proxy_rows_for(np.array([0, 5]))
    assert sorted(proxy.position_of(int(r)) for r in rows) == [0, 5]


def test_catalog_size_stays_fast(qapp):
    n = 420_165
    frame = results_frame(2000)
    big = frame.sample(n, replace=True, random_state=0).reset_index(drop=True)
    big["rave_obs_id"] = [f"R{i}" for i in range(n)]
    store = StarStore()
    store.add_rows(normalise_catalog(big))
    model = ResultsModel(store)
    proxy = StarFilterProxy(model)
    t0 = time.perf_counter()
    proxy.sort(_column(model, "logg"), Qt.AscendingOrder)
    sort_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    proxy.set_text("R4201")
    filter_s = time.perf_counter() - t0
    assert proxy.rowCount() == 1 + 10 + 65  # R4201, R42010..R42019, R420100..R420164
    assert sort_s < 2.0 and filter_s < 2.0, (sort_s, filter_s)
    t0 = time.perf_counter()
    for row in range(0, proxy.rowCount()):
        for col in range(proxy.columnCount()):
            proxy.index(row, col).data()
    assert time.perf_counter() - t0 < 0.5

