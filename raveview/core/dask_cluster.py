"""The Dask cluster a long job runs on: one at an address, or a local one on loopback.

Both the batch pipeline (chunks of files) and the training engine (groups of
ensemble members) open their cluster here, so ``--scheduler ADDRESS`` and
``--workers N`` mean the same everywhere. On an HPC cluster, start the
scheduler and workers with dask-jobqueue and give the scheduler's address.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["dask_client", "worker_count", "thread_count"]

#: Worker processes of a local cluster when neither an address nor a count is given.
DEFAULT_LOCAL_WORKERS = 2


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for the length of the ``with`` block.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:port``); its workers are used.
    workers
        Without ``scheduler``: start a ``LocalCluster`` of this many worker
        processes (one thread each) on 127.0.0.1, closed at the end of the block.

    Yields
    ------
    distributed.Client
    """
    from dask.distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=int(workers or DEFAULT_LOCAL_WORKERS), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def worker_count(client: Any, fallback: int | None = None) -> int:
    """The workers connected to ``client``'s scheduler (``fallback``, or 1, while there are none)."""
    return max(1, len(client.scheduler_info().get("workers", {})) or int(fallback or 1))


def thread_count(client: Any) -> int:
    """The worker threads of ``client``'s cluster (tasks it runs at once), at least 1."""
    return max(1, sum(client.nthreads().values()))
