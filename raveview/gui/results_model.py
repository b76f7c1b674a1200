"""Qt item models over the results table: fast with hundreds of thousands of rows.

:class:`ResultsModel` reads numpy columns of :class:`~raveview.gui.star_store.StarStore`
(no per-row Python objects), sorts with ``numpy.argsort`` and filters with a
boolean mask computed in numpy. :class:`StarFilterProxy` is the view's model and
the filter's interface; it forwards sorting and filtering to the source so that
no Python callback runs per row (a per-row ``filterAcceptsRow`` takes seconds at
420 000 rows), and its rows are the source's rows one to one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from raveview.core.labels import LABELS
from raveview.gui.number_format import format_value
from raveview.gui.star_store import StarStore

FLAG_COLOUR = QColor(230, 120, 20)
FLAG_TOOLTIP = ("Boundary flag: the value lies outside the training set's range of this label, "
                "so the network extrapolated; it may be biased.")


@dataclass(frozen=True)
class Column:
    """A column of the star list: header, the frame column shown, and how."""

    header: str
    key: str
    kind: str = "text"  # "text", "int", "float", "label", "flags", "bool"
    decimals: int = 2


def default_columns() -> list[Column]:
    """The star list's columns: ids, the 9 labels as value ± error, quality columns."""
    cols = [Column("Star", "name"), Column("n obs", "n_obs", "int")]
    for label in LABELS:
        cols.append(Column(label.display, label.key, "label", 0 if label.key == "teff" else 2))
    cols += [Column("S/N", "snr", "float", 1), Column("Flags", "", "flags"),
             Column("Oddity", "oddity", "float", 2), Column("Phot", "photometry_used", "bool"),
             Column("Vetting", "user_flag"), Column("File", "source_file")]
    return cols


class ResultsModel(QAbstractTableModel):
    """Table model over a :class:`StarStore`'s frame; row ``r`` shows frame row ``order[r]``.

    ``order`` is the sorted positions of the frame rows that pass ``mask``.
    """

    def __init__(self, store: StarStore, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.columns = default_columns()
        self.order = np.arange(0, dtype=np.int64)
        self.inverse = np.arange(0, dtype=np.int64)
        self._arrays: dict[str, np.ndarray] = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self.mask: np.ndarray | None = None
        self.refresh()

    # -- data -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the store's frame (after rows were added or results arrived)."""
        self.beginResetModel()
        frame = self.store.frame
        self._arrays = {}
        for col in frame.columns:
            series = frame[col]
            if col == "sourceid":
                self._arrays[col] = series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            elif series.dtype == object:
                self._arrays[col] = series.to_numpy(dtype=object)
            else:
                self._arrays[col] = series.to_numpy()
        flags = np.zeros(len(frame), dtype=np.int16)
        for label in LABELS:
            flags += self._arrays[f"flag_{label.key}"].astype(np.int16)
        self._arrays["_nflags"] = flags
        order = np.arange(len(frame), dtype=np.int64)
        if self._sort is not None:
            order = self._sorted_order(*self._sort)
        if self.mask is not None and self.mask.size == order.size:
            order = order[self.mask[order]]
        self.order = order
        self.inverse = np.full(len(frame), -1, dtype=np.int64)
        self.inverse[order] = np.arange(order.size)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else int(self.order.size)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.columns[section].header
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            col = self.columns[section]
            return "Boundary flags raised (labels outside the training range)" if col.kind == "flags" else None
        return None

    def data(self, index: QModelIndex, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        pos = int(self.order[index.row()])
        col = self.columns[index.column()]
        if role == Qt.DisplayRole:
            return self._display(col, pos)
        if role == Qt.ForegroundRole and col.kind in ("label", "flags"):
            flagged = (self._arrays[f"flag_{col.key}"][pos] if col.kind == "label"
                       else self._arrays["_nflags"][pos])
            return QBrush(FLAG_COLOUR) if flagged else None
        if role == Qt.ToolTipRole and col.kind == "label" and self._arrays[f"flag_{col.key}"][pos]:
            return FLAG_TOOLTIP
        if role == Qt.TextAlignmentRole and col.kind != "text":
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.UserRole:
            return pos
        return None

    def _display(self, col: Column, pos: int) -> str:
        arrays = self._arrays
        if col.kind == "text":
            return str(arrays[col.key][pos])
        if col.kind == "int":
            return str(int(arrays[col.key][pos]))
        if col.kind == "bool":
            return "yes" if arrays[col.key][pos] else ""
        if col.kind == "flags":
            n = int(arrays["_nflags"][pos])
            return f"{n} ⚑" if n else ""
        value = float(arrays[col.key][pos])
        if not np.isfinite(value):
            return "–"
        if col.kind == "float":
            return f"{value:.{col.decimals}f}"
        return format_value(value, float(arrays[f"e{col.key}"][pos]), col.decimals)

    # -- sorting ----------------------------------------------------------------------------
    def sort_key(self, column: int) -> np.ndarray:
        """The numpy array a column sorts by."""
        col = self.columns[column]
        if col.kind == "flags":
            return self._arrays["_nflags"]
        values = self._arrays[col.key]
        if values.dtype == object:
            return values.astype(str)
        return values.astype(float)

    def _sorted_order(self, column: int, order: Qt.SortOrder) -> np.ndarray:
        key = self.sort_key(column)
        descending = int(getattr(order, "value", order)) == 1
        if key.dtype.kind == "f":
            nan = np.isnan(key)
            idx = np.argsort(-key if descending else key, kind="stable")
            return np.concatenate([idx[~nan[idx]], idx[nan[idx]]])  # NaN last either way
        idx = np.argsort(key, kind="stable")
        return idx[::-1].copy() if descending else idx

    def sort(self, column: int, order: Qt.SortOrder = Qt.AscendingOrder) -> None:
        if column < 0 or column >= len(self.columns):
            return
        self._sort = (column, order)
        self.refresh()

    def positions_to_rows(self, positions: np.ndarray) -> np.ndarray:
        """Model rows showing frame rows ``positions`` (-1 where a row is filtered out)."""
        return self.inverse[np.asarray(positions, dtype=np.int64)]

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Show only frame rows where ``mask`` is True (``None`` shows all)."""
        self.mask = mask
        self.refresh()


class StarFilterProxy(QSortFilterProxyModel):
    """The view's model: text and "flagged only" filters, computed in numpy by the source."""

    def __init__(self, source: ResultsModel, parent=None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self._text = ""
        self._flagged_only = False

    def sort(self, column: int, order: Qt.SortOrder = Qt.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    def set_text(self, text: str) -> None:
        """Show only rows whose name, ids or file contain ``text`` (case-insensitive)."""
        self._text = text.strip()
        self.apply()

    def set_flagged_only(self, flagged: bool) -> None:
        """Show only rows with a boundary flag, a disagreement or a vetting flag."""
        self._flagged_only = bool(flagged)
        self.apply()

    def apply(self) -> None:
        """Recompute the mask (call after the store changed)."""
        model: ResultsModel = self.sourceModel()
        frame = model.store.frame
        mask = None
        if self._text:
            text = self._text.lower()
            hay = (frame["name"].astype(str) + " " + frame["rave_obs_id"].astype(str) + " "
                   + frame["sourceid"].astype(str) + " " + frame["source_file"].astype(str))
            mask = hay.str.lower().str.contains(text, regex=False).to_numpy()
        if self._flagged_only:
            flagged = np.zeros(len(frame), dtype=bool)
            for label in LABELS:
                flagged |= frame[f"flag_{label.key}"].to_numpy() > 0
            flagged |= frame["disagreement"].to_numpy(dtype=bool)
            flagged |= frame["user_flag"].to_numpy(dtype=object) != ""
            mask = flagged if mask is None else mask & flagged
        model.set_mask(mask)

    def proxy_rows_for(self, positions: np.ndarray) -> np.ndarray:
        """Rows showing frame rows ``positions``, sorted (rows filtered out are dropped)."""
        rows = self.sourceModel().positions_to_rows(positions)
        return np.sort(rows[rows >= 0])

    def position_of(self, row: int) -> int:
        """The frame row shown at ``row``."""
        return int(self.sourceModel().order[row])

    def visible_positions(self) -> np.ndarray:
        """Frame rows currently shown, in display order."""
        return self.sourceModel().order
