"""The main window: wires the star list, spectrum view, panels, diagrams, menus and workers.

The window starts light (title, a "Loading…" placeholder, the status bar) and
imports pandas, pyqtgraph and the panels in :meth:`MainWindow.build`, which
``raveview`` runs right after the first paint (``staged=True``) so the window
appears at once; scripts and tests build it synchronously.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from raveview.core.grid import DEFAULT_GRID
from raveview.core.labels import LABEL_KEYS
from raveview.core.progress import Progress
from raveview.gui.worker import Job

if TYPE_CHECKING:
    import pandas as pd


class _Placeholder(QLabel):
    """The central area until the panels are built; tells once it has been painted."""

    painted = Signal()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if not getattr(self, "_told", False):
            self._told = True
            self.painted.emit()


class MainWindow(QMainWindow):
    """The raveview window. Build it with :func:`raveview.gui.app.create_main_window`.

    Parameters
    ----------
    load_model
        Load ``model_path`` (default: the demo bundle) in the background once built.
    model_path
        A model bundle folder.
    staged
        Show a light window first and build the panels after its first paint
        (or 300 ms, whichever comes first); otherwise build them now.
    """

    def __init__(self, load_model: bool = True, model_path: Path | None = None, staged: bool = False) -> None:
        super().__init__()
        self.setWindowTitle("raveview")
        self.settings = QSettings("raveview", "raveview")
        self.photometry: pd.DataFrame | None = None
        self.vetting: dict[str, dict[str, str]] = {}
        self.vetting_path: Path | None = None
        self.messages_log: list[str] = []
        self._pending: list[int] = []  # rows waiting for the model
        self._current: int | None = None
        self._when_ready: list[Callable[[], None]] = []
        self._io_jobs: list[Job] = []
        self._load_model, self._model_path = load_model, model_path
        self.ready = False
        self._closed = self._docks_placed = False
        self.resize(1600, 1000)
        self.restoreGeometry(self.settings.value("geometry", b""))
        placeholder = _Placeholder("Loading raveview…")
        placeholder.setAlignment(Qt.AlignCenter)
        self.setCentralWidget(placeholder)
        self.statusBar().showMessage("Loading…")
        if staged:
            placeholder.painted.connect(self._build_soon)
            QTimer.singleShot(300, self.build)  # in case the window is never painted (e.g. minimised)
        else:
            self.build()

    @Slot()
    def _build_soon(self) -> None:
        QTimer.singleShot(0, self.build)  # after the paint has finished

    def build(self) -> None:
        """Import the panels and build the docks, menus and services (once), then run :meth:`when_ready` calls."""
        if self.ready or self._closed:
            return
        from raveview.gui import window_layout

        animated = self.isAnimated()
        self.setAnimated(False)  # no layout animation of the placeholder being replaced (it crashes Qt)
        window_layout.build_widgets(self)
        window_layout.build_menus(self)
        window_layout.connect_signals(self)
        self.setAcceptDrops(True)
        self.setAnimated(animated)
        self.statusBar().clearMessage()
        self.ready = True
        self._place_docks()  # now if the window is shown (staged start), else at its first show
        if self._load_model:  # after the window is painted: importing TensorFlow holds the GIL for seconds
            self.service.loading = True
            QTimer.singleShot(300, lambda: self.service.load_model(self._model_path))
        else:
            self.labels_panel.set_model_info(None)
            self.model_status.setText("No model")
        callbacks, self._when_ready = self._when_ready, []
        for callback in callbacks:
            callback()

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the panels exist (now if they do)."""
        if self.ready:
            callback()
        else:
            self._when_ready.append(callback)

    # -- opening files ----------------------------------------------------------------------
    def open_paths(self, paths) -> Job | None:
        """Read spectrum files (and folders) in the background; the rows appear as they are read."""
        paths = [Path(p) for p in paths]
        if not paths:
            return None
        from raveview.gui import file_loading
        from raveview.gui.vetting import SIDECAR_NAME

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
        from raveview.gui.vetting import apply_vetting

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
        from raveview.gui.oddity import oddity_score
        from raveview.gui.vetting import apply_vetting

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
        from raveview.gui.oddity import oddity_score

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
            left = progress.total - progress.done
            eta = f" — ETA {elapsed / max(progress.done, 1) * left:.0f} s" if left > 0 else ""  # none once done
            self.statusBar().showMessage(progress.message + eta)

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
        from raveview.gui.prediction import model_info

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
        if self.ready:  # otherwise the Messages panel lists it when built
            self.messages.addItem(message)
        self.statusBar().showMessage(message, 10000)

    # -- the current star -------------------------------------------------------------------
    @Slot(int)
    def set_current(self, position: int) -> None:
        """Show star ``position`` in every panel."""
        from raveview.gui import file_loading
        from raveview.gui.photometry_panel import photometry_of
        from raveview.gui.vetting import star_key

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
        from raveview.gui import file_loading

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
        from raveview.gui.vetting import load_vetting

        self.vetting_path = Path(path)
        try:
            self.vetting = load_vetting(self.vetting_path)
        except RaveviewError as exc:
            self.report_error(str(exc))
            self.vetting = {}

    @Slot(str, str)
    def set_user_flag(self, flag: str, note: str) -> None:
        """Flag the current star and save the sidecar."""
        from raveview.gui.vetting import save_vetting, star_key

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

    def _place_docks(self) -> None:
        """Restore the saved dock layout or make the first-start one: once, and only on the visible window
        (Qt leaves stray tab bars when docks are tabified on a hidden one; see ``window_layout.place_docks``)."""
        if self.ready and self.isVisible() and not self._docks_placed:
            from raveview.gui import window_layout

            self._docks_placed = True
            if window_layout.place_docks(self, self.settings.value("state", b"")):  # first start
                QTimer.singleShot(0, lambda: window_layout.default_dock_sizes(self))

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._place_docks()

    def closeEvent(self, event) -> None:  # noqa: N802
        self._closed = True  # a staged window closed before it was built stays unbuilt
        if getattr(self, "samp", None) is not None:
            self.samp.close()
        self.settings.setValue("geometry", self.saveGeometry())
        if self._docks_placed:  # a window never shown keeps the layout saved before
            self.settings.setValue("state", self.saveState())
        if self.ready:
            self.service.shutdown()
            self.io.shutdown()
        super().closeEvent(event)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Process events until no background job is queued or running (scripts and tests)."""
        end = time.perf_counter() + timeout
        busy = lambda: not self.ready or bool(  # noqa: E731
            self.service.runner.unsettled() or self.io.unsettled() or self.service.loading)
        while time.perf_counter() < end:
            QApplication.processEvents()
            if not busy():
                QApplication.processEvents()  # signals posted before the jobs ended may queue more work
                if not busy():
                    return True
            time.sleep(0.01)
        return False
