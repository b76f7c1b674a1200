"""Wizard page 2: what to fit and how (defaults: the paper's), with a run-time estimate."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget, QWizardPage)

from raveview.core.labels import LABELS
from raveview.core.progress import Progress
from raveview.gui.wizard.estimate import RunEstimate, estimate_run_time
from raveview.gui.worker import Job
from raveview.ml.settings import TrainingSettings

VARIANTS = {"with photometry": ("photometry",), "spectroscopy only": ("spectroscopy",),
            "both": ("photometry", "spectroscopy")}


def vectorized_available() -> bool:
    """True when the all-members-at-once engine can be imported."""
    try:
        return importlib.util.find_spec("raveview.ml.vectorized") is not None
    except ImportError:
        return False


def _spin(low, high, value, double: bool = False, decimals: int = 2):
    box = QDoubleSpinBox() if double else QSpinBox()
    if double:
        box.setDecimals(decimals)
    box.setRange(low, high)
    box.setValue(value)
    return box


def default_bundle_folder() -> Path:
    """A new folder under the user's data location for a trained bundle."""
    base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or Path.home())
    return base / "models" / datetime.now().strftime("model_%Y%m%d_%H%M%S")


class SettingsPage(QWizardPage):
    """Labels, photometry, ensemble size, early stopping, split, batch, selection, seed, engine."""

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Training settings")
        self.setSubTitle("The defaults are those of Guiglion et al. (2020).")
        d = TrainingSettings()
        grid = QGridLayout()
        self.label_boxes = {}
        for i, label in enumerate(LABELS):
            box = QCheckBox(label.display)
            box.setChecked(True)
            box.toggled.connect(self.completeChanged)
            self.label_boxes[label.key] = box
            grid.addWidget(box, i // 5, i % 5)
        self.variant = QComboBox()
        self.variant.addItems(list(VARIANTS))
        self.members = _spin(1, 1000, d.members)
        self.patience = _spin(1, 10000, d.patience)
        self.max_epochs = _spin(1, 100000, d.max_epochs)
        self.test_fraction = _spin(0.01, 0.9, d.test_fraction, double=True)
        self.batch_size = _spin(1, 65536, d.batch_size)
        self.keep = _spin(1.0, 100.0, d.keep_percentile, double=True, decimals=1)
        self.seed = _spin(0, 2**31 - 1, d.seed)
        self.engine = QComboBox()
        self.engine.addItems(["vectorized", "keras"] if vectorized_available() else ["keras"])
        self.folder = QLineEdit(str(default_bundle_folder()))
        form = QFormLayout()
        form.addRow("Labels to fit", grid)
        form.addRow("Photometric inputs", self.variant)
        form.addRow("Ensemble members", self.members)
        form.addRow("Early-stopping patience (epochs)", self.patience)
        form.addRow("Maximum epochs", self.max_epochs)
        form.addRow("Test fraction", self.test_fraction)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Keep members below percentile", self.keep)
        form.addRow("Seed", self.seed)
        form.addRow("Engine", self.engine)
        form.addRow("Bundle folder", self.folder)
        self.estimate_button = QPushButton("Estimate the run time")
        self.estimate_button.clicked.connect(self.estimate)
        self.estimate_label = QLabel("")
        self.estimate_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.estimate_button)
        row.addWidget(self.estimate_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        self.result: RunEstimate | None = None

    def initializePage(self) -> None:  # noqa: N802 (Qt API)
        data = self.state.data.data if self.state.data else None
        has_phot = data is not None and data.x_phot is not None and bool(data.phot_usable.any())
        self.variant.setEnabled(has_phot)
        if not has_phot:
            self.variant.setCurrentText("spectroscopy only")

    def label_order(self) -> tuple[str, ...]:
        """The checked labels, in catalog order."""
        return tuple(k for k, box in self.label_boxes.items() if box.isChecked())

    def variants(self) -> tuple[str, ...]:
        """Ensemble variants to train."""
        return VARIANTS[self.variant.currentText()]

    def settings(self) -> TrainingSettings:
        """The settings as chosen."""
        return TrainingSettings(members=self.members.value(), max_epochs=self.max_epochs.value(),
                                patience=self.patience.value(), batch_size=self.batch_size.value(),
                                test_fraction=self.test_fraction.value(), keep_percentile=self.keep.value(),
                                seed=self.seed.value(), with_photometry="photometry" in self.variants())

    def estimate(self) -> Job | None:
        """Time a few steps on this machine in the background."""
        if self.state.data is None or not self.label_order():
            return None
        self.estimate_button.setEnabled(False)
        self.estimate_label.setText("timing a few steps…")
        data = self.state.training_rows(self.variants())
        job = Job(estimate_run_time, data, self.settings(), self.label_order(), self.engine.currentText(),
                  self.variants(), name="run-time estimate")
        job.yielded.connect(self._on_estimate)
        job.errored.connect(lambda exc: self.estimate_label.setText(f"⚠ {exc}"))
        job.finished.connect(lambda: self.estimate_button.setEnabled(True))
        return self.state.runner.submit(job)

    def _on_estimate(self, p: Progress) -> None:
        if isinstance(p.payload, RunEstimate):
            self.result = p.payload
            self.estimate_label.setText(p.payload.text())

    def isComplete(self) -> bool:  # noqa: N802
        return bool(self.label_order()) and bool(self.folder.text().strip())

    def validatePage(self) -> bool:  # noqa: N802
        self.state.settings = self.settings()
        self.state.label_order = self.label_order()
        self.state.variants = self.variants()
        self.state.engine = self.engine.currentText()
        self.state.folder = Path(self.folder.text().strip())
        return True
