"""The nine labels of the current star with errors, boundary flags and model notes."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from raveview.core.labels import LABELS
from raveview.gui.number_format import error_decimals, format_value  # noqa: F401 (re-exported)

FLAG_STYLE = "background: #f7c98b; color: #6b3300; border-radius: 3px; padding: 0 4px; font-weight: bold"
MOCK_STYLE = "background: #c0392b; color: white; font-weight: bold; padding: 4px; border-radius: 4px"


@dataclass(frozen=True)
class ModelInfo:
    """What the labels panel says about the active model."""

    name: str
    trained_on: str = ""
    description: str = ""
    is_mock: bool = False
    label_ranges: dict[str, tuple[float, float]] | None = None


class LabelsPanel(QWidget):
    """Labels (value ± error, unit, boundary flag), photometry use, S/N and the model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_info: ModelInfo | None = None
        layout = QVBoxLayout(self)
        self.star_title = QLabel("No star selected")
        self.star_title.setStyleSheet("font-size: 13pt; font-weight: bold")
        self.star_title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.star_title)
        self.star_ids = QLabel("")  # Gaia id · observations: a line of its own keeps the side dock narrow
        self.star_ids.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.star_ids)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        self.value_labels: dict[str, QLabel] = {}
        self.flag_labels: dict[str, QLabel] = {}
        self.spread_labels: dict[str, QLabel] = {}
        for row, label in enumerate(LABELS):
            grid.addWidget(QLabel(label.display), row, 0)
            value = QLabel("–")
            value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            value.setStyleSheet("font-family: monospace")
            grid.addWidget(value, row, 1)
            grid.addWidget(QLabel(label.unit), row, 2)
            flag = QLabel("")
            grid.addWidget(flag, row, 3)
            spread = QLabel("")
            spread.setStyleSheet("color: #666")
            grid.addWidget(spread, row, 4)
            self.value_labels[label.key], self.flag_labels[label.key] = value, flag
            self.spread_labels[label.key] = spread
        layout.addLayout(grid)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.details)
        line = QFrame()
        line.setFrameShape(QFrame.HLine)
        layout.addWidget(line)
        self.mock_banner = QLabel("⚠ Model trained on MOCK data — for demonstration only, not for science")
        self.mock_banner.setStyleSheet(MOCK_STYLE)
        self.mock_banner.setWordWrap(True)
        self.mock_banner.setVisible(False)
        layout.addWidget(self.mock_banner)
        self.model_label = QLabel("Model: loading…")
        self.model_label.setWordWrap(True)
        layout.addWidget(self.model_label)
        layout.addStretch(1)

    def set_model_info(self, info: ModelInfo | None) -> None:
        """Describe the active model (``None``: no model loaded)."""
        self.model_info = info
        if info is None:
            self.model_label.setText("Model: none loaded")
            self.mock_banner.setVisible(False)
            return
        trained = f"<br>Trained on: {html.escape(info.trained_on)}" if info.trained_on else ""
        self.model_label.setText(f"<b>Model:</b> {html.escape(info.name)}{trained}")
        self.model_label.setToolTip(info.description)
        self.mock_banner.setVisible(info.is_mock)
        self._reserve_height()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._reserve_height()

    def _reserve_height(self) -> None:
        """Ask for the height the word-wrapped notes need at the current width.

        A dock's layout ignores height-for-width, so in a narrow dock the banner and the model's
        description wrap onto more lines than the minimum height allows for, and the label rows
        were squeezed on top of each other.
        """
        need = self.layout().totalHeightForWidth(self.width())
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)

    def set_star(self, record: pd.Series | None, spread: dict[str, float] | None = None) -> None:
        """Show the catalog row ``record`` of the current star (``None`` clears)."""
        spread = spread or {}
        if record is None:
            self.star_title.setText("No star selected")
            self.star_ids.setText("")
            for key in self.value_labels:
                self.value_labels[key].setText("–")
                self._set_flag(key, False)
                self.spread_labels[key].setText("")
            self.details.setText("")
            return
        n_obs = int(record.get("n_obs", 1) or 1)
        sid = record.get("sourceid")
        ids = ["no Gaia id" if sid is None or pd.isna(sid) else f"Gaia {int(sid)}"]
        ids += [f"{n_obs} observations"] if n_obs > 1 else []
        self.star_title.setText(str(record.get("name", "")))
        self.star_ids.setText("  ·  ".join(ids))
        for label in LABELS:
            decimals = 0 if label.key == "teff" else 2
            value = float(record.get(label.key, np.nan))
            error = float(record.get(f"e{label.key}", np.nan))
            self.value_labels[label.key].setText(format_value(value, error, decimals))
            self._set_flag(label.key, bool(record.get(f"flag_{label.key}", 0)) and np.isfinite(value))
            s = spread.get(label.key)
            places = error_decimals(s, decimals) if s is not None else decimals
            self.spread_labels[label.key].setText(f"spread {s:.{places}f} over {n_obs}" if s is not None else "")
        self.details.setText(self._details(record))
        self._reserve_height()

    def _set_flag(self, key: str, flagged: bool) -> None:
        flag, value = self.flag_labels[key], self.value_labels[key]
        if flagged:
            rng = (self.model_info.label_ranges or {}).get(key) if self.model_info else None
            where = f" [{rng[0]:g}, {rng[1]:g}]" if rng else ""
            flag.setText("⚑ outside training range")
            flag.setStyleSheet(FLAG_STYLE)
            tip = (f"Boundary flag: this value lies outside the training set's range{where}; "
                   "the network extrapolated here and the value may be biased.")
            flag.setToolTip(tip)
            value.setToolTip(tip)
            value.setStyleSheet("font-family: monospace; color: #b35900; font-weight: bold")
        else:
            flag.setText("")
            flag.setStyleSheet("")
            flag.setToolTip("")
            value.setToolTip("")
            value.setStyleSheet("font-family: monospace")

    @staticmethod
    def _details(record: pd.Series) -> str:
        if not np.isfinite(float(record.get("teff", np.nan))):
            snr = float(record.get("snr", np.nan))
            return f"Not parameterized yet.  S/N {snr:.0f}" if np.isfinite(snr) else "Not parameterized yet."
        parts = []
        snr = float(record.get("snr", np.nan))
        parts.append(f"S/N {snr:.0f}" if np.isfinite(snr) else "S/N unknown")
        if bool(record.get("photometry_used", False)):
            parts.append("photometry used")
        else:
            why = str(record.get("phot_flags", "") or "not available")
            parts.append(f"<span style='color:#b35900'>spectrum only (photometry: {why})</span>")
        masked = float(record.get("masked_fraction", np.nan))
        if np.isfinite(masked) and masked > 0:
            parts.append(f"{100 * masked:.0f} % pixels filled")
        if bool(record.get("disagreement", False)):
            parts.append("<span style='color:#b35900'>ensemble members disagree</span>")
        quality = str(record.get("quality_flags", "") or "")
        if quality:
            parts.append(f"quality: {quality}")
        oddity = float(record.get("oddity", np.nan))
        if np.isfinite(oddity):
            parts.append(f"oddity {oddity:.2f}")
        return "  ·  ".join(parts)
