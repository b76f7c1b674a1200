"""Groups of ensemble members trained on a real Dask LocalCluster (loopback) equal one process's members."""

from __future__ import annotations

import numpy as np
import pytest

from raveview.core.dask_cluster import dask_client
from raveview.ml.architecture import Architecture
from raveview.ml.member_groups import member_groups, train_member_groups
from raveview.ml.settings import TrainingSettings
from raveview.ml.vectorized import train_members

pytestmark = pytest.mark.timeout(300)


def _data(arch: Architecture, n: int, seed: int):
    rng = np.random.default_rng(seed)
    x_spec = rng.uniform(0.3, 1.0, (n, arch.n_pixels)).astype(np.float32)
    x_phot = rng.uniform(0.0, 1.0, (n, arch.n_photometry)).astype(np.float32)
    y = np.stack([x_spec[:, 5 * i:5 * i + 5].mean(1) * x_phot[:, i] for i in range(arch.n_labels)], 1)
    return x_spec, x_phot, y.astype(np.float32)


def test_member_groups_are_contiguous_and_cover_every_member():
    assert member_groups(5, 2) == [[0, 1], [2, 3, 4]]
    assert member_groups(3, 8) == [[0], [1], [2]]
    assert member_groups(100, 4) == [list(range(25 * g, 25 * g + 25)) for g in range(4)]


@pytest.mark.slow
def test_groups_on_a_local_cluster_train_the_members_of_one_process(tmp_path):
    arch = Architecture(n_pixels=80, dropout=0.2)
    train, val = _data(arch, 48, 0), _data(arch, 16, 1)
    val = (*val[:2], np.random.default_rng(6).uniform(0, 1, val[2].shape).astype(np.float32))  # members stop early
    settings = TrainingSettings(max_epochs=14, patience=2, learning_rate=3e-3)
    seeds = [3, 5, 8, 13, 21]
    *_, local = train_members(*train, *val, seeds, arch, settings)
    with dask_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        steps = list(train_member_groups(client, *train, *val, seeds, arch, settings, checkpoint_dir=tmp_path))
    *epochs, final = steps
    assert epochs and all(p.payload["epoch"] >= 1 for p in epochs)
    assert len(list(tmp_path.glob("group_*"))) == 2  # one checkpoint folder per group
    for a, b, seed in zip(local.payload, final.payload, seeds):
        assert b.seed == seed and a.epochs == b.epochs
        np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=1e-5)
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(wa, wb, atol=1e-5)
    # the streamed histories are the members' own, member by member
    last = epochs[-1].payload
    for m, result in enumerate(final.payload):
        np.testing.assert_allclose(last["val_loss"][m], result.val_loss, rtol=1e-6)
    assert not any(last["running"]) or final.done == settings.max_epochs
    assert any(r.epochs < settings.max_epochs for r in final.payload)  # early stopping happened on the workers
