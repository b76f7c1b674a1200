"""Photometry and absolute magnitudes of the current star (detail panel)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from raveview.core.labels import BANDS, PHOTOMETRIC_INPUTS

#: Column names tried, in order, for each band's apparent magnitude in a photometry table.
BAND_ALIASES: dict[str, tuple[str, ...]] = {
    "G": ("G", "phot_g_mean_mag", "gmag"), "BP": ("BP", "phot_bp_mean_mag", "bpmag"),
    "RP": ("RP", "phot_rp_mean_mag", "rpmag"), "J": ("J", "j_m", "jmag"), "H": ("H", "h_m", "hmag"),
    "Ks": ("Ks", "K", "ks_m", "kmag"), "W1": ("W1", "w1mpro", "w1mag"), "W2": ("W2", "w2mpro", "w2mag"),
}


def _lookup(row: Mapping, names: tuple[str, ...]) -> float:
    lower = {str(k).lower(): k for k in row.keys()}
    for name in names:
        key = lower.get(name.lower())
        if key is not None:
            try:
                return float(row[key])
            except (TypeError, ValueError):
                return np.nan
    return np.nan


class PhotometryPanel(QWidget):
    """Apparent and absolute magnitudes per band, parallax and A_V."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.note = QLabel("No photometry for this star")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.table = QTableWidget(len(BANDS) + 2, 2)
        self.table.setHorizontalHeaderLabels(["apparent", "absolute"])
        self.table.horizontalHeaderItem(1).setToolTip("Absolute magnitude: the network's input (A_V: extinction)")
        self.table.setVerticalHeaderLabels(list(BANDS) + ["A_V", "parallax (mas)"])
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)  # two equal columns
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)  # compact rows
        layout.addWidget(self.table)

    def set_photometry(self, row: Mapping | None, absolute: np.ndarray | None = None, flags: str = "") -> None:
        """Show a photometry table row and the 9 network inputs (``M_G`` … ``M_W2``, ``A_V``)."""
        absolute = None if absolute is None else np.asarray(absolute, dtype=float).ravel()
        if row is None and absolute is None:
            self.note.setText("No photometry for this star")
        else:
            self.note.setText(f"Photometry flags: {flags}" if flags else "Photometry inputs of the network")
        for i, band in enumerate(BANDS):
            app = np.nan if row is None else _lookup(row, BAND_ALIASES[band])
            ab = np.nan if absolute is None or absolute.size < len(PHOTOMETRIC_INPUTS) else absolute[i]
            self._set(i, 0, app)
            self._set(i, 1, ab)
        av = np.nan if row is None else _lookup(row, ("A_V", "av50", "av", "a_v"))
        if absolute is not None and absolute.size >= len(PHOTOMETRIC_INPUTS) and not np.isfinite(av):
            av = absolute[-1]
        self._set(len(BANDS), 0, av)
        self._set(len(BANDS) + 1, 0, np.nan if row is None else _lookup(row, ("parallax", "plx")))

    def _set(self, row: int, col: int, value: float) -> None:
        item = QTableWidgetItem("–" if not np.isfinite(value) else f"{value:.3f}")
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.table.setItem(row, col, item)


def photometry_of(photometry, record) -> tuple[dict | None, np.ndarray | None, str]:
    """Photometry row, the 9 network inputs and their flags for one star's catalog ``record``."""
    if photometry is None:
        return None, None, str(record.get("phot_flags", ""))
    import pandas as pd

    from raveview.core.photometry import absolute_magnitudes, join_photometry

    sid = record.get("sourceid")
    ids = pd.DataFrame({"rave_obs_id": [record.get("rave_obs_id") or None],
                        "source_id": [None if sid is None or pd.isna(sid) else int(sid)]})
    joined = join_photometry(ids, photometry)
    if joined["phot_match"].iloc[0] == "":
        return None, None, "star not in the photometry catalog"
    inputs = absolute_magnitudes(joined)
    return joined.iloc[0].to_dict(), inputs.values[0], inputs.flags[0]
