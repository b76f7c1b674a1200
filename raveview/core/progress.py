"""The small progress value that long-running generators yield.

Long work in the core (batch prediction, training, simulation) is written as a
generator that yields :class:`Progress` values. The CLI draws a bar from them,
the GUI wraps the same generator in a worker thread; each ``yield`` is also a
cancellation point.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """How far a job has come.

    Parameters
    ----------
    done
        Units of work finished so far.
    total
        Units of work in all, or ``None`` when unknown.
    message
        A short human-readable description of the current step.
    payload
        Optional partial results the consumer may use (e.g. rows just computed).
    """

    done: int
    total: int | None = None
    message: str = ""
    payload: Any = field(default=None, compare=False, repr=False)

    @property
    def fraction(self) -> float | None:
        """Fraction done in [0, 1], or ``None`` when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


def run_to_end(steps: Generator[Progress, None, T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Run a progress generator to its end and return the value it returns.

    Parameters
    ----------
    steps
        A generator yielding :class:`Progress` and returning a result.
    on_progress
        Called with every Progress (e.g. to draw a bar), or ``None``.
    """
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(step)
