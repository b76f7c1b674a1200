"""The training wizard: data → settings → run → validate → save."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget, QWizard

from raveview.gui.wizard.data_page import DataPage
from raveview.gui.wizard.data_sources import WizardData
from raveview.gui.wizard.run_page import RunPage
from raveview.gui.wizard.save_page import SavePage
from raveview.gui.wizard.settings_page import SettingsPage
from raveview.gui.wizard.validate_page import ValidatePage
from raveview.gui.worker import JobRunner
from raveview.ml.settings import TrainingSettings
from raveview.ml.training_data import TrainingSet


@dataclass
class WizardState:
    """What the pages share: the data, the chosen settings and the trained bundle."""

    runner: JobRunner
    data: WizardData | None = None
    settings: TrainingSettings = field(default_factory=TrainingSettings)
    label_order: tuple[str, ...] = ()
    variants: tuple[str, ...] = ("photometry",)
    engine: str = "keras"
    folder: Path | None = None
    bundle_path: Path | None = None

    def training_rows(self, variants: tuple[str, ...], mask: bool = False) -> TrainingSet | np.ndarray:
        """The training set (or its row mask): stars with usable photometry when photometry is used."""
        data = self.data.data
        rows = np.ones(len(data.ids), bool)
        if "photometry" in variants and data.phot_usable is not None:
            rows &= np.asarray(data.phot_usable, bool)
        if mask:
            return rows
        return data if rows.all() else data.subset(rows)


class TrainingWizard(QWizard):
    """Train, validate and save a CNN ensemble; emits ``model_saved(Path)`` when finished."""

    model_saved = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.runner = JobRunner("raveview-training", parent=self)
        self.state = WizardState(self.runner)
        self.data_page = DataPage(self.state)
        self.settings_page = SettingsPage(self.state)
        self.run_page = RunPage(self.state)
        self.validate_page = ValidatePage(self.state)
        self.save_page = SavePage(self.state)
        for page in (self.data_page, self.settings_page, self.run_page, self.validate_page, self.save_page):
            self.addPage(page)
        self.resize(1100, 800)
        self.finished.connect(lambda _result: self.shutdown())

    def accept(self) -> None:
        """Finish: announce the bundle when it should become the active model."""
        path = self.state.bundle_path
        super().accept()
        if path is not None and self.save_page.activate.isChecked():
            self.model_saved.emit(Path(path))

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel running work and stop the worker thread."""
        self.runner.shutdown(timeout_ms)


def open_wizard(window) -> TrainingWizard:
    """Open the wizard over the main window; a saved model becomes its active model."""
    wizard = TrainingWizard(window)
    service = getattr(window, "service", None)
    if service is not None:
        wizard.model_saved.connect(service.load_model)
    wizard.show()
    return wizard
