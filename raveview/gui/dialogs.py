"""The window's file, folder-run and model dialogs (thin: the work is done by the core)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from raveview.core.errors import RaveviewError
from raveview.gui.file_loading import CATALOG_FILTER

EXPORT_FILTER = ("FITS (*.fits);;CSV (*.csv);;VOTable (*.xml *.vot);;Parquet (*.parquet);;ECSV (*.ecsv)")


def open_spectra(window) -> None:
    """File ▸ Open spectra (FITS, CSV/ECSV, Gaia RVS, ASCII)."""
    from raveview.gui.file_loading import OPEN_FILTER

    paths, _ = QFileDialog.getOpenFileNames(window, "Open spectra", window._last_dir(), OPEN_FILTER)
    window.open_paths(paths)


def choose_model(window) -> None:
    """Model ▸ Choose model bundle: load a bundle folder in the model thread."""
    folder = QFileDialog.getExistingDirectory(window, "Choose a model bundle folder", window._last_dir())
    if folder:
        window.service.load_model(Path(folder))


def open_catalog(window) -> None:
    """File ▸ Open results catalog: rows are added to the list and diagrams."""
    path, _ = QFileDialog.getOpenFileName(window, "Open results catalog", window._last_dir(), CATALOG_FILTER)
    if path:
        load_catalog(window, Path(path))


def load_catalog(window, path: Path) -> None:
    """Add the rows of a results catalog written by raveview (or with its columns)."""
    from raveview.core.catalog import read_catalog

    try:
        frame, _provenance = read_catalog(path)
    except RaveviewError as exc:
        window.report_error(str(exc))
        return
    window.add_results(frame)
    window.statusBar().showMessage(f"{len(frame)} rows from {path.name}")


def open_photometry(window) -> None:
    """File ▸ Load photometry catalog (used for the next predictions and the detail panel)."""
    path, _ = QFileDialog.getOpenFileName(window, "Photometry catalog", window._last_dir(), CATALOG_FILTER)
    if path:
        window.load_photometry(Path(path))


def _path_row(parent: QWidget, edit: QLineEdit, folder: bool, caption: str) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    button = QPushButton("Browse…")

    def browse() -> None:
        chosen = (QFileDialog.getExistingDirectory(parent, caption) if folder
                  else QFileDialog.getOpenFileName(parent, caption, "", CATALOG_FILTER)[0])
        if chosen:
            edit.setText(chosen)

    button.clicked.connect(browse)
    row.addWidget(button)
    return row


class FolderRunDialog(QDialog):
    """Choose a spectra folder, the output catalog, a photometry catalog and a model bundle."""

    def __init__(self, parent: QWidget | None = None, model: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Parameterize folder")
        form = QFormLayout(self)
        self.folder, self.out, self.photometry, self.model = QLineEdit(), QLineEdit(), QLineEdit(), QLineEdit()
        self.out.setPlaceholderText("default: <folder>/raveview_results.fits (.csv .ecsv .xml .parquet)")
        self.photometry.setPlaceholderText("optional: CSV/FITS/VOTable with magnitudes and parallaxes")
        self.model.setPlaceholderText("default: the demo model")
        self.model.setText(model)
        self.resume = QCheckBox("Resume the run journaled beside the output")
        form.addRow("Spectra folder", _path_row(self, self.folder, True, "Spectra folder"))
        form.addRow("Output catalog", self.out)
        form.addRow("Photometry", _path_row(self, self.photometry, False, "Photometry catalog"))
        form.addRow("Model", _path_row(self, self.model, True, "Model bundle folder"))
        form.addRow("", self.resume)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


def parameterize_folder(window) -> None:
    """File ▸ Parameterize folder: results fill the list as they arrive (Esc cancels)."""
    bundle = window.service.bundle
    dialog = FolderRunDialog(window, str(getattr(bundle, "path", "") or ""))
    if dialog.exec() != QDialog.Accepted or not dialog.folder.text():
        return
    text = {name: getattr(dialog, name).text().strip() for name in ("folder", "out", "photometry", "model")}
    run_folder(window, Path(text["folder"]), Path(text["out"]) if text["out"] else None,
               Path(text["photometry"]) if text["photometry"] else None,
               Path(text["model"]) if text["model"] else None, dialog.resume.isChecked())


def run_folder(window, folder: Path, out: Path | None = None, photometry: Path | None = None,
               model: Path | None = None, resume: bool = False, chunk_size: int = 64):
    """Parameterize ``folder`` with the batch pipeline in the model thread; returns the :class:`Job`.

    Rows are added to the list after each journaled chunk; Cancel stops between
    chunks and ``resume=True`` continues a run journaled beside ``out``.
    """
    from raveview.gui.folder_run import stream_batch
    from raveview.gui.worker import Job
    from raveview.pipeline.batch import BatchConfig

    out = Path(out) if out is not None else Path(folder) / "raveview_results.fits"
    config = BatchConfig(inputs=(str(folder),), out=out, model=model, photometry=photometry, resume=resume,
                         chunk_size=chunk_size)
    if photometry is not None:
        window.load_photometry(photometry)
    job = Job(stream_batch, config, name="parameterize folder")
    job.yielded.connect(window._on_folder_progress)
    job.errored.connect(window._on_job_error)
    job.finished.connect(window._on_batch_finished)
    window.start_progress()
    window.statusBar().showMessage(f"Parameterizing {folder} → {out.name}…")
    return window.service.runner.submit(job)


def export_results(window, path: Path | None = None) -> Path | None:
    """File ▸ Export results: the catalog with the vetting columns, via ``write_catalog``."""
    if path is None:
        name, _ = QFileDialog.getSaveFileName(window, "Export results", window._last_dir(), EXPORT_FILTER)
        if not name:
            return None
        path = Path(name)
    from raveview.core.catalog import default_provenance, write_catalog

    bundle = window.service.bundle
    frame = window.store.frame.drop(columns=["name", "residual"], errors="ignore")
    try:
        out = write_catalog(frame, path, provenance=default_provenance(
            model_id=getattr(bundle, "id", ""), model_name=getattr(bundle, "name", "")))
    except RaveviewError as exc:
        window.report_error(str(exc))
        return None
    window.statusBar().showMessage(f"Exported {len(frame)} rows to {out}")
    return out


def import_published(window) -> None:
    """Model ▸ Import published ensemble: convert the Keras 2 HDF5 members to a bundle, then load it.

    Runs ``raveview.ml.published.import_published`` in the model thread.
    """
    source = QFileDialog.getExistingDirectory(window, "Folder of the published model_version_1_*.h5 files")
    if not source:
        return
    limits = Path(source).parent / "derived_normalization_limits.json"
    if not limits.is_file():
        name, _ = QFileDialog.getOpenFileName(window, "Normalisation limits JSON", source, "JSON (*.json)")
        if not name:
            return
        limits = Path(name)
    target = QFileDialog.getExistingDirectory(window, "Folder to write the new bundle into")
    if target:
        start_import(window, Path(source), limits, Path(target) / "guiglion2020")


def start_import(window, models_dir: Path, limits: Path, out: Path):
    """Queue the import in the model thread; the new bundle is loaded when it is written."""
    from raveview.gui.worker import Job

    def job():
        from raveview.ml.published import import_published as run

        yield from run(models_dir, limits, out)
        return out

    task = Job(job, name="import published")
    task.yielded.connect(lambda progress: window.statusBar().showMessage(progress.message))
    task.errored.connect(window._on_job_error)
    task.returned.connect(window.service.load_model)
    return window.service.runner.submit(task)


def manifest_text(bundle) -> str:
    """A readable description of a bundle's manifest."""
    if hasattr(bundle, "summary"):
        return "\n".join(bundle.summary())
    return json.dumps(getattr(bundle, "manifest", {}), indent=2)


def show_manifest(window, bundle) -> None:
    """Model ▸ Show manifest: labels, ranges, training data, members kept."""
    if bundle is None:
        window.report_error("no model is loaded yet")
        return
    dialog = QDialog(window)
    dialog.setWindowTitle(f"Model manifest — {bundle.name}")
    layout = QVBoxLayout(dialog)
    view = QComboBox()
    view.addItems(["Summary", "Raw manifest.json"])
    text = QPlainTextEdit(manifest_text(bundle))
    text.setReadOnly(True)
    text.setStyleSheet("font-family: monospace")
    view.currentIndexChanged.connect(lambda i: text.setPlainText(
        manifest_text(bundle) if i == 0 else json.dumps(bundle.manifest, indent=2)))
    layout.addWidget(view)
    layout.addWidget(text)
    dialog.resize(700, 600)
    dialog.show()
    window._manifest_dialog = dialog


def open_training_wizard(window):
    """Open the training wizard; a saved bundle becomes the window's active model."""
    from raveview.gui.wizard import open_wizard

    window._training_wizard = open_wizard(window)  # keep a reference while it is open
    return window._training_wizard
