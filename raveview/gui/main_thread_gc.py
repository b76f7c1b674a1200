"""Cyclic garbage collection on the GUI thread only.

Python's cyclic collector runs in whichever thread happens to allocate when a
threshold is crossed. When it frees a Qt object there (a closed dialog or window
still held in a reference cycle), the C++ destructor runs outside the GUI
thread, and with PySide6 that can deadlock against the GUI thread deleting a
related object: one thread holds a Qt mutex and waits for the GIL, the other
holds the GIL and waits for the mutex. raveview's worker threads allocate all
the time, so the app turns automatic collection off and runs it from a timer on
the GUI thread instead, with the interpreter's own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["MainThreadGarbageCollector"]


class MainThreadGarbageCollector(QObject):
    """Runs the cyclic garbage collector from a GUI-thread timer while it lives.

    Parameters
    ----------
    parent
        Usually the ``QApplication``.
    interval_ms
        How often the generation counts are checked.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> int:
        """Collect the generations whose counts passed their thresholds; returns the objects found."""
        counts, found = gc.get_count(), 0
        for generation in (2, 1, 0):  # the oldest due generation (collecting it collects the younger ones)
            if counts[generation] > self._thresholds[generation]:
                found = gc.collect(generation)
                break
        return found

    def stop(self) -> None:
        """Stop the timer, collect everything here, and give collection back to the interpreter."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
