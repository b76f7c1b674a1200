"""The main window: wires the star list, spectrum view, panels, diagrams, menus and workers."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QLabel, QListWidget, QMainWindow,
                               QProgressBar, QPushButton)

from raveview.core.grid import DEFAULT_GRID
from raveview.core.labels import LABEL_KEYS
from raveview.core.progress import Progress
from raveview.gui import dialogs, file_loading
from raveview.gui.abundance_diagram import AbundanceDiagram
from raveview.gui.kiel_diagram import KielDiagram
from raveview.gui.labels_panel import LabelsPanel
from raveview.gui.oddity import oddity_score
from raveview.gui.photometry_panel import PhotometryPanel, photometry_of
from raveview.gui.prediction import PredictionService, model_info
from raveview.gui.recent_files import RecentFiles
from raveview.gui.spectrum_view import SpectrumView
from raveview.gui.star_list import StarList
from raveview.gui.star_store import StarStore
from raveview.gui.vetting import USER_FLAGS, SIDECAR_NAME, VettingPanel, apply_vetting, load_vetting, save_vetting, star_key
from raveview.gui.worker import Job, JobRunner


class MainWindow(QMainWindow):
    """The raveview window. Build it with :func:`raveview.gui.app.create_main_window`."""

    def __init__(self, load_model: bool = True, model_path: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("raveview")
        self.setAcceptDrops(True)
        self.settings = QSettings("raveview", "raveview")
        self.store = StarStore()
        self.photometry: pd.DataFrame | None = None
        self.vetting: dict[str, dict[str, str]] = {}
        self.vetting_path: Path | None = None
        self.messages_log: list[str] = []
        self._pending: list[int] = []  # rows waiting for the model
        self._current: int | None = None
        self.service = PredictionService(self)
        self.io = JobRunner("raveview-io", self)
        self._io_jobs: list[Job] = []
        self._build_widgets()
        self._build_menus()
        self._connect()
        self.restoreGeometry(self.settings.value("geometry", b""))
        self.restoreState(self.settings.value("state", b""))
        if load_model:  # after the window is painted: importing TensorFlow holds the GIL for seconds
            self.service.loading = True
            QTimer.singleShot(300, lambda: self.service.load_model(model_path))
        else:
            self.labels_panel.set_model_info(None)
            self.model_status.setText("No model")

    # -- construction -----------------------------------------------------------------------
    def _dock(self, title: str, widget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_widgets(self) -> None:
        self.spectrum_view = SpectrumView()
        self.setCentralWidget(self.spectrum_view)
        self.star_list = StarList(self.store)
        self.labels_panel = LabelsPanel()
        self.photometry_panel = PhotometryPanel()
        self.kiel = KielDiagram()
        self.abundance = AbundanceDiagram()
        self.vetting_panel = VettingPanel()
        self.messages = QListWidget()
        self.list_dock = self._dock("Stars", self.star_list, Qt.LeftDockWidgetArea, "stars")
        self.labels_dock = self._dock("Labels", self.labels_panel, Qt.RightDockWidgetArea, "labels")
        self.phot_dock = self._dock("Photometry", self.photometry_panel, Qt.RightDockWidgetArea, "photometry")
        self.vet_dock = self._dock("Vetting", self.vetting_panel, Qt.RightDockWidgetArea, "vetting")
        self.kiel_dock = self._dock("Kiel diagram", self.kiel, Qt.BottomDockWidgetArea, "kiel")
        self.abund_dock = self._dock("Abundances", self.abundance, Qt.BottomDockWidgetArea, "abundances")
        self.msg_dock = self._dock("Messages", self.messages, Qt.BottomDockWidgetArea, "messages")
        self.tabifyDockWidget(self.phot_dock, self.vet_dock)
        self.tabifyDockWidget(self.abund_dock, self.msg_dock)
        self.abund_dock.raise_()
        self.phot_dock.raise_()
        self.resizeDocks([self.list_dock, self.labels_dock], [520, 380], Qt.Horizontal)
        self.resizeDocks([self.kiel_dock], [300], Qt.Vertical)
        bar = self.statusBar()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.model_status = QLabel("Loading model…")
        self.device_status = QLabel("")
        for widget in (self.progress_bar, self.cancel_button, self.model_status, self.device_status):
            bar.addPermanentWidget(widget)
        self.resize(1500, 950)

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open spectra…", lambda: dialogs.open_spectra(self), QKeySequence.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "Open results &catalog…", lambda: dialogs.open_catalog(self), "Ctrl+Shift+C")
        self._action(file_menu, "Load &photometry catalog…", lambda: dialogs.open_photometry(self), "Ctrl+P")
        file_menu.addSeparator()
        self._action(file_menu, "Parameterize &folder…", lambda: dialogs.parameterize_folder(self), "Ctrl+Shift+O")
        self._action(file_menu, "&Export results…", lambda: dialogs.export_results(self), "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit)
        view = self.menuBar().addMenu("&View")
        self._action(view, "&Next star", lambda: self.star_list.step(1), "J")
        self._action(view, "&Previous star", lambda: self.star_list.step(-1), "K")
        self._action(view, "Native &sampling", lambda: self.spectrum_view.set_native(not self.spectrum_view.native), "N")
        self._action(view, "&Filter stars", self.star_list.filter_edit.setFocus, QKeySequence.Find)
        self._action(view, "Sort by &oddity", self.sort_by_oddity, "Ctrl+D")
        self._action(view, "Reset spectrum &zoom", self.spectrum_view.reset_zoom, "Ctrl+0")
        for i, flag in enumerate(USER_FLAGS, start=1):
            self._action(view, f"Flag as {flag}", lambda _=False, f=flag: self.vetting_panel.choose(f), str(i))
        view.addSeparator()
        for dock in (self.list_dock, self.labels_dock, self.phot_dock, self.vet_dock, self.kiel_dock,
                     self.abund_dock, self.msg_dock):
            view.addAction(dock.toggleViewAction())
        model = self.menuBar().addMenu("&Model")
        self._action(model, "&Choose model bundle…", lambda: dialogs.choose_model(self), "Ctrl+M")
        self._action(model, "&Import published ensemble…", lambda: dialogs.import_published(self))
        self._action(model, "Show &manifest", lambda: dialogs.show_manifest(self, self.service.bundle))
        self._action(model, "&Train a model…", lambda: dialogs.open_training_wizard(self), "Ctrl+T")
        self._action(model, "&Cancel running prediction", self.cancel, "Esc")
        self.recent = RecentFiles(self.settings, self.recent_menu, lambda p: self.open_paths([p]))

    def _connect(self) -> None:
        self.star_list.current_changed.connect(self.set_current)
        for diagram in (self.kiel, self.abundance):
            diagram.star_clicked.connect(self.star_list.set_current)
            diagram.region_selected.connect(self.star_list.select_positions)
        self.service.model_loaded.connect(self._on_model_loaded)
        self.service.device_found.connect(lambda d: self.device_status.setText(d))
        self.service.status.connect(self.statusBar().showMessage)
        self.service.rows_predicted.connect(self._on_rows_predicted)
        self.service.progress.connect(self._on_progress)
        self.service.failed.connect(self.report_error)
        self.service.batch_finished.connect(self._on_batch_finished)
        self.vetting_panel.flag_set.connect(self.set_user_flag)
        self.vetting_panel.step.connect(self.star_list.step)
        self.cancel_button.clicked.connect(self.cancel)

    # -- opening files ----------------------------------------------------------------------
    def open_paths(self, paths) -> Job | None:
        """Read spectrum files (and folders) in the background; the rows appear as they are read."""
        paths = [Path(p) for p in paths]
        if not paths:
            return None
        for path in paths:
            self.recent.remember(path)
        if self.vetting_path is None:
            first = paths[0] if paths[0].is_dir() else paths[0].parent
            self.set_vetting_path(first / SIDECAR_NAME)
        job = Job(file_loading.read_files, paths, name="read files")
        job.yielded.connect(self._on_files_read)
        self._io_jobs.append(job)
        self.statusBar().showMessage(f"Reading {len(paths)} path(s)…")
        return self.io.submit(job)

    @Slot(object)
    def _on_files_read(self, progress: Progress) -> None:
        spectra, errors = [], []
        for _path, items, error in progress.payload:
            if error is not None:
                errors.append(str(error))
            else:
                spectra.extend(items)
        for message in errors:
            self.report_error(message)
        if spectra:
            rows = self.store.add_spectra(spectra)
            apply_vetting(self.store.frame, self.vetting)
            self._refresh()
            if self._current is None:
                self.star_list.set_current(int(rows[0]))
            self._request_prediction(rows)
        self.statusBar().showMessage(progress.message)

    def load_photometry(self, path: Path) -> bool:
        """Use the photometry catalog ``path`` for the next predictions and the detail panel."""
        from raveview.core.errors import RaveviewError
        from raveview.core.photometry import read_photometry

        try:
            self.photometry = read_photometry(path)
        except RaveviewError as exc:
            self.report_error(str(exc))
            return False
        self.statusBar().showMessage(f"Photometry: {len(self.photometry)} stars from {Path(path).name}")
        return True

    def add_results(self, frame: pd.DataFrame) -> np.ndarray:
        """Add catalog rows (e.g. a results table) without spectra; returns their row ids."""
        rows = self.store.add_rows(frame)
        apply_vetting(self.store.frame, self.vetting)
        self.store.frame["oddity"] = oddity_score(self.store.frame)
        self._refresh()
        return rows

    def _request_prediction(self, rows: np.ndarray) -> None:
        rows = [int(r) for r in rows if int(r) in self.store.spectra]
        if not rows:
            return
        if self.service.bundle is None:
            self._pending.extend(rows)
            return
        self.start_progress()
        self.service.predict(np.array(rows), [self.store.spectra[r] for r in rows], self.photometry)

    def start_progress(self) -> None:
        """Show the progress bar and the Cancel button for a starting batch."""
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self._batch_started = time.perf_counter()

    # -- results ----------------------------------------------------------------------------
    @Slot(object)
    def _on_folder_progress(self, progress: Progress) -> None:
        chunk = progress.payload
        for key, reason in chunk.failures:
            self.report_error(reason or key)
        if len(chunk.rows):
            self.add_results(chunk.rows)
            if self._current is None:
                self.star_list.set_current(0)
        self._on_progress(progress)
        if chunk.summary is not None:
            self.statusBar().showMessage(f"{chunk.summary.n_rows} stars written to {chunk.summary.out}")

    @Slot(object, object)
    def _on_rows_predicted(self, rows: np.ndarray, frame: pd.DataFrame) -> None:
        self.store.set_results(rows, frame)
        self.store.frame["oddity"] = oddity_score(self.store.frame)
        self._refresh()
        if self._current is not None and self._current in set(rows.tolist()):
            self.set_current(self._current)

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if progress.total:
            self.progress_bar.setMaximum(progress.total)
            self.progress_bar.setValue(progress.done)
            elapsed = time.perf_counter() - getattr(self, "_batch_started", time.perf_counter())
            eta = elapsed / max(progress.done, 1) * (progress.total - progress.done)
            self.statusBar().showMessage(f"{progress.message} — ETA {eta:.0f} s")

    @Slot()
    def _on_batch_finished(self) -> None:
        if not [j for j in self.service.runner.pending() if j.name in ("predict", "parameterize folder")]:
            self.progress_bar.setVisible(False)
            self.cancel_button.setVisible(False)

    def cancel(self) -> None:
        """Cancel running predictions and file reading."""
        self.service.cancel()
        self.io.cancel_all()
        self.statusBar().showMessage("Cancelled")

    @Slot(object)
    def _on_model_loaded(self, bundle) -> None:
        info = model_info(bundle)
        self.labels_panel.set_model_info(info)
        self.model_status.setText(("⚠ MOCK-trained: " if info.is_mock else "") + info.name)
        self.grid = bundle.grid
        histograms = bundle.manifest.get("label_histograms") if hasattr(bundle, "manifest") else None
        for diagram in (self.kiel, self.abundance):
            diagram.set_coverage(info.label_ranges, histograms)
        pending, self._pending = self._pending, []
        self._request_prediction(np.array(pending or sorted(self.store.spectra)))

    def _refresh(self) -> None:
        self.star_list.refresh()
        for diagram in (self.kiel, self.abundance):
            diagram.set_frame(self.store.frame)

    @Slot(object)
    def _on_job_error(self, exc: Exception) -> None:
        self.report_error(str(exc))

    def report_error(self, message: str) -> None:
        """Show a one-line error in the status bar and the Messages panel (never a crash)."""
        self.messages_log.append(message)
        self.messages.addItem(message)
        self.statusBar().showMessage(message, 10000)

    # -- the current star -------------------------------------------------------------------
    @Slot(int)
    def set_current(self, position: int) -> None:
        """Show star ``position`` in every panel."""
        self._current = position
        record = self.store.frame.iloc[position]
        spectrum = self.store.spectra.get(position) or self._read_source(position, record)
        self.spectrum_view.set_spectrum(spectrum, getattr(self, "grid", DEFAULT_GRID))
        labels = self.store.frame.iloc[[position]][list(LABEL_KEYS)]
        if spectrum is not None and np.isfinite(labels["teff"].iloc[0]):
            models = file_loading.model_spectra(labels, self.spectrum_view.grid)
            self.spectrum_view.set_model(None if models is None else models[0])
        self.labels_panel.set_star(record, self.store.label_spread(position))
        self.photometry_panel.set_photometry(*photometry_of(self.photometry, record))
        for diagram in (self.kiel, self.abundance):
            diagram.set_current(position)
        entry = self.vetting.get(star_key(record), {})
        self.vetting_panel.show_star(entry.get("flag", ""), entry.get("note", ""))

    def _read_source(self, position: int, record) -> object:
        """The spectrum of a catalog row (e.g. from a folder run), read from its ``source_file``."""
        path = Path(str(record.get("source_file", "") or ""))
        if not path.name or not path.is_file():
            return None
        spectra, _error = file_loading._read_one(path)
        match = [s for s in spectra or [] if (s.rave_obs_id or "") == record.get("rave_obs_id", "")]
        if match or len(spectra or []) == 1:
            self.store.spectra[position] = (match or spectra)[0]
        return self.store.spectra.get(position)

    def sort_by_oddity(self) -> None:
        """Sort the list by oddity, oddest first."""
        column = next(i for i, c in enumerate(self.star_list.model.columns) if c.key == "oddity")
        self.star_list.view.sortByColumn(column, Qt.DescendingOrder)

    # -- vetting ----------------------------------------------------------------------------
    def set_vetting_path(self, path: Path) -> None:
        """Keep user flags in ``path`` (loaded now if it exists)."""
        from raveview.core.errors import RaveviewError

        self.vetting_path = Path(path)
        try:
            self.vetting = load_vetting(self.vetting_path)
        except RaveviewError as exc:
            self.report_error(str(exc))
            self.vetting = {}

    @Slot(str, str)
    def set_user_flag(self, flag: str, note: str) -> None:
        """Flag the current star and save the sidecar."""
        if self._current is None:
            return
        record = self.store.frame.iloc[self._current]
        self.vetting[star_key(record)] = {"flag": flag, "note": note}
        self.store.frame.loc[self._current, ["user_flag", "user_note"]] = [flag, note]
        if self.vetting_path is not None:
            from raveview.core.errors import RaveviewError

            try:
                save_vetting(self.vetting_path, self.vetting)
            except RaveviewError as exc:
                self.report_error(str(exc))
        self.star_list.model.refresh()
        self.star_list.set_current(self._current, emit=False)

    # -- drag and drop, settings ------------------------------------------------------------
    def _last_dir(self) -> str:
        return self.recent.last_dir()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        self.open_paths([u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()])

    def closeEvent(self, event) -> None:  # noqa: N802
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        self.service.shutdown()
        self.io.shutdown()
        super().closeEvent(event)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Process events until no background job is queued or running (scripts and tests)."""
        end = time.perf_counter() + timeout
        busy = lambda: bool(self.service.runner.pending() or self.io.pending() or self.service.loading)  # noqa: E731
        while time.perf_counter() < end:
            QApplication.processEvents()
            if not busy():
                QApplication.processEvents()  # signals posted before the jobs ended may queue more work
                if not busy():
                    return True
            time.sleep(0.01)
        return False
