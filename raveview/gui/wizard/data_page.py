"""Wizard page 1: choose and load the training set (files, RAVE × APOGEE, or mock survey)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QButtonGroup, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QRadioButton, QSpinBox, QStackedWidget, QVBoxLayout,
                               QWidget, QWizardPage)

from raveview.core.progress import Progress
from raveview.gui.wizard import data_sources
from raveview.gui.worker import Job
from raveview.ml.training_data import TRAINING_MAX_PARALLAX_ERROR

SOURCES = ("files", "survey", "mock")


def _path_row(form: QFormLayout, label: str, folder: bool = False) -> QLineEdit:
    edit, browse, row = QLineEdit(), QPushButton("…"), QHBoxLayout()

    def choose() -> None:
        path = (QFileDialog.getExistingDirectory(edit, label) if folder
                else QFileDialog.getOpenFileName(edit, label)[0])
        if path:
            edit.setText(path)

    browse.clicked.connect(choose)
    row.addWidget(edit)
    row.addWidget(browse)
    form.addRow(label, row)
    return edit


class DataPage(QWizardPage):
    """Pick a data source, check the inputs, load the training set in the background."""

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Training data")
        self.setSubTitle("Spectra with known labels: your files, RAVE DR6 × APOGEE DR16 with the paper's cuts, "
                         "or a mock survey.")
        self.choice = QButtonGroup(self)
        radios = QHBoxLayout()
        for i, text in enumerate(("Files", "RAVE DR6 × APOGEE DR16", "Mock survey")):
            radio = QRadioButton(text)
            self.choice.addButton(radio, i)
            radios.addWidget(radio)
        self.stack = QStackedWidget()
        files, survey, mock = QWidget(), QWidget(), QWidget()
        f = QFormLayout(files)
        self.spectra = _path_row(f, "Spectra (matrix FITS or folder)")
        self.labels = _path_row(f, "Labels table")
        self.photometry = _path_row(f, "Photometry table")
        s = QFormLayout(survey)
        self.rave_dir = _path_row(s, "RAVE DR6 spectra folder", folder=True)
        self.rave_cat = _path_row(s, "RAVE DR6 catalog")
        self.apogee = _path_row(s, "APOGEE DR16 allStar")
        self.survey_phot = _path_row(s, "Photometry table")
        self.set_dir = _path_row(s, "Write the training set to", folder=True)
        m = QFormLayout(mock)
        self.mock_n, self.mock_seed = QSpinBox(), QSpinBox()
        self.mock_n.setRange(20, 1_000_000)
        self.mock_n.setValue(5000)
        self.mock_seed.setRange(0, 2**31 - 1)
        self.mock_seed.setValue(1)
        self.snr_lo, self.snr_hi = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.snr_lo, 10.0), (self.snr_hi, 150.0)):
            box.setRange(1.0, 1000.0)
            box.setValue(value)
        m.addRow("Observations", self.mock_n)
        m.addRow("Seed", self.mock_seed)
        m.addRow("S/N from", self.snr_lo)
        m.addRow("S/N to", self.snr_hi)
        for w in (files, survey, mock):
            self.stack.addWidget(w)
        self.choice.idClicked.connect(self._source_changed)
        self.parallax_cut = QDoubleSpinBox()
        self.parallax_cut.setRange(0.0, 100.0)
        self.parallax_cut.setDecimals(1)
        self.parallax_cut.setSuffix(" %")
        self.parallax_cut.setSpecialValueText("no cut")
        self.parallax_cut.setValue(100 * TRAINING_MAX_PARALLAX_ERROR)
        self.parallax_cut.setToolTip("Stars with a larger relative parallax error are left out of the photometry "
                                     "ensemble's training (the paper: 15 %)")
        cut_row = QFormLayout()
        cut_row.addRow("Parallax error below", self.parallax_cut)
        self.load_button = QPushButton("Load the training set")
        self.load_button.clicked.connect(self.load)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(radios)
        layout.addWidget(self.stack)
        layout.addLayout(cut_row)
        layout.addWidget(self.load_button)
        layout.addWidget(self.status)
        self.job: Job | None = None
        self.choice.button(2).setChecked(True)
        self.stack.setCurrentIndex(2)

    @property
    def source(self) -> str:
        """``"files"``, ``"survey"`` or ``"mock"``."""
        return SOURCES[max(0, self.choice.checkedId())]

    def set_source(self, source: str) -> None:
        """Select a data source by name."""
        self.choice.button(SOURCES.index(source)).setChecked(True)
        self._source_changed(SOURCES.index(source))

    def _source_changed(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self._set_data(None)

    def problems(self) -> list[str]:
        """What is wrong with the inputs of the chosen source (empty when ready)."""
        if self.source == "files":
            return data_sources.check_files(self.spectra.text(), self.labels.text(), self.photometry.text(), False)
        if self.source == "survey":
            out = []
            for name, edit in (("RAVE spectra folder", self.rave_dir), ("RAVE catalog", self.rave_cat),
                               ("APOGEE table", self.apogee), ("photometry table", self.survey_phot)):
                if not edit.text():
                    out.append(f"choose the {name}")
                elif not Path(edit.text()).exists():
                    out.append(f"the {name} {edit.text()} does not exist")
            if not self.set_dir.text():
                out.append("choose a folder to write the training set to")
            return out
        if self.snr_lo.value() > self.snr_hi.value():
            return ["the S/N range is empty (from > to)"]
        return []

    def load(self) -> Job | None:
        """Check the inputs and start loading; the page completes when the data arrive."""
        problems = self.problems()
        if problems:
            self.status.setText("⚠ " + "; ".join(problems))
            return None
        cut = self.parallax_cut.value() / 100.0 or None
        if self.source == "files":
            phot = self.photometry.text() or None
            func, args = data_sources.from_files, (self.spectra.text(), self.labels.text(), phot, cut)
        elif self.source == "survey":
            func, args = data_sources.from_survey, (self.rave_dir.text(), self.rave_cat.text(), self.apogee.text(),
                                                    self.survey_phot.text(), self.set_dir.text(), cut)
        else:
            func, args = data_sources.from_mock, (self.mock_n.value(), self.mock_seed.value(),
                                                  (self.snr_lo.value(), self.snr_hi.value()), cut)
        self._set_data(None)
        self.load_button.setEnabled(False)
        self.status.setText("loading…")
        self.job = Job(func, *args, name="training set")
        self.job.yielded.connect(self._on_progress)
        self.job.errored.connect(self._on_error)
        self.job.finished.connect(lambda: self.load_button.setEnabled(True))
        return self.state.runner.submit(self.job)

    def _on_progress(self, p: Progress) -> None:
        if isinstance(p.payload, data_sources.WizardData):
            self._set_data(p.payload)
        else:
            self.status.setText(p.message)

    def _on_error(self, exc: Exception) -> None:
        self.status.setText(f"⚠ {exc}")

    def _set_data(self, data: data_sources.WizardData | None) -> None:
        self.state.data = data
        if data is not None:
            lines = [f"{len(data.data.ids)} training stars ({data.trained_on})"] + list(data.data.notes)
            if data.data.phot_usable is not None:
                lines.append(f"{int(data.data.phot_usable.sum())} with usable photometry")
            if data.source_ids is not None:
                lines.append(f"{len(data.source_ids) - len(set(data.source_ids))} repeat observations")
            if data.cuts:
                lines.append("cuts: " + "; ".join(f"{name}: −{removed} → {left}" for name, removed, left in data.cuts))
            self.status.setText("\n".join(lines))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt API)
        return self.state.data is not None
