"""Wizard page 3: train with live loss curves (Fig. 5 of the paper), ETA, pause/resume and cancel."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget, QWizardPage

from raveview.core.progress import Progress
from raveview.gui.worker import Job
from raveview.ml.training import train_ensemble


class LossCurves:
    """Per-member training and test losses gathered from either engine's Progress payloads."""

    def __init__(self) -> None:
        self.train: dict[tuple[str, int], list[float]] = {}
        self.test: dict[tuple[str, int], list[float]] = {}
        self.finished: set[tuple[str, int]] = set()

    def update(self, p: Progress) -> bool:
        """Take one Progress; True when it carried losses."""
        payload = p.payload
        if not isinstance(payload, dict) or "val_loss" not in payload:
            return False
        if isinstance(payload["val_loss"], list):  # vectorized: every member's history at once
            kind = p.message.split(":", 1)[0].strip()
            for m, (tr, va) in enumerate(zip(payload["train_loss"], payload["val_loss"])):
                self.train[(kind, m)], self.test[(kind, m)] = list(tr), list(va)
                if not payload["running"][m]:
                    self.finished.add((kind, m))
        else:  # keras: one member's epoch
            key = (payload.get("kind", ""), int(payload.get("member", 0)))
            self.train.setdefault(key, []).append(float(payload["train_loss"]))
            self.test.setdefault(key, []).append(float(payload["val_loss"]))
            for other in self.test:
                if other != key and other[0] == key[0] and other[1] < key[1]:
                    self.finished.add(other)
        return True

    def last_test_losses(self) -> np.ndarray:
        """Last test loss of each finished member."""
        return np.array([self.test[k][-1] for k in sorted(self.finished) if self.test.get(k)], float)


class RunPage(QWizardPage):
    """Runs :func:`~raveview.ml.training.train_ensemble` in the wizard's worker thread."""

    training_finished = Signal(object)

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Training")
        self.setSubTitle("Training and test loss of every member (log scale); pausing keeps the finished "
                         "members, resuming continues from them.")
        self.loss_plot = pg.PlotWidget(title="loss vs epoch")
        self.loss_plot.setLogMode(False, True)
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.setLabel("left", "MSE (normalised labels)")
        self.hist_plot = pg.PlotWidget(title="last test loss of finished members")
        self.hist_plot.setLabel("bottom", "last test loss")
        self.status = QLabel("")
        self.bar = QProgressBar()
        self.pause_button, self.cancel_button = QPushButton("Pause"), QPushButton("Cancel")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.bar, 1)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.cancel_button)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot, 2)
        plots.addWidget(self.hist_plot, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(plots, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.curves = LossCurves()
        self._items: dict[tuple[str, int], tuple] = {}
        self.job: Job | None = None
        self.done_path = None
        self.paused = False
        self.trained = False
        self._t0 = 0.0

    def initializePage(self) -> None:  # noqa: N802 (Qt API)
        if self.done_path is None and self.job is None:
            self.start()

    def start(self) -> Job:
        """Start (or resume) the training; finished members in the bundle folder are kept."""
        s = self.state
        data = s.training_rows(s.variants)
        cols = [data.label_order.index(k) for k in s.label_order]
        phot = data.x_phot if "photometry" in s.variants else None
        self.paused, self.done_path, self.trained = False, None, False
        self.pause_button.setText("Pause")
        self._t0 = time.perf_counter()
        self.job = Job(train_ensemble, data.x_spec, phot, data.y[:, cols], s.label_order, s.settings, s.folder,
                       engine=s.engine, trained_on=s.data.trained_on, variants=s.variants, grid=data.grid,
                       training_data=s.data.info, name="training")
        self.job.yielded.connect(self._on_progress)
        self.job.errored.connect(lambda exc: self.status.setText(f"⚠ {exc}"))
        self.job.finished.connect(self._on_finished)
        self.completeChanged.emit()
        return s.runner.submit(self.job)

    def toggle_pause(self) -> None:
        """Pause (stop at the next epoch, keeping finished members) or resume."""
        if self.job is not None:
            self.paused = True
            self.job.cancel()
            self.pause_button.setText("Resume")
            self.status.setText("pausing after this epoch…")
        elif self.done_path is None:
            self.start()

    def cancel(self) -> None:
        """Stop the training; the bundle folder keeps the finished members."""
        if self.job is not None:
            self.job.cancel()
            self.status.setText("cancelled; resume later with the same settings and folder")

    def _on_progress(self, p: Progress) -> None:
        if isinstance(p.payload, Path):
            self.done_path = p.payload
        if self.curves.update(p):
            self._redraw()
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(p.done)
        eta = ""
        if p.total and p.done and p.done < p.total:
            elapsed = time.perf_counter() - self._t0
            eta = f" — ETA {elapsed * (p.total - p.done) / p.done:.0f} s"
        running = len(self.curves.test) - len(self.curves.finished)
        self.status.setText(f"{p.message} — {len(self.curves.finished)} members finished, "
                            f"{max(running, 0)} running{eta}")

    def _redraw(self) -> None:
        for key, test in self.curves.test.items():
            if key not in self._items:
                hue = (hash(key) % 97) / 97.0
                color = pg.hsvColor(hue, 0.8, 0.9)
                self._items[key] = (self.loss_plot.plot(pen=pg.mkPen(color, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)),
                                    self.loss_plot.plot(pen=pg.mkPen(color, width=1.5)))
            train_item, test_item = self._items[key]
            train = self.curves.train.get(key, [])
            train_item.setData(np.arange(1, len(train) + 1), np.maximum(train, 1e-12))
            test_item.setData(np.arange(1, len(test) + 1), np.maximum(test, 1e-12))
        losses = self.curves.last_test_losses()
        self.hist_plot.clear()
        if losses.size:
            counts, edges = np.histogram(losses, bins=max(5, min(30, losses.size)))
            self.hist_plot.plot(edges, counts, stepMode="center", fillLevel=0, brush=(80, 120, 200, 150))
            cut = float(np.percentile(losses, self.state.settings.keep_percentile))
            self.hist_plot.addItem(pg.InfiniteLine(cut, angle=90, pen=pg.mkPen("r", width=2),
                                                   label=f"{self.state.settings.keep_percentile:g}th pct"))

    def _on_finished(self) -> None:
        self.job = None
        self.trained = self.done_path is not None
        if self.trained:
            self.curves.finished.update(self.curves.test)
            self._redraw()
            self.state.bundle_path = self.done_path
            self.status.setText(f"trained: {self.done_path}")
            self.pause_button.setEnabled(False)
            self.cancel_button.setEnabled(False)
            self.training_finished.emit(self.done_path)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self.trained
