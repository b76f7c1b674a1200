"""Run the core's generators in a background thread (superqt/napari style).

A :class:`Job` wraps a generator function; each ``yield`` reports progress and
is a cancellation point. A :class:`JobRunner` owns one long-lived
thread and runs its jobs there one after the other,
so everything that touches a Keras model goes through a single thread.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

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
        self.settled = False
        self.started_at: float | None = None
        self.finished.connect(self._settle)  # queued: runs after the slots of every earlier signal

    @Slot()
    def _settle(self) -> None:
        """Mark the job settled, in the thread it was created in (normally the GUI thread).

        ``done`` turns true in the worker thread as soon as the generator ends,
        while its last ``yielded`` signals may still wait in the GUI thread's
        event queue. Queued signals are delivered in order, so when ``finished``
        reaches this slot every earlier signal has been handled: wait on
        ``settled`` (not ``done``) before looking at what the slots built.
        """
        self.settled = True

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


class JobRunner(QObject):
    """A single background thread that runs :class:`Job` objects in submission order.

    The thread is a plain Python thread with one lasting interpreter thread
    state: TensorFlow keeps per-thread Python state (graph and context stacks)
    that a QThread slot, which gets a fresh thread state per call, would lose
    between jobs and crash on.
    """

    def __init__(self, name: str = "raveview-worker", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._jobs: list[Job] = []
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        _RUNNERS.add(self)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            job.execute()

    def submit(self, job: Job) -> Job:
        """Queue ``job``; it runs after the jobs submitted before it."""
        self._jobs = [j for j in self._jobs if not j.settled] + [job]
        self._queue.put(job)
        return job

    def pending(self) -> list[Job]:
        """Jobs not finished yet."""
        return [j for j in self._jobs if not j.done]

    def unsettled(self) -> list[Job]:
        """Jobs whose signals have not all been handled in the GUI thread yet (see :attr:`Job.settled`)."""
        self._jobs = [j for j in self._jobs if not j.settled]
        return list(self._jobs)

    def cancel_all(self) -> None:
        """Cancel every queued or running job."""
        for job in self.pending():
            job.cancel()

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread.is_alive()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel the jobs and stop the thread (waits up to ``timeout_ms`` for the job in flight)."""
        self.cancel_all()
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout_ms / 1000)


@atexit.register
def _stop_runners() -> None:
    """Stop the worker threads of runners still alive when the interpreter exits."""
    for runner in list(_RUNNERS):
        runner.shutdown(2000)
