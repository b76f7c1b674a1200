"""A windowed launch that fails at start-up shows the error in a dialog and writes a log.

The entry point wraps its start-up in :func:`guarded_startup`::

    with guarded_startup():
        sys.exit(main())

An exception raised inside is written, with its traceback, to
``raveview-startup.log`` under :func:`platformdirs.user_log_dir`, shown in a
message box (or handed to the ``show`` function given), and turned into
``SystemExit(1)``: a windowed app never exits silently.
"""

from __future__ import annotations

import datetime as _dt
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOG_NAME = "raveview-startup.log"

#: A function that shows the one-line error, the log path and the traceback text.
ShowFunction = Callable[[str, "Path | None", str], None]


def log_directory() -> Path:
    """The platform's log folder of raveview (``platformdirs.user_log_dir``)."""
    from platformdirs import user_log_dir

    return Path(user_log_dir("raveview", "raveview"))


def write_startup_log(text: str, log_dir: Path | None = None) -> Path | None:
    """Append ``text`` with a time stamp to the start-up log; returns its path (``None`` if unwritable)."""
    folder = Path(log_dir) if log_dir is not None else log_directory()
    path = folder / LOG_NAME
    stamp = _dt.datetime.now().isoformat(timespec="seconds")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {stamp}\n{text}\n")
    except OSError:
        return None
    return path


def show_error_dialog(message: str, log_path: Path | None, details: str) -> None:
    """Show the error in a modal message box (creates a QApplication when there is none)."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 (kept alive for the box)
    box = QMessageBox(QMessageBox.Critical, "raveview could not start", f"raveview could not start:\n\n{message}")
    if log_path is not None:
        box.setInformativeText(f"Details were written to {log_path}")
    box.setDetailedText(details)
    box.exec()


def report_startup_failure(exc: BaseException, show: ShowFunction | None = None,
                           log_dir: Path | None = None) -> Path | None:
    """Log ``exc`` with its traceback and show it; returns the log path."""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = " ".join(str(exc).split()) or type(exc).__name__
    log_path = write_startup_log(details, log_dir)
    sys.stderr.write(details)
    try:
        (show or show_error_dialog)(message, log_path, details)
    except Exception as dialog_error:  # no display at all: the log and stderr remain
        sys.stderr.write(f"could not show the error dialog: {dialog_error}\n")
    return log_path


@contextmanager
def guarded_startup(show: ShowFunction | None = None, log_dir: Path | None = None) -> Iterator[None]:
    """Run the block; an exception in it is logged, shown, and becomes ``SystemExit(1)``.

    Parameters
    ----------
    show
        Function showing the error (default: a Qt message box).
    log_dir
        Folder of the log (default: :func:`log_directory`).
    """
    try:
        yield
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 (anything at start-up must be shown)
        report_startup_failure(exc, show, log_dir)
        raise SystemExit(1) from None
