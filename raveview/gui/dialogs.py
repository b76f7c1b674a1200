"""The window's file, folder-run and model dialogs (thin: the work is done by the core)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from raveview.core.errors import RaveviewError
from raveview.gui.file_loading import CATALOG_FILTER

EXPORT_FILTER = ("FITS (*.fits);;CSV (*.csv);;VOTable (*.xml *.vot);;Parquet (*.parquet);;ECSV (*.ecsv)")


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
    """Choose a spectra folder, a photometry catalog (optional) and a model bundle (optional)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Parameterize folder")
        form = QFormLayout(self)
        self.folder, self.photometry, self.model = QLineEdit(), QLineEdit(), QLineEdit()
        self.photometry.setPlaceholderText("optional: CSV/FITS/VOTable with magnitudes and parallaxes")
        self.model.setPlaceholderText("optional: model bundle folder (default: the active model)")
        form.addRow("Spectra folder", _path_row(self, self.folder, True, "Spectra folder"))
        form.addRow("Photometry", _path_row(self, self.photometry, False, "Photometry catalog"))
        form.addRow("Model", _path_row(self, self.model, True, "Model bundle folder"))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


def parameterize_folder(window) -> None:
    """File ▸ Parameterize folder: results fill the list as they arrive (Esc cancels)."""
    dialog = FolderRunDialog(window)
    if dialog.exec() != QDialog.Accepted or not dialog.folder.text():
        return
    run_folder(window, Path(dialog.folder.text()), Path(dialog.photometry.text()) if dialog.photometry.text()
               else None, Path(dialog.model.text()) if dialog.model.text() else None)


def run_folder(window, folder: Path, photometry: Path | None = None, model: Path | None = None):
    """Open every spectrum of ``folder`` and predict it (with ``photometry`` and ``model`` if given)."""
    if photometry is not None:
        window.load_photometry(photometry)
    if model is not None:
        window.service.load_model(model)
    return window.open_paths([folder])


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
    task.yielded.connect(window._on_import_progress)
    task.errored.connect(window._on_job_error)
    task.returned.connect(window._on_imported)
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
