"""The star list's model: value ± error, numpy sorting and filtering, fast at catalog size."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt

from gui_helpers import results_frame
from raveview.gui.results_model import FLAG_TOOLTIP, ResultsModel, StarFilterProxy
from raveview.gui.star_store import StarStore, normalise_catalog


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

