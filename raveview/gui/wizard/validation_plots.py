"""The validation figures (Figs. 6, 7, 8, 19 of the paper and a coverage plot) as pyqtgraph layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import QWidget

from raveview.core.labels import LABELS_BY_KEY
from raveview.ml.validation import COVERAGE_K, Validation, gaussian_coverage
from raveview.pipeline.repeats import RepeatPrecision

TRAIN_BRUSH, TEST_BRUSH = pg.mkBrush(150, 150, 150, 90), pg.mkBrush(220, 60, 40, 200)
MAX_POINTS = 20000


def _title(key: str) -> str:
    label = LABELS_BY_KEY[key]
    return f"{label.display} [{label.unit}]"


def _add_plot(layout: pg.GraphicsLayoutWidget, **kwargs) -> pg.PlotItem:
    """A plot in ``layout`` whose axes show plain label values (no ×0.001 SI rescaling)."""
    plot = layout.addPlot(**kwargs)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
    return plot


def _scatter(plot, x, y, brush, size=3) -> None:
    """Add points; ``brush`` is one brush or one per point (thinned to MAX_POINTS)."""
    if len(x) > MAX_POINTS:
        rows = np.random.default_rng(0).choice(len(x), MAX_POINTS, replace=False)
        x, y = x[rows], y[rows]
        if isinstance(brush, list):
            brush = [brush[i] for i in rows]
    plot.addItem(pg.ScatterPlotItem(x, y, pen=None, brush=brush, size=size))


def one_to_one(layout: pg.GraphicsLayoutWidget, v: Validation) -> None:
    """Trained vs input label, train (grey) and test (red) stars, with bias and σ (Fig. 6)."""
    layout.clear()
    train, test = v.stats("train"), v.stats("test")
    for j, key in enumerate(v.label_order):
        plot = _add_plot(layout, row=j // 3, col=j % 3, title=_title(key))
        x, y = v.y_true[:, j], v.y_pred[:, j]
        _scatter(plot, x[~v.test], y[~v.test], TRAIN_BRUSH)
        _scatter(plot, x[v.test], y[v.test], TEST_BRUSH)
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        plot.plot([lo, hi], [lo, hi], pen=pg.mkPen("k", width=1))
        plot.setLabel("bottom", "input")
        plot.setLabel("left", "trained")
        lines = [f"test: bias {test[key].bias:.3g}, σ {test[key].sigma:.3g} (n={test[key].n})"]
        if train[key].n:
            lines.insert(0, f"train: bias {train[key].bias:.3g}, σ {train[key].sigma:.3g}")
        text = pg.TextItem("\n".join(lines), color="k", anchor=(0, 0))
        plot.addItem(text)
        text.setPos(lo, float(np.nanmax(y)))


def _kiel(plot, teff, logg, mh) -> None:
    finite = np.isfinite(mh)
    norm = np.clip((mh - np.nanpercentile(mh[finite], 2)) / max(np.ptp(mh[finite]), 1e-9), 0, 1) if finite.any() else mh
    cmap = pg.colormap.get("viridis")
    brushes = [pg.mkBrush(c) for c in cmap.map(np.nan_to_num(norm), mode="qcolor")]
    _scatter(plot, teff, logg, brushes)
    plot.invertX(True)
    plot.invertY(True)
    plot.setLabel("bottom", "Teff [K]")
    plot.setLabel("left", "log g")


def kiel_diagrams(layout: pg.GraphicsLayoutWidget, v: Validation) -> None:
    """Input and trained Kiel diagrams coloured by [M/H] (Fig. 7)."""
    layout.clear()
    need = ("teff", "logg")
    if not all(k in v.label_order for k in need):
        layout.addLabel("Teff and log g were not fitted")
        return
    colour = "mh" if "mh" in v.label_order else "teff"
    t, g, c = v.column("teff"), v.column("logg"), v.column(colour)
    for col, (name, y) in enumerate((("input labels", v.y_true), ("trained labels", v.y_pred))):
        plot = _add_plot(layout, row=0, col=col, title=f"{name} (colour: {colour})")
        _kiel(plot, y[:, t], y[:, g], y[:, c])


def abundance_patterns(layout: pg.GraphicsLayoutWidget, v: Validation) -> None:
    """[X/Fe] and [α/M] against [Fe/H] for input (grey) and trained (red) labels (Fig. 8)."""
    layout.clear()
    ratios = [k for k in ("alpham", "sife", "mgfe", "alfe", "nife") if k in v.label_order]
    if "feh" not in v.label_order or not ratios:
        layout.addLabel("[Fe/H] and abundance ratios were not fitted")
        return
    f = v.column("feh")
    for i, key in enumerate(ratios):
        plot = _add_plot(layout, row=i // 3, col=i % 3, title=_title(key))
        j = v.column(key)
        _scatter(plot, v.y_true[:, f], v.y_true[:, j], TRAIN_BRUSH)
        _scatter(plot, v.y_pred[:, f], v.y_pred[:, j], TEST_BRUSH)
        plot.setLabel("bottom", "[Fe/H]")


def coverage_plot(layout: pg.GraphicsLayoutWidget, v: Validation) -> None:
    """Fraction of test residuals within k σ, raw spread and calibrated, against a Gaussian."""
    layout.clear()
    for col, (name, calibrated) in enumerate((("raw ensemble spread", False), ("calibrated", True))):
        if calibrated and v.sigma_cal is None:
            layout.addLabel("no calibration in this bundle", row=0, col=col)
            continue
        plot = _add_plot(layout, row=0, col=col, title=f"coverage, {name} (test stars)")
        plot.addLegend(offset=(5, 5))
        plot.plot(COVERAGE_K, gaussian_coverage(), pen=pg.mkPen("k", width=2), name="Gaussian")
        cov = v.coverage(calibrated)
        for j, key in enumerate(v.label_order):
            plot.plot(COVERAGE_K, cov[:, j], pen=pg.mkPen(pg.intColor(j, len(v.label_order)), width=1.5),
                      name=LABELS_BY_KEY[key].display)
        plot.setLabel("bottom", "k (multiples of σ)")
        plot.setLabel("left", "fraction within k σ")


def repeat_plot(layout: pg.GraphicsLayoutWidget, repeats: dict[str, RepeatPrecision] | None) -> None:
    """Differences between repeats of the same star with the two-Gaussian fit (Fig. 19)."""
    layout.clear()
    if not repeats or not any(r.differences.size for r in repeats.values()):
        layout.addLabel("no repeat observations (stars sharing a source id) in this data set")
        return
    for i, (key, rep) in enumerate(repeats.items()):
        d = rep.differences[np.isfinite(rep.differences)]
        fit = rep.fit
        plot = _add_plot(layout, row=i // 3, col=i % 3, title=f"Δ{LABELS_BY_KEY[key].display}: "
                              f"σ {fit.sigma_narrow:.3g} / {fit.sigma_broad:.3g}, precision {fit.precision:.3g}")
        span = np.nanpercentile(np.abs(d), 99) or 1.0
        counts, edges = np.histogram(d, bins=40, range=(-span, span))
        plot.plot(edges, counts, stepMode="center", fillLevel=0, brush=(80, 120, 200, 150))
        x = np.linspace(-span, span, 400)
        plot.plot(x, fit.pdf(x) * d.size * (edges[1] - edges[0]), pen=pg.mkPen("r", width=2))
        plot.setLabel("bottom", f"difference [{LABELS_BY_KEY[key].unit}]")


def export_widget(widget: QWidget, path: str | Path) -> Path:
    """Write a widget's picture as PNG (or any image suffix Qt knows) or as PDF (``.pdf``)."""
    path = Path(path)
    pixmap = widget.grab()
    if path.suffix.lower() == ".pdf":
        writer = QPdfWriter(str(path))
        writer.setResolution(150)
        writer.setPageSize(QPageSize(QSizeF(pixmap.width() * 72 / 150, pixmap.height() * 72 / 150), QPageSize.Unit.Point))
        writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Point)
        painter = QPainter(writer)
        painter.drawPixmap(QRectF(painter.viewport()), pixmap, QRectF(pixmap.rect()))
        painter.end()
    elif not pixmap.save(str(path)):
        raise OSError(f"cannot write {path}")
    return path
