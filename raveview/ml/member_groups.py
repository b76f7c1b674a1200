"""Groups of ensemble members trained on the workers of a Dask cluster.

:func:`train_member_groups` splits the members into one group per worker thread
and trains each group with :func:`raveview.ml.vectorized.train_members` on its
worker (all its members at once, with its own checkpoint folder); the training
set is sent to every worker once. It is a drop-in for ``train_members``: the
same per-epoch :class:`~raveview.core.progress.Progress` (the workers send each
epoch's losses through a ``distributed.Queue``) and the same final list of
:class:`~raveview.ml.settings.MemberResult`, in the order of the seeds. A
member's training does not depend on the group it is in, so the members are
those a single process trains.

The cluster comes from :func:`raveview.core.dask_cluster.dask_client`, as for
the batch pipeline. Checkpoint folders must be on a file system that every
worker can read for a killed training to resume.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from raveview.core.errors import TrainingDataError
from raveview.core.progress import Progress
from raveview.ml.architecture import Architecture
from raveview.ml.settings import MemberResult, TrainingSettings

__all__ = ["train_member_groups", "member_groups"]

#: Seconds between looks at the workers' progress messages.
POLL_SECONDS = 0.5


def member_groups(n_members: int, n_groups: int) -> list[list[int]]:
    """Member indices ``0 .. n_members - 1`` in at most ``n_groups`` contiguous groups of near-equal size."""
    n_groups = max(1, min(int(n_groups), n_members))
    bounds = np.linspace(0, n_members, n_groups + 1).round().astype(int)
    return [list(range(lo, hi)) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def _group_folder(root: Path | None, seeds: Sequence[int]) -> str | None:
    """A checkpoint folder named by the group's seeds: a rerun with other groups starts their members afresh."""
    if root is None:
        return None
    digest = hashlib.sha256(",".join(str(int(s)) for s in seeds).encode()).hexdigest()[:12]
    return str(Path(root) / f"group_{digest}")


def _train_group(group: int, queue_name: str, data: tuple, seeds: list[int], arch: Architecture,
                 settings: TrainingSettings, checkpoint_dir: str | None) -> list[MemberResult]:
    """On a worker: train one group, sending each epoch's last losses to the client's queue."""
    from distributed import Queue

    from raveview.ml.vectorized import train_members

    queue = Queue(queue_name)
    results = None
    for progress in train_members(*data, seeds, arch, settings,
                                  checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir else None):
        if isinstance(progress.payload, list):
            results = progress.payload
            continue
        payload = progress.payload
        queue.put({"group": group, "epoch": int(payload["epoch"]),
                   "train_loss": [h[-1] if h else None for h in payload["train_loss"]],
                   "val_loss": [h[-1] if h else None for h in payload["val_loss"]],
                   "epochs": [len(h) for h in payload["val_loss"]], "running": list(payload["running"])})
    if results is None:
        raise TrainingDataError("a member group finished without results")
    return results


def train_member_groups(
    client: Any,
    x_spec_tr: np.ndarray,
    x_phot_tr: np.ndarray | None,
    y_tr: np.ndarray,
    x_spec_val: np.ndarray,
    x_phot_val: np.ndarray | None,
    y_val: np.ndarray,
    seeds: list[int],
    arch: Architecture,
    settings: TrainingSettings,
    checkpoint_dir: Path | None = None,
    n_groups: int | None = None,
) -> Iterator[Progress]:
    """Train ``len(seeds)`` members in groups on the workers of ``client``.

    Parameters
    ----------
    client
        A ``dask.distributed.Client`` (see :func:`raveview.core.dask_cluster.dask_client`).
    x_spec_tr, x_phot_tr, y_tr, x_spec_val, x_phot_val, y_val, seeds, arch, settings
        As for :func:`raveview.ml.vectorized.train_members`.
    checkpoint_dir
        Root of the groups' checkpoint folders (one per group, named by its seeds).
    n_groups
        Groups to split the members into (default: one per worker thread, so that
        workers of several threads run several groups at once).

    Yields
    ------
    Progress
        As :func:`~raveview.ml.vectorized.train_members` does: one per epoch
        reported by a group, with the losses of every member so far, then one
        whose payload is the list of :class:`~raveview.ml.settings.MemberResult`.
    """
    from distributed import Queue

    from raveview.core.dask_cluster import thread_count

    if not seeds:
        raise TrainingDataError("no members to train (empty seed list)")
    groups = member_groups(len(seeds), n_groups or thread_count(client))
    queue_name = f"raveview-training-{uuid.uuid4().hex}"
    queue = Queue(queue_name, client=client)
    data = client.scatter((x_spec_tr, x_phot_tr, y_tr, x_spec_val, x_phot_val, y_val), broadcast=True)
    futures = []
    for g, members in enumerate(groups):
        group_seeds = [int(seeds[i]) for i in members]
        futures.append(client.submit(_train_group, g, queue_name, data, group_seeds, arch, settings,
                                     _group_folder(checkpoint_dir, group_seeds), pure=False,
                                     key=f"raveview-member-group-{g}-{uuid.uuid4().hex[:8]}"))
    train_loss: list[list[float]] = [[] for _ in seeds]
    val_loss: list[list[float]] = [[] for _ in seeds]
    running = [True] * len(seeds)
    epochs = [0] * len(seeds)
    try:
        while True:
            done = all(f.done() for f in futures)
            messages = queue.get(batch=True)
            for msg in messages:
                members = groups[msg["group"]]
                for j, m in enumerate(members):
                    if msg["epochs"][j] > epochs[m]:  # a member that has stopped reports no new epoch
                        epochs[m] = msg["epochs"][j]
                        train_loss[m].append(float(msg["train_loss"][j]))
                        val_loss[m].append(float(msg["val_loss"][j]))
                    running[m] = bool(msg["running"][j])
            if messages:
                epoch = max(epochs)
                yield Progress(epoch, settings.max_epochs,
                               f"epoch {epoch}: {sum(running)} of {len(seeds)} members running "
                               f"({len(groups)} groups)",
                               payload={"epoch": epoch, "train_loss": [list(h) for h in train_loss],
                                        "val_loss": [list(h) for h in val_loss], "running": list(running)})
            if done and not messages:
                break
            if not messages:
                time.sleep(POLL_SECONDS)
        results: list[MemberResult | None] = [None] * len(seeds)
        for members, future in zip(groups, futures):
            try:
                group_results = future.result()
            except TrainingDataError:
                raise
            except Exception as exc:
                raise TrainingDataError(f"a member group failed on the cluster ({type(exc).__name__}: {exc})") \
                    from exc
            for m, result in zip(members, group_results):
                results[m] = result
    finally:
        client.cancel(futures)
    epoch = max(epochs) if epochs else 0
    yield Progress(epoch, settings.max_epochs, f"{len(seeds)} members trained in {len(groups)} groups",
                   payload=results)
