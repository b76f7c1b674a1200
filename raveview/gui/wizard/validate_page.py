"""Wizard page 4: validate the trained ensemble (one-to-one, Kiel, abundances, coverage, repeats)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget, QWizardPage

from raveview.gui.wizard import validation_plots as vp
from raveview.gui.worker import Job
from raveview.ml.validation import Validation, validate_bundle
from raveview.pipeline.repeats import repeat_precision

#: Tab name → file stem of the exported figure.
FIGURES = {"One-to-one": "one_to_one", "Kiel diagrams": "kiel", "Abundances": "abundances",
           "Coverage": "coverage", "Repeats": "repeats"}


def compute_validation(bundle_path: Path, data, source_ids, variants) -> tuple[Validation, dict | None]:
    """Predict the training set with the bundle; repeat precision from stars sharing a source id."""
    from raveview.ml.bundle import ModelBundle

    bundle = ModelBundle.load(bundle_path)
    kind = "photometry" if "photometry" in variants and "photometry" in bundle.kinds else bundle.kinds[-1]
    v = validate_bundle(bundle, data.x_spec, data.x_phot, data.y, data.label_order, kind=kind)
    repeats = None if source_ids is None else repeat_precision(source_ids, v.y_pred, v.label_order)
    return v, repeats


class ValidatePage(QWizardPage):
    """Shows the validation figures and exports them as PNG or PDF."""

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Validation")
        self.setSubTitle("Trained against input labels on the train (grey) and test (red) stars.")
        self.tabs = QTabWidget()
        self.layouts: dict[str, pg.GraphicsLayoutWidget] = {}
        for name in FIGURES:
            widget = pg.GraphicsLayoutWidget()
            widget.setBackground("w")
            self.layouts[name] = widget
            self.tabs.addTab(widget, name)
        self.status = QLabel("")
        self.export_button = QPushButton("Export the figures…")
        self.export_button.clicked.connect(self._export_dialog)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(row)
        self.validation: Validation | None = None
        self.repeats: dict | None = None
        self.job: Job | None = None

    def initializePage(self) -> None:  # noqa: N802 (Qt API)
        self.start()

    def start(self) -> Job:
        """Compute the validation numbers in the worker thread."""
        s = self.state
        self.validation, self.status_text = None, "predicting the training set…"
        self.status.setText(self.status_text)
        rows = s.training_rows(s.variants, mask=True)
        data = s.data.data.subset(rows)
        sids = None if s.data.source_ids is None else np.asarray(s.data.source_ids)[rows]
        self.job = Job(compute_validation, s.bundle_path, data, sids, s.variants, name="validation")
        self.job.returned.connect(self.show_validation)
        self.job.errored.connect(lambda exc: self.status.setText(f"⚠ {exc}"))
        self.completeChanged.emit()
        return s.runner.submit(self.job)

    def show_validation(self, result: tuple[Validation, dict | None]) -> None:
        """Draw every figure."""
        self.validation, self.repeats = result
        v = self.validation
        vp.one_to_one(self.layouts["One-to-one"], v)
        vp.kiel_diagrams(self.layouts["Kiel diagrams"], v)
        vp.abundance_patterns(self.layouts["Abundances"], v)
        vp.coverage_plot(self.layouts["Coverage"], v)
        vp.repeat_plot(self.layouts["Repeats"], self.repeats)
        stats = v.stats("test")
        self.status.setText(f"{v.kind} ensemble, {int(v.test.sum())} test stars: " + ", ".join(
            f"{k} σ {s.sigma:.3g}" for k, s in stats.items()))
        self.completeChanged.emit()

    def export(self, folder: str | Path, prefix: str = "validation_", suffix: str = ".png") -> list[Path]:
        """Write every figure as ``<prefix><name><suffix>`` (``.png`` or ``.pdf``) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for name, stem in FIGURES.items():
            self.tabs.setCurrentWidget(self.layouts[name])
            out.append(vp.export_widget(self.layouts[name], folder / f"{prefix}{stem}{suffix}"))
        return out

    def _export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the validation figures to")
        if folder:
            written = self.export(folder) + self.export(folder, suffix=".pdf")
            self.status.setText(f"wrote {len(written)} files to {folder}")

    def isComplete(self) -> bool:  # noqa: N802
        return self.validation is not None
