"""Run the core's generators in a background thread (superqt/napari style).

A :class:`Job` wraps a generator function; each ``yield`` reports progress and
is a cancellation point. A :class:`JobRunner` owns one long-lived
:class:`~PySide6.QtCore.QThread` and runs its jobs there one after the other,
so everything that touches a Keras model goes through a single thread.
"""

from __future__ import annotations

import atexit
import itertools
import weakref
import logging
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)
_ids = itertools.count(1)
_RUNNERS: "weakref.WeakSet[JobRunner]" = weakref.WeakSet()


class Job(QObject):
    """One unit of background work: a generator function and its arguments.

    Signals are emitted from the worker thread and delivered (queued) to
    receivers living in the GUI thread.

    Parameters
    ----------
    func
        A generator function (or any function; a plain return value is ``returned``).
    *args, **kwargs
        Passed to ``func``.
    name
        Short description for the status bar.
    """

    started = Signal()
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()

    def __init__(self, func: Callable[..., Any], *args: Any, name: str = "", **kwargs: Any) -> None:
        super().__init__()
        self.id = next(_ids)
        self.name = name or getattr(func, "__name__", "job")
        self._func, self._args, self._kwargs = func, args, kwargs
        self._cancel = False
        self.done = False
        self.started_at: float | None = None

    def cancel(self) -> None:
        """Ask the job to stop at its next yield (thread-safe: a plain flag)."""
        self._cancel = True

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel

    def execute(self) -> None:
        """Run the job in the calling thread, emitting the signals (called by the runner)."""
        self.started_at = time.perf_counter()
        self.started.emit()
        try:
            if self._cancel:
                return
            result = self._func(*self._args, **self._kwargs)
            if isinstance(result, Generator):
                result = self._drain(result)
            if not self._cancel:
                self.returned.emit(result)
        except Exception as exc:  # reported to the GUI, never raised into Qt
            log.debug("job %s failed", self.name, exc_info=True)
            self.errored.emit(exc)
        finally:
            self.done = True
            self.finished.emit()

    def _drain(self, gen: Generator) -> Any:
        while True:
            if self._cancel:
                gen.close()
                return None
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            self.yielded.emit(value)


class _Executor(QObject):
    """Lives in the runner's thread; executes the jobs it is sent."""

    @Slot(object)
    def execute(self, job: Job) -> None:
        job.execute()


class JobRunner(QObject):
    """A single background thread that runs :class:`Job` objects in submission order."""

    _submit = Signal(object)

    def __init__(self, name: str = "raveview-worker", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._executor = _Executor()
        self._executor.moveToThread(self._thread)
        self._submit.connect(self._executor.execute)
        self._jobs: list[Job] = []
        self._thread.start()
        _RUNNERS.add(self)

    def submit(self, job: Job) -> Job:
        """Queue ``job``; it runs after the jobs submitted before it."""
        self._jobs = [j for j in self._jobs if not j.done] + [job]
        self._submit.emit(job)
        return job

    def pending(self) -> list[Job]:
        """Jobs not finished yet."""
        return [j for j in self._jobs if not j.done]

    def cancel_all(self) -> None:
        """Cancel every queued or running job."""
        for job in self.pending():
            job.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel the jobs and stop the thread."""
        self.cancel_all()
        try:
            self._thread.quit()
            self._thread.wait(timeout_ms)
        except RuntimeError:  # the C++ thread object is already gone
            pass


@atexit.register
def _stop_runners() -> None:
    """Stop the worker threads of runners still alive when the interpreter exits."""
    for runner in list(_RUNNERS):
        runner.shutdown(2000)
