"""Qt side of the SAMP link: callbacks from astropy's SAMP thread become Qt signals.

Wire it in the main window with :func:`attach`::

    self.samp = samp_bridge.attach(self)          # File ▸ Send to TOPCAT… calls self.samp.send_results()
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from raveview.core.errors import RaveviewError
from raveview.interop.samp import SampError, SampLink


def ask_start_hub(parent: QWidget | None) -> bool:
    """Ask whether raveview should start its own SAMP hub."""
    answer = QMessageBox.question(parent, "SAMP", "No SAMP hub is running (TOPCAT or Aladin start one).\n\n"
                                  "Start a hub in raveview?", QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
    return answer == QMessageBox.Yes


class SampBridge(QObject):
    """A :class:`SampLink` whose callbacks are Qt signals (delivered queued to the GUI thread).

    Signals
    -------
    highlighted(object)
        The index label of a row another tool highlighted.
    selected(object)
        A numpy array of the index labels another tool selected.
    status(str)
        A one-line message for the status bar.
    """

    highlighted = Signal(object)
    selected = Signal(object)
    status = Signal(str)

    def __init__(self, parent: QObject | None = None, lockfile=None,
                 ask: Callable[[QWidget | None], bool] = ask_start_hub) -> None:
        super().__init__(parent)
        self.ask = ask
        self.link = SampLink(self._on_highlight, self._on_select, lockfile=lockfile)

    # called on astropy's SAMP thread: emit only (Qt queues the delivery)
    def _on_highlight(self, table: str, label) -> None:
        self.highlighted.emit(label)

    def _on_select(self, table: str, labels: list) -> None:
        self.selected.emit(np.asarray(labels, dtype=np.int64))
        self.status.emit(f"SAMP: {len(labels)} rows selected in {table}")

    def ensure_connected(self, parent: QWidget | None = None) -> bool:
        """Connect to the running hub, or (after asking) start one; ``False`` when not connected."""
        if self.link.connected:
            return True
        try:
            start = not self.link.hub_running() and self.ask(parent)
            self.link.connect(start_hub_if_missing=start)
        except RaveviewError as exc:
            self.status.emit(str(exc))
            return False
        self.status.emit("SAMP: connected")
        return True

    def send_results(self, frame, name: str = "raveview results", parent: QWidget | None = None) -> str | None:
        """Send a results table (its index labels come back in :attr:`selected`)."""
        if not self.ensure_connected(parent):
            return None
        try:
            table_id = self.link.send_table(frame, name)
        except RaveviewError as exc:
            self.status.emit(str(exc))
            return None
        self.status.emit(f"SAMP: sent {len(frame)} rows as '{name}'")
        return table_id

    def send_spectrum(self, spectrum, parent: QWidget | None = None) -> str | None:
        """Send one spectrum to SPLAT/TOPCAT."""
        if spectrum is None or not self.ensure_connected(parent):
            return None
        try:
            return self.link.send_spectrum(spectrum)
        except (RaveviewError, SampError) as exc:
            self.status.emit(str(exc))
            return None

    def close(self) -> None:
        """Unregister (and stop a hub raveview started)."""
        self.link.disconnect()


def attach(window, lockfile=None, ask: Callable[[QWidget | None], bool] = ask_start_hub) -> SampBridge:
    """A bridge wired to ``window``: a selection in TOPCAT selects stars, a highlight shows a star."""
    bridge = SampBridge(window, lockfile=lockfile, ask=ask)
    bridge.selected.connect(window.star_list.select_positions)
    bridge.highlighted.connect(lambda label: window.star_list.set_current(int(label)))
    bridge.status.connect(lambda text: window.statusBar().showMessage(text, 8000))
    return bridge


def for_window(window) -> SampBridge:
    """The window's bridge, created on first use (it connects when something is sent)."""
    if getattr(window, "samp", None) is None:
        window.samp = attach(window)
    return window.samp


def send_current_results(window, bridge: SampBridge) -> str | None:
    """Menu action: send the window's star table (row positions are the frame's index)."""
    return bridge.send_results(window.store.frame, "raveview results", window)


def send_current_spectrum(window, bridge: SampBridge) -> str | None:
    """Menu action: send the spectrum on display."""
    return bridge.send_spectrum(window.spectrum_view.spectrum, window)
