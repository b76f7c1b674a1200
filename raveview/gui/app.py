"""Entry point of the desktop app: ``raveview [FILE...]`` and the ``raveview-gui`` launcher."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from raveview.gui.main_thread_gc import MainThreadGarbageCollector
from raveview.gui.main_window import MainWindow


def demo_paths() -> list[Path]:
    """The bundled demo spectra (``raveview/resources/demo``), or an empty list when absent."""
    from importlib import resources

    root = Path(str(resources.files("raveview") / "resources" / "demo"))
    folders = [f for f in (root / "spectra", root) if f.is_dir()]
    return sorted(p for f in folders for p in f.iterdir() if p.suffix.lower() in (".fits", ".fit"))


def _demo_photometry() -> Path | None:
    from importlib import resources

    path = Path(str(resources.files("raveview") / "resources" / "demo" / "photometry.csv"))
    return path if path.is_file() else None


def application() -> QApplication:
    """The running QApplication (created when needed)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("raveview")
    app.setApplicationName("raveview")
    from importlib import resources

    icon = Path(str(resources.files("raveview") / "resources" / "icons" / "raveview.svg"))
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def create_main_window(paths: Sequence[str | Path] | None = None, load_model: bool = True,
                       model_path: str | Path | None = None, demo: bool | None = None,
                       staged: bool = False) -> MainWindow:
    """Build the main window with ``paths`` open (reading and prediction run in the background).

    Parameters
    ----------
    paths
        Spectrum files or folders to open.
    load_model
        Load the model (``model_path``, default the demo bundle) in the background.
    model_path
        A model bundle folder.
    demo
        Open the bundled demo spectra and photometry; by default when ``paths`` is empty.
    staged
        Return a light window that builds its panels, then opens the files, right
        after it is first painted (``raveview`` itself: the window appears at once).
        Otherwise everything is built before returning (scripts and tests).
    """
    application()
    window = MainWindow(load_model=load_model, model_path=None if model_path is None else Path(model_path),
                        staged=staged)
    paths = list(paths or [])

    def open_files() -> None:
        files = paths
        if demo or (demo is None and not paths):
            photometry = _demo_photometry()
            if photometry is not None:
                window.load_photometry(photometry)
            files = demo_paths()
        window.open_paths(files)

    window.when_ready(open_files)
    return window


def _show_fatal(exc_type, exc, tb) -> None:
    """An unexpected error while the window runs: traceback to the log, message in a dialog."""
    from raveview.gui.startup_errors import write_startup_log

    text = "".join(traceback.format_exception(exc_type, exc, tb))
    log = write_startup_log(text)
    sys.stderr.write(text)
    if QApplication.instance() is not None:
        where = f"\n\nDetails were written to {log}" if log else ""
        QMessageBox.critical(None, "raveview", f"raveview met an unexpected error:\n\n{exc}{where}")


def main(argv: Sequence[str] | None = None) -> int:
    """Open the window on ``argv`` (files), or on the demo data with no argument; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in argv:  # packaged-app smoke test: window, demo model, one prediction
        from raveview.gui.self_test import run_self_test

        return run_self_test()
    from raveview.gui.startup_errors import guarded_startup

    with guarded_startup():  # a failed start shows a dialog and writes a log, never exits silently
        app = application()
        sys.excepthook = _show_fatal
        MainThreadGarbageCollector(app)  # Qt objects are freed on this thread only (see its module)
        window = create_main_window(argv, staged=True)
        window.show()
    return int(app.exec())
