"""The spectrum of the current star on the model grid, with lines, mask and model overlay."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget

from raveview.core.errors import RaveviewError
from raveview.core.grid import DEFAULT_GRID, WavelengthGrid
from raveview.core.spectrum import Spectrum
from raveview.gui.diagnostic_lines import (ELEMENT_COLOURS, ELEMENTS, PRIORITY, Line, diagnostic_lines,
                                           place_labels, short_label)

MAX_SHADED_RUNS = 60
LABEL_ROWS = 3  # rows of line labels at the top of the plot
LABEL_HEADROOM = 0.3  # free space above the spectrum for them, as a fraction of its span


def filled_runs(filled: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` pixel index of each run of True in ``filled``."""
    padded = np.concatenate([[False], np.asarray(filled, bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


class ElidedLabel(QLabel):
    """A one-line label that shrinks with an ellipsis (full text in its tool tip).

    A plain QLabel is never narrower than its text: the spectrum's title would set the window's minimum
    width (wider than a 1440-pixel screen with the docks at their default widths).
    """

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), 120), hint.height())

    def paintEvent(self, event) -> None:  # noqa: N802
        rect = self.contentsRect()
        QPainter(self).drawText(rect, int(self.alignment()),
                                self.fontMetrics().elidedText(self.text(), Qt.ElideRight, rect.width()))


class SpectrumView(QWidget):
    """Flux ± error on the model grid (or the native sampling), diagnostic lines, model overlay.

    Signals
    -------
    line_clicked(float)
        A line marker was clicked (its wavelength); the view zooms to it.
    """

    line_clicked = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid: WavelengthGrid = DEFAULT_GRID
        self.spectrum: Spectrum | None = None
        self.resampled = None
        self.model_flux: np.ndarray | None = None
        self.native = False
        self.lines: list[Line] = diagnostic_lines()
        self._line_items: dict[str, list[pg.InfiniteLine]] = {e: [] for e in ELEMENTS}
        self._shading: list[pg.LinearRegionItem] = []
        self._build()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        pg.setConfigOptions(antialias=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        self.title = ElidedLabel("No spectrum")
        self.title.setStyleSheet("font-weight: bold")
        bar.addWidget(self.title)
        bar.addStretch(1)
        self.native_box = QCheckBox("Native sampling")
        self.native_box.setToolTip("Show the spectrum on its own sampling instead of the model grid (N)")
        self.native_box.toggled.connect(self.set_native)
        bar.addWidget(self.native_box)
        self.model_box = QCheckBox("Model overlay")
        self.model_box.setChecked(True)
        self.model_box.setToolTip("Mock-survey model spectrum at the predicted labels, residual below")
        self.model_box.toggled.connect(self._redraw)
        bar.addWidget(self.model_box)
        lines_button = QToolButton()
        lines_button.setText("Lines")
        lines_button.setToolTip("Diagnostic lines to mark, per element")
        lines_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(lines_button)
        self.element_buttons: dict[str, QAction] = {}  # checkable, one per element group
        for element in ELEMENTS:
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(*ELEMENT_COLOURS[element]))
            action = menu.addAction(QIcon(swatch), element)
            action.setCheckable(True)
            action.setChecked(element in ("Ca II", "Paschen", "Fe I"))
            action.toggled.connect(lambda on, e=element: self.set_element_visible(e, on))
            self.element_buttons[element] = action
        lines_button.setMenu(menu)
        bar.addWidget(lines_button)
        layout.addLayout(bar)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.plot = self.canvas.addPlot(row=0, col=0)
        self.plot.setLabel("left", "normalised flux")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.resid_plot = self.canvas.addPlot(row=1, col=0)
        self.resid_plot.setLabel("left", "data − model")
        self.resid_plot.setLabel("bottom", "wavelength (Å, air)")
        self.resid_plot.setXLink(self.plot)
        self.resid_plot.setMaximumHeight(140)
        self.resid_plot.showGrid(x=True, y=True, alpha=0.15)
        self.resid_plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.DashLine)))
        self.canvas.ci.layout.setRowStretchFactor(0, 4)
        self.canvas.ci.layout.setRowStretchFactor(1, 1)
        layout.addWidget(self.canvas, 1)

        self.upper = pg.PlotDataItem(pen=None)
        self.lower = pg.PlotDataItem(pen=None)
        self.band = pg.FillBetweenItem(self.upper, self.lower, brush=pg.mkBrush(60, 100, 200, 60))
        self.flux_item = pg.PlotDataItem(pen=pg.mkPen((20, 40, 120), width=1.3), name="flux")
        self.model_item = pg.PlotDataItem(pen=pg.mkPen((220, 60, 30), width=1.2, style=Qt.DashLine))
        self.resid_item = pg.PlotDataItem(pen=pg.mkPen((20, 40, 120), width=1))
        self.headroom = pg.PlotCurveItem(pen=pg.mkPen(None))  # invisible: keeps a band free for line labels
        for item in (self.upper, self.lower, self.band, self.flux_item, self.model_item, self.headroom):
            self.plot.addItem(item)
        self.resid_plot.addItem(self.resid_item)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
            self.resid_plot.getAxis(axis).enableAutoSIPrefix(False)
        for line in self.lines:
            r, g, b = ELEMENT_COLOURS.get(line.element, (100, 100, 100))
            item = pg.InfiniteLine(
                line.wavelength, angle=90, movable=False,
                pen=pg.mkPen((r, g, b, 170), width=1, style=Qt.DotLine),
                hoverPen=pg.mkPen((r, g, b), width=3), label=short_label(line),
                labelOpts={"position": 0.98, "color": (r, g, b), "anchors": [(0.5, 0), (0.5, 0)],
                           "fill": pg.mkBrush(255, 255, 255, 190)},
            )
            item.diagnostic = line
            item.setToolTip(f"{line.label} {line.wavelength:.2f} Å — click to zoom")
            item.sigClicked.connect(lambda _item, _ev, w=line.wavelength: self.zoom_to(w))
            item.setZValue(-5)
            self._line_items.setdefault(line.element, []).append(item)
            self.plot.addItem(item)
            item.setVisible(self.element_buttons.get(line.element) is not None
                            and self.element_buttons[line.element].isChecked())
        view = self.plot.getViewBox()
        view.sigXRangeChanged.connect(self._layout_labels)
        view.sigResized.connect(self._layout_labels)

    def _layout_labels(self, *_args) -> None:
        """Stack the visible line labels in rows at the top; drop the weakest where they would overlap."""
        view = self.plot.getViewBox()
        (x0, x1), width, height = view.viewRange()[0], view.width(), view.height()
        if x1 <= x0 or width <= 0 or height <= 0:
            return
        items = [i for items in self._line_items.values() for i in items if i.isVisible()]
        shown = [i for i in items if x0 <= i.value() <= x1]
        for item in items:
            if item not in shown:
                item.label.setVisible(False)
        centres = [(i.value() - x0) / (x1 - x0) * width for i in shown]
        widths = [i.label.boundingRect().width() for i in shown]
        tiers = place_labels(centres, widths, [PRIORITY.get(i.diagnostic.element, 2) for i in shown], LABEL_ROWS)
        row_height = max([i.label.boundingRect().height() for i in shown] or [16.0])
        for item, tier in zip(shown, tiers):
            item.label.setVisible(tier is not None)
            if tier is not None:
                item.label.setPosition(max(0.0, 1.0 - (2 + tier * (row_height + 1)) / height))

    # -- public API -------------------------------------------------------------------------
    def set_spectrum(self, spectrum: Spectrum | None, grid: WavelengthGrid | None = None) -> None:
        """Show ``spectrum`` (``None`` clears the view) resampled onto ``grid``."""
        self.spectrum = spectrum
        self.grid = grid or self.grid
        self.resampled = None
        self.model_flux = None
        self._note = ""
        if spectrum is not None:
            try:
                from raveview.core.preprocess import resample

                self.resampled = resample(spectrum, self.grid)
            except RaveviewError as exc:
                self._note = f" — not on the model grid ({exc.message})"
        self._redraw()
        self.reset_zoom()

    def reset_zoom(self) -> None:
        """Show the whole spectrum (the model grid's range, or the native range)."""
        if self.spectrum is None:
            return
        wave = self.spectrum.wavelength if self.native or self.resampled is None else self.grid.wavelength
        self.plot.setXRange(float(wave[0]), float(wave[-1]), padding=0.01)
        self.plot.enableAutoRange(axis="y")

    def set_model(self, model_flux: np.ndarray | None) -> None:
        """Overlay a model spectrum on the grid (``None`` removes it)."""
        self.model_flux = None if model_flux is None else np.asarray(model_flux, dtype=float)
        self._redraw()

    def set_native(self, native: bool) -> None:
        """Show the native sampling (True) or the model grid (False)."""
        self.native = bool(native)
        if self.native_box.isChecked() != self.native:
            self.native_box.setChecked(self.native)
        self._redraw()

    def set_element_visible(self, element: str, visible: bool) -> None:
        """Show or hide the line markers of one element group."""
        for item in self._line_items.get(element, []):
            item.setVisible(visible)
        self._layout_labels()
        button = self.element_buttons.get(element)
        if button is not None and button.isChecked() != visible:
            button.setChecked(visible)

    def zoom_to(self, wavelength: float, half_width: float = 6.0) -> None:
        """Zoom the x axis to ``wavelength ± half_width`` Å."""
        self.plot.setXRange(wavelength - half_width, wavelength + half_width, padding=0)
        self.plot.enableAutoRange(axis="y")
        self.plot.setAutoVisible(y=True)
        self.line_clicked.emit(float(wavelength))

    def residual(self) -> np.ndarray | None:
        """Data − model on the grid over unfilled pixels, or ``None`` without an overlay."""
        if self.resampled is None or self.model_flux is None or self.model_flux.shape != self.resampled.flux.shape:
            return None
        return np.where(self.resampled.filled, np.nan, self.resampled.flux - self.model_flux)

    # -- drawing ----------------------------------------------------------------------------
    def _redraw(self) -> None:
        for region in self._shading:
            self.plot.removeItem(region)
        self._shading = []
        spec = self.spectrum
        if spec is None:
            for item in (self.flux_item, self.upper, self.lower, self.model_item, self.resid_item, self.headroom):
                item.setData([], [])
            self.title.setText("No spectrum")
            return
        if self.native or self.resampled is None:
            wave, flux, sigma, filled = spec.wavelength, spec.flux, spec.sigma, spec.bad_pixels
            where = "native sampling"
        else:
            res = self.resampled
            wave, flux, sigma, filled = res.wavelength, res.flux, res.sigma, res.filled
            where = f"model grid, {100 * res.filled_fraction:.0f} % filled"
        shown = np.where(filled, np.nan, flux)
        self.flux_item.setData(wave, shown, connect="finite")
        if sigma is not None:
            s = np.where(np.isfinite(sigma), sigma, 0.0)
            base = np.where(filled, np.nan, flux)
            self.upper.setData(wave, np.nan_to_num(base + s, nan=1.0))
            self.lower.setData(wave, np.nan_to_num(base - s, nan=1.0))
        else:
            self.upper.setData([], [])
            self.lower.setData([], [])
        finite = shown[np.isfinite(shown)]
        if finite.size:  # the y range reaches LABEL_HEADROOM of the data's span above its top
            lo, hi = np.percentile(finite, [0.5, 99.9])
            self.headroom.setData(wave, np.full(wave.size, hi + LABEL_HEADROOM * max(hi - lo, 0.05)))
        else:
            self.headroom.setData([], [])
        runs = filled_runs(filled)
        step = float(np.median(np.diff(wave))) if wave.size > 1 else 0.4
        for a, b in runs[:MAX_SHADED_RUNS]:
            region = pg.LinearRegionItem((wave[a] - step / 2, wave[b] + step / 2), movable=False,
                                         brush=pg.mkBrush(150, 150, 150, 70), pen=pg.mkPen(None))
            region.setToolTip("masked or filled pixels (not seen by the network)")
            region.setZValue(-10)
            self.plot.addItem(region)
            self._shading.append(region)
        show_model = self.model_box.isChecked() and self.model_flux is not None
        resid = self.residual() if show_model else None
        if show_model and self.model_flux.shape == self.grid.wavelength.shape:
            self.model_item.setData(self.grid.wavelength, self.model_flux)
        else:
            self.model_item.setData([], [])
        if resid is not None:
            self.resid_item.setData(self.grid.wavelength, resid, connect="finite")
        else:
            self.resid_item.setData([], [])
        snr = f"S/N {spec.snr:.0f}, " if spec.snr else ""  # first: it survives the title's elision
        self.title.setText(f"{spec.name} — {snr}{where}{getattr(self, '_note', '')}")
