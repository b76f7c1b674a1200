"""The list of open stars: a filterable, sortable table view over :class:`ResultsModel`."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QCheckBox, QHBoxLayout, QLineEdit, QTableView, QVBoxLayout, QWidget

from raveview.gui.results_model import ResultsModel, StarFilterProxy
from raveview.gui.star_store import StarStore


class StarList(QWidget):
    """Filter field, "flagged only" switch and the table of stars.

    Signals
    -------
    current_changed(int)
        Frame row of the newly current star.
    """

    current_changed = Signal(int)

    def __init__(self, store: StarStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsModel(store, self)
        self.proxy = StarFilterProxy(self.model, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name, Gaia id or file  (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        bar.addWidget(self.filter_edit, 1)
        self.flagged_box = QCheckBox("Flagged only")
        self.flagged_box.setToolTip("Only stars with a boundary flag, member disagreement or a vetting flag")
        self.flagged_box.toggled.connect(self.proxy.set_flagged_only)
        bar.addWidget(self.flagged_box)
        layout.addLayout(bar)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)  # opening order until a click
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setWordWrap(False)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        self.model.modelReset.connect(self._reconnect)
        layout.addWidget(self.view, 1)
        self._current: int | None = None
        self._sized = False
        self.setMinimumWidth(380)

    def refresh(self) -> None:
        """Re-read the store (rows added, results arrived) keeping the current star."""
        current = self._current
        self.proxy.apply()
        if current is not None:
            self.set_current(current, emit=False)
        labelled = bool(len(self.model.store)) and bool(self.model.store.has_labels().any())
        if len(self.model.store) and self._sized != labelled or len(self.model.store) < 5000:
            self.view.resizeColumnsToContents()  # Qt samples at most 1000 rows
            self._sized = labelled

    def _reconnect(self) -> None:
        self.view.selectionModel().currentRowChanged.connect(self._on_current)

    def _on_current(self, current, _previous) -> None:
        if not current.isValid():
            return
        position = self.proxy.position_of(current.row())
        if position != self._current:
            self._current = position
            self.current_changed.emit(position)

    @property
    def current(self) -> int | None:
        """Frame row of the current star."""
        return self._current

    def set_current(self, position: int, emit: bool = True) -> bool:
        """Make frame row ``position`` current (and visible); False when it is filtered out."""
        rows = self.proxy.proxy_rows_for(np.array([position]))
        self._current = position
        if rows.size == 0:
            return False
        index = self.proxy.index(int(rows[0]), 0)
        blocked = self.view.selectionModel().blockSignals(not emit)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        self.view.selectionModel().blockSignals(blocked)
        self.view.scrollTo(index)
        if emit:
            self.current_changed.emit(position)
        return True

    def step(self, delta: int) -> None:
        """Move the current star ``delta`` rows down the (sorted, filtered) list."""
        n = self.proxy.rowCount()
        if n == 0:
            return
        row = self.view.currentIndex().row()
        row = 0 if row < 0 else min(max(row + delta, 0), n - 1)
        self.set_current(self.proxy.position_of(row))

    def select_positions(self, positions: np.ndarray) -> int:
        """Select the rows showing frame rows ``positions`` (contiguous ranges at once); returns the count."""
        rows = self.proxy.proxy_rows_for(np.asarray(positions, dtype=np.int64))
        selection = QItemSelection()
        if rows.size:
            breaks = np.flatnonzero(np.diff(rows) > 1)
            starts = np.concatenate([[rows[0]], rows[breaks + 1]])
            ends = np.concatenate([rows[breaks], [rows[-1]]])
            last = self.proxy.columnCount() - 1
            for a, b in zip(starts, ends):
                selection.select(self.proxy.index(int(a), 0), self.proxy.index(int(b), last))
        self.view.selectionModel().select(selection, QItemSelectionModel.ClearAndSelect)
        if rows.size:
            self.view.scrollTo(self.proxy.index(int(rows[0]), 0))
        return int(rows.size)

    def selected_positions(self) -> np.ndarray:
        """Frame rows of the selected rows."""
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return np.array([self.proxy.position_of(r) for r in rows], dtype=np.int64)
