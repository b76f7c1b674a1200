"""Entry point of the desktop app: ``raveview [FILE...]`` and the ``raveview-gui`` launcher."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

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
                       model_path: str | Path | None = None, demo: bool | None = None) -> MainWindow:
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
    """
    application()
    window = MainWindow(load_model=load_model, model_path=None if model_path is None else Path(model_path))
    paths = list(paths or [])
    if demo or (demo is None and not paths):
        photometry = _demo_photometry()
        if photometry is not None:
            window.load_photometry(photometry)
        paths = demo_paths()
    window.open_paths(paths)
    return window


def _show_fatal(exc_type, exc, tb) -> None:
    """A failure at start-up: traceback to a log file and a dialog, never a silent exit."""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    try:
        from platformdirs import user_log_dir

        log = Path(user_log_dir("raveview", "raveview")) / "raveview-crash.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(text, encoding="utf-8")
        where = f"\n\nDetails were written to {log}"
    except OSError:
        where = ""
    sys.stderr.write(text)
    if QApplication.instance() is not None:
        QMessageBox.critical(None, "raveview", f"raveview met an unexpected error:\n\n{exc}{where}")


def main(argv: Sequence[str] | None = None) -> int:
    """Open the window on ``argv`` (files), or on the demo data with no argument; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    app = application()
    sys.excepthook = _show_fatal
    try:
        window = create_main_window(argv)
    except Exception:
        _show_fatal(*sys.exc_info())
        return 1
    window.show()
    return int(app.exec())
