"""A label–label diagram of all open stars: points or density, training coverage, linked selection.

Below :data:`DENSITY_THRESHOLD` stars the points are drawn one by one
(coloured by a third label); above it as a 2-D histogram image so that pan and
zoom stay fast with the full 420 165-star catalog. A click selects the nearest
star; the "Select box" rectangle selects every star inside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from raveview.core.labels import LABELS_BY_KEY

DENSITY_THRESHOLD = 5000
DENSITY_BINS = 256
CLICK_TOLERANCE_PX = 12.0


def _axis_title(key: str) -> str:
    label = LABELS_BY_KEY[key]
    return f"{label.display} ({label.unit})"


class ScatterDiagram(QWidget):
    """``y`` against ``x`` for every star with labels, coloured by ``colour``.

    Signals
    -------
    star_clicked(int)
        Frame row of the star nearest a click.
    region_selected(object)
        Frame rows (numpy array) inside the selection rectangle.
    """

    star_clicked = Signal(int)
    region_selected = Signal(object)

    def __init__(self, x: str, y: str, colour: str, invert_x: bool = False, invert_y: bool = False,
                 colour_range: tuple[float, float] = (-1.5, 0.5), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.x_key, self.y_key, self.colour_key = x, y, colour
        self.colour_range = colour_range
        self.frame: pd.DataFrame | None = None
        self.positions = np.zeros(0, dtype=np.int64)
        self.xy = np.zeros((0, 2))
        self.current: int | None = None
        self.ranges: dict[str, tuple[float, float]] = {}
        self.cmap = pg.colormap.get("viridis")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.toolbar = QHBoxLayout()
        self.caption = QLabel("")
        self.toolbar.addWidget(self.caption)
        self.toolbar.addStretch(1)
        self.box_button = QToolButton()
        self.box_button.setText("Select box")
        self.box_button.setCheckable(True)
        self.box_button.setToolTip("Drag/resize the rectangle to select the stars inside it in the list")
        self.box_button.toggled.connect(self._toggle_box)
        self.toolbar.addWidget(self.box_button)
        layout.addLayout(self.toolbar)
        self.widget = pg.PlotWidget(background="w")
        self.plot = self.widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setContentsMargins(0, 8, 0, 0)  # room above for the colour bar's top tick label (not cut off)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.plot.invertX(invert_x)
        self.plot.invertY(invert_y)
        layout.addWidget(self.widget, 1)
        self.coverage_item = QGraphicsRectItem()
        self.coverage_item.setPen(pg.mkPen((60, 60, 60), width=1.5, style=Qt.DashLine))
        self.coverage_item.setBrush(pg.mkBrush(120, 160, 220, 35))
        self.coverage_item.setZValue(-20)
        self.coverage_item.setVisible(False)
        self.plot.addItem(self.coverage_item)
        self.coverage_image = pg.ImageItem()
        self.coverage_image.setZValue(-19)
        self.coverage_image.setOpacity(0.35)
        self.plot.addItem(self.coverage_image)
        self.scatter = pg.ScatterPlotItem(size=6, pen=None, hoverable=False)
        self.plot.addItem(self.scatter)
        self.density = pg.ImageItem()
        self.density.setZValue(-5)
        self.plot.addItem(self.density)
        self.colour_bar = pg.ColorBarItem(values=colour_range, colorMap=self.cmap, interactive=False,
                                          label=LABELS_BY_KEY[colour].display, width=12)
        self.plot.layout.addItem(self.colour_bar, 2, 5)
        self.highlight = pg.ScatterPlotItem(size=16, pen=pg.mkPen((220, 30, 30), width=2.5), brush=None,
                                            symbol="o")
        self.highlight.setZValue(10)
        self.error_bars = pg.ErrorBarItem(pen=pg.mkPen((220, 30, 30), width=2), beam=0)
        self.error_bars.setZValue(10)
        self.plot.addItem(self.error_bars)
        self.plot.addItem(self.highlight)
        self.roi: pg.RectROI | None = None
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self._update_axes()

    # -- data -------------------------------------------------------------------------------
    def set_axes(self, x: str, y: str) -> None:
        """Change the plotted labels and redraw."""
        self.x_key, self.y_key = x, y
        self._update_axes()
        self.set_frame(self.frame)

    def set_frame(self, frame: pd.DataFrame | None) -> None:
        """Plot every row of ``frame`` with finite x and y; the row position is the star id."""
        self.frame = frame
        if frame is None or len(frame) == 0:
            self.positions = np.zeros(0, dtype=np.int64)
            self.xy = np.zeros((0, 2))
        else:
            x = frame[self.x_key].to_numpy(dtype=float)
            y = frame[self.y_key].to_numpy(dtype=float)
            ok = np.isfinite(x) & np.isfinite(y)
            self.positions = np.flatnonzero(ok)
            self.xy = np.column_stack([x[ok], y[ok]])
        self._draw_points()
        self._draw_coverage()
        self.set_current(self.current)

    @property
    def uses_density(self) -> bool:
        """True when the stars are drawn as a 2-D histogram image."""
        return len(self.positions) > DENSITY_THRESHOLD

    def _draw_points(self) -> None:
        n = len(self.positions)
        self.caption.setText(f"{n} stars" + (" (density)" if self.uses_density else ""))
        if n == 0:
            self.scatter.setData([], [])
            self.density.clear()
            return
        if not self.uses_density:
            self.density.clear()
            self.density.setVisible(False)
            c = self.frame[self.colour_key].to_numpy(dtype=float)[self.positions]
            lo, hi = self.colour_range
            t = np.clip((np.nan_to_num(c, nan=lo) - lo) / (hi - lo), 0, 1)
            colours = self.cmap.map(t, mode="byte")
            brushes = [pg.mkBrush(*rgba) for rgba in colours]
            self.scatter.setData(x=self.xy[:, 0], y=self.xy[:, 1], brush=brushes, data=self.positions)
            self.scatter.setVisible(True)
            return
        self.scatter.setData([], [])
        self.scatter.setVisible(False)
        (x0, x1), (y0, y1) = self._extent()
        hist, _, _ = np.histogram2d(self.xy[:, 0], self.xy[:, 1], bins=DENSITY_BINS, range=[[x0, x1], [y0, y1]])
        image = np.log1p(hist)
        self.density.setImage(image, levels=(0.0, max(float(image.max()), 1e-9)))
        self.density.setColorMap(pg.ColorMap([0.0, 0.01, 1.0], [(255, 255, 255, 0), (200, 210, 240, 255),
                                                                (20, 30, 110, 255)]))
        self.density.setRect(x0, y0, x1 - x0, y1 - y0)
        self.density.setVisible(True)

    def _extent(self) -> tuple[tuple[float, float], tuple[float, float]]:
        lo = np.nanpercentile(self.xy, 0.05, axis=0)
        hi = np.nanpercentile(self.xy, 99.95, axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        return (lo[0] - 0.02 * span[0], hi[0] + 0.02 * span[0]), (lo[1] - 0.02 * span[1], hi[1] + 0.02 * span[1])

    # -- training coverage ------------------------------------------------------------------
    def set_coverage(self, ranges: dict[str, tuple[float, float]] | None,
                     histograms: dict | None = None) -> None:
        """The active model's training-set label ranges (a box) and, if given, a 2-D density.

        ``histograms`` maps ``"x_key,y_key"`` to ``{"counts": 2-D list, "x_edges": [...], "y_edges": [...]}``.
        """
        self.ranges = dict(ranges or {})
        self.histograms = dict(histograms or {})
        self._draw_coverage()

    def _draw_coverage(self) -> None:
        rx, ry = self.ranges.get(self.x_key), self.ranges.get(self.y_key)
        if rx and ry:
            self.coverage_item.setRect(rx[0], ry[0], rx[1] - rx[0], ry[1] - ry[0])
            self.coverage_item.setToolTip("training-set label ranges of the active model")
            self.coverage_item.setVisible(True)
        else:
            self.coverage_item.setVisible(False)
        hist = getattr(self, "histograms", {}).get(f"{self.x_key},{self.y_key}")
        if hist:
            counts = np.log1p(np.asarray(hist["counts"], dtype=float))
            xe, ye = np.asarray(hist["x_edges"], float), np.asarray(hist["y_edges"], float)
            self.coverage_image.setImage(counts, levels=(0, max(counts.max(), 1e-9)))
            self.coverage_image.setColorMap(pg.ColorMap([0.0, 1.0], [(255, 255, 255, 0), (60, 100, 200, 255)]))
            self.coverage_image.setRect(xe[0], ye[0], xe[-1] - xe[0], ye[-1] - ye[0])
            self.coverage_image.setVisible(True)
        else:
            self.coverage_image.setVisible(False)

    # -- current star and selection ---------------------------------------------------------
    def set_current(self, position: int | None) -> None:
        """Highlight frame row ``position`` with its error bars (``None`` removes the highlight)."""
        self.current = position
        if position is None or self.frame is None or position >= len(self.frame):
            self.highlight.setData([], [])
            self.error_bars.setData(x=np.zeros(0), y=np.zeros(0))
            return
        rec = self.frame.iloc[position]
        x, y = float(rec[self.x_key]), float(rec[self.y_key])
        if not (np.isfinite(x) and np.isfinite(y)):
            self.highlight.setData([], [])
            self.error_bars.setData(x=np.zeros(0), y=np.zeros(0))
            return
        ex = float(rec.get(f"e{self.x_key}", np.nan))
        ey = float(rec.get(f"e{self.y_key}", np.nan))
        self.highlight.setData([x], [y])
        self.error_bars.setData(x=np.array([x]), y=np.array([y]),
                                width=np.array([2 * np.nan_to_num(ex)]), height=np.array([2 * np.nan_to_num(ey)]))

    def nearest(self, x: float, y: float, tolerance_px: float = CLICK_TOLERANCE_PX) -> int | None:
        """Frame row of the star nearest data point (x, y), within ``tolerance_px`` screen pixels."""
        if len(self.positions) == 0:
            return None
        vb = self.plot.getViewBox()
        px, py = vb.viewPixelSize()  # data units per screen pixel
        d2 = ((self.xy[:, 0] - x) / px) ** 2 + ((self.xy[:, 1] - y) / py) ** 2
        i = int(np.argmin(d2))
        return int(self.positions[i]) if d2[i] <= tolerance_px ** 2 else None

    def _on_click(self, event) -> None:
        if event.button() != Qt.LeftButton or event.isAccepted():
            return
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        point = vb.mapSceneToView(event.scenePos())
        found = self.nearest(point.x(), point.y())
        if found is not None:
            self.set_current(found)
            self.star_clicked.emit(found)

    def click_star(self, position: int) -> bool:
        """Simulate a click on the star in frame row ``position`` (as a user would); True if one was hit."""
        idx = np.flatnonzero(self.positions == position)
        if idx.size == 0:
            return False
        x, y = self.xy[idx[0]]
        found = self.nearest(x, y)
        if found is not None:
            self.set_current(found)
            self.star_clicked.emit(found)
        return found is not None

    def select_rect(self, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        """Frame rows of the stars inside the rectangle; emits :attr:`region_selected`."""
        xlo, xhi = sorted((x0, x1))
        ylo, yhi = sorted((y0, y1))
        inside = ((self.xy[:, 0] >= xlo) & (self.xy[:, 0] <= xhi)
                  & (self.xy[:, 1] >= ylo) & (self.xy[:, 1] <= yhi))
        rows = self.positions[inside]
        self.region_selected.emit(rows)
        return rows

    def _toggle_box(self, on: bool) -> None:
        if not on:
            if self.roi is not None:
                self.plot.removeItem(self.roi)
                self.roi = None
            return
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        w, h = (x1 - x0) / 3, (y1 - y0) / 3
        self.roi = pg.RectROI(QPointF(x0 + w, y0 + h), (w, h), pen=pg.mkPen((220, 30, 30), width=2))
        self.roi.addScaleHandle((0, 0), (1, 1))
        self.roi.sigRegionChangeFinished.connect(self._roi_changed)
        self.plot.addItem(self.roi)
        self._roi_changed()

    def _roi_changed(self) -> None:
        if self.roi is None:
            return
        pos, size = self.roi.pos(), self.roi.size()
        self.select_rect(pos.x(), pos.x() + size.x(), pos.y(), pos.y() + size.y())

    def _update_axes(self) -> None:
        self.plot.setLabel("bottom", _axis_title(self.x_key))
        self.plot.setLabel("left", _axis_title(self.y_key))
