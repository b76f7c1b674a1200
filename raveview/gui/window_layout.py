"""The main window's docks, status bar, menus and signal wiring, built once the light window is painted.

This module imports the heavy parts of the app (pandas, pyqtgraph and every
panel); :mod:`raveview.gui.main_window` imports it only in
:meth:`~raveview.gui.main_window.MainWindow.build`, so the window can appear
before they have loaded.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget, QProgressBar, QPushButton

from raveview.gui import dialogs
from raveview.gui.abundance_diagram import AbundanceDiagram
from raveview.gui.kiel_diagram import KielDiagram
from raveview.gui.labels_panel import LabelsPanel
from raveview.gui.photometry_panel import PhotometryPanel
from raveview.gui.prediction import PredictionService
from raveview.gui.recent_files import RecentFiles
from raveview.gui.spectrum_view import SpectrumView
from raveview.gui.star_list import StarList
from raveview.gui.star_store import StarStore
from raveview.gui.vetting import USER_FLAGS, VettingPanel
from raveview.gui.worker import JobRunner

#: Default dock sizes (pixels) for a first start; later starts restore the user's layout.
LIST_WIDTH, SIDE_WIDTH, BOTTOM_HEIGHT = 560, 330, 300


def _dock(window, title: str, widget, area, name: str) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    window.addDockWidget(area, dock)
    return dock


def build_widgets(window) -> None:
    """Create the store, services, panels and docks of ``window`` (as attributes)."""
    window.store = StarStore()
    window.service = PredictionService(window)
    window.io = JobRunner("raveview-io", window)
    window.spectrum_view = SpectrumView()
    window.setCentralWidget(window.spectrum_view)
    # Shown now, not on Qt's queued call for a child of a visible (staged) window: restoreState() on a layout
    # whose central widget is still hidden gives its width to the docks (both sides grow to ~half the window).
    window.spectrum_view.show()
    window.star_list = StarList(window.store)
    window.labels_panel = LabelsPanel()
    window.photometry_panel = PhotometryPanel()
    window.kiel = KielDiagram()
    window.abundance = AbundanceDiagram()
    window.vetting_panel = VettingPanel()
    window.messages = QListWidget()
    for message in window.messages_log:  # reported before the panels existed
        window.messages.addItem(message)
    window.list_dock = _dock(window, "Stars", window.star_list, Qt.LeftDockWidgetArea, "stars")
    window.labels_dock = _dock(window, "Labels", window.labels_panel, Qt.RightDockWidgetArea, "labels")
    window.phot_dock = _dock(window, "Photometry", window.photometry_panel, Qt.RightDockWidgetArea, "photometry")
    window.vet_dock = _dock(window, "Vetting", window.vetting_panel, Qt.RightDockWidgetArea, "vetting")
    window.kiel_dock = _dock(window, "Kiel diagram", window.kiel, Qt.BottomDockWidgetArea, "kiel")
    window.abund_dock = _dock(window, "Abundances", window.abundance, Qt.BottomDockWidgetArea, "abundances")
    window.msg_dock = _dock(window, "Messages", window.messages, Qt.BottomDockWidgetArea, "messages")
    bar = window.statusBar()
    window.progress_bar = QProgressBar()
    window.progress_bar.setMaximumWidth(220)
    window.progress_bar.setVisible(False)
    window.cancel_button = QPushButton("Cancel")
    window.cancel_button.setVisible(False)
    window.model_status = QLabel("Loading model…")
    window.device_status = QLabel("")
    for widget in (window.progress_bar, window.cancel_button, window.model_status, window.device_status):
        bar.addPermanentWidget(widget)


def place_docks(window, state) -> bool:
    """Restore the saved dock layout ``state`` (``saveState`` bytes), or lay out the first-start one.

    Returns True for the first-start layout: Kiel and Abundances side by side below the spectrum, Messages
    behind Abundances and Vetting behind Photometry.

    Call it only while the window is visible. On a hidden window (Qt 6.11), tabifying a second group of
    docks, or restoring a saved layout over one with tab groups, makes a spare copy of a group's tab bar
    (one ``tabifyDockWidget`` call creates two "Abundances | Messages" bars). Qt drops the spare with a
    deferred delete but leaves it shown until then, and a script that drives the window with
    ``processEvents`` (``bench/gui_screenshot.py``, :meth:`MainWindow.wait_idle`) never runs that delete:
    the stray bar was painted under the Kiel diagram, over a second copy of the real one.
    """
    if window.restoreState(state):
        return False
    window.splitDockWidget(window.kiel_dock, window.abund_dock, Qt.Horizontal)  # side by side, not stacked
    window.tabifyDockWidget(window.phot_dock, window.vet_dock)
    window.tabifyDockWidget(window.abund_dock, window.msg_dock)
    window.abund_dock.raise_()
    window.phot_dock.raise_()
    return True


def default_dock_sizes(window) -> None:
    """Give the docks their first-start sizes (effective once the window is laid out, i.e. shown)."""
    window.resizeDocks([window.list_dock], [LIST_WIDTH], Qt.Horizontal)
    window.resizeDocks([window.labels_dock], [SIDE_WIDTH], Qt.Horizontal)
    window.resizeDocks([window.kiel_dock], [BOTTOM_HEIGHT], Qt.Vertical)
    half = window.width() // 2
    window.resizeDocks([window.kiel_dock, window.abund_dock], [half, half], Qt.Horizontal)


def _action(window, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def _session():
    from raveview.gui import session_actions

    return session_actions


def _samp():
    from raveview.gui import samp_bridge

    return samp_bridge


def build_menus(window) -> None:
    """The File, View and Model menus of ``window``."""
    file_menu = window.menuBar().addMenu("&File")
    _action(window, file_menu, "&Open spectra…", lambda: dialogs.open_spectra(window), QKeySequence.Open)
    window.recent_menu = file_menu.addMenu("Open &recent")
    _action(window, file_menu, "Open results &catalog…", lambda: dialogs.open_catalog(window), "Ctrl+Shift+C")
    _action(window, file_menu, "Load &photometry catalog…", lambda: dialogs.open_photometry(window), "Ctrl+P")
    file_menu.addSeparator()
    _action(window, file_menu, "Parameterize &folder…", lambda: dialogs.parameterize_folder(window), "Ctrl+Shift+O")
    _action(window, file_menu, "&Export results…", lambda: dialogs.export_results(window), "Ctrl+E")
    file_menu.addSeparator()
    _action(window, file_menu, "&Save session…", lambda: _session().save_session_dialog(window), "Ctrl+S")
    _action(window, file_menu, "Open sessio&n…", lambda: _session().open_session_dialog(window), "Ctrl+Shift+S")
    samp = file_menu.addMenu("Send via SA&MP")
    _action(window, samp, "Results table to TOPCAT…", lambda: _samp().send_current_results(window, _samp().for_window(window)))
    _action(window, samp, "Current spectrum…", lambda: _samp().send_current_spectrum(window, _samp().for_window(window)))
    file_menu.addSeparator()
    _action(window, file_menu, "&Quit", window.close, QKeySequence.Quit)
    view = window.menuBar().addMenu("&View")
    _action(window, view, "&Next star", lambda: window.star_list.step(1), "J")
    _action(window, view, "&Previous star", lambda: window.star_list.step(-1), "K")
    spectrum = window.spectrum_view
    _action(window, view, "Native &sampling", lambda: spectrum.set_native(not spectrum.native), "N")
    _action(window, view, "&Filter stars", window.star_list.filter_edit.setFocus, QKeySequence.Find)
    _action(window, view, "Sort by &oddity", window.sort_by_oddity, "Ctrl+D")
    _action(window, view, "Reset spectrum &zoom", spectrum.reset_zoom, "Ctrl+0")
    for i, flag in enumerate(USER_FLAGS, start=1):
        _action(window, view, f"Flag as {flag}", lambda _=False, f=flag: window.vetting_panel.choose(f), str(i))
    view.addSeparator()
    for dock in (window.list_dock, window.labels_dock, window.phot_dock, window.vet_dock, window.kiel_dock,
                 window.abund_dock, window.msg_dock):
        view.addAction(dock.toggleViewAction())
    model = window.menuBar().addMenu("&Model")
    _action(window, model, "&Choose model bundle…", lambda: dialogs.choose_model(window), "Ctrl+M")
    _action(window, model, "&Import published ensemble…", lambda: dialogs.import_published(window))
    _action(window, model, "Show &manifest", lambda: dialogs.show_manifest(window, window.service.bundle))
    _action(window, model, "&Train a model…", lambda: dialogs.open_training_wizard(window), "Ctrl+T")
    _action(window, model, "&Cancel running prediction", window.cancel, "Esc")
    window.recent = RecentFiles(window.settings, window.recent_menu, lambda p: window.open_paths([p]))


def connect_signals(window) -> None:
    """Wire the panels, diagrams and services of ``window`` to its slots."""
    window.star_list.current_changed.connect(window.set_current)
    for diagram in (window.kiel, window.abundance):
        diagram.star_clicked.connect(window.star_list.set_current)
        diagram.region_selected.connect(window.star_list.select_positions)
    service = window.service
    service.model_loaded.connect(window._on_model_loaded)
    service.device_found.connect(window.device_status.setText)
    service.status.connect(window.statusBar().showMessage)
    service.rows_predicted.connect(window._on_rows_predicted)
    service.progress.connect(window._on_progress)
    service.failed.connect(window.report_error)
    service.batch_finished.connect(window._on_batch_finished)
    window.vetting_panel.flag_set.connect(window.set_user_flag)
    window.vetting_panel.step.connect(window.star_list.step)
    window.cancel_button.clicked.connect(window.cancel)
