"""Drawing :class:`raveview.core.progress.Progress` streams as rich progress bars."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from raveview.core.progress import Progress


def progress_bar(steps: Iterable[Progress], description: str) -> Any:
    """Consume a Progress generator drawing one bar; returns the last payload that was not None."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    last = None
    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             TextColumn("{task.fields[note]}"), transient=not sys.stderr.isatty(),
             disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(description, total=None, note="")
        for step in steps:
            bar.update(task, completed=step.done, total=step.total, note=step.message[-60:])
            if step.payload is not None:
                last = step.payload
    return last


def training_bars(steps: Iterable[Progress]) -> Any:
    """Draw an overall bar (members) and a bar per member (epochs) for :func:`train_ensemble`."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    last = None
    tty = sys.stderr.isatty()
    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             TextColumn("{task.fields[note]}"), disable=not tty) as bar:
        overall = bar.add_task("members", total=None, note="")
        member_task, member_key = None, None
        for step in steps:
            bar.update(overall, completed=step.done, total=step.total)
            payload = step.payload
            if isinstance(payload, dict) and "member" in payload:
                key = (payload.get("kind"), payload["member"])
                if key != member_key:
                    if member_task is not None:
                        bar.remove_task(member_task)
                    member_key = key
                    member_task = bar.add_task(f"{key[0]} #{key[1] + 1}", total=payload.get("max_epochs"), note="")
                bar.update(member_task, completed=payload["epoch"], note=f"val_loss {payload['val_loss']:.5f}")
            elif payload is not None:
                last = payload
            if not tty and not (isinstance(payload, dict) and "member" in payload):
                print(step.message, file=sys.stderr)
    return last
