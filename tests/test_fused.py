"""Fused ensemble inference equals member-by-member Keras predictions."""

from __future__ import annotations

import numpy as np
import pytest

from raveview.core.errors import ModelError
from raveview.ml.architecture import Architecture, build_model
from raveview.ml.fused import FusedEnsemble, architecture_of, stack_weights, unstack_weights

SMALL = dict(n_pixels=120)


def _inputs(arch: Architecture, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x_spec = rng.uniform(0.2, 1.1, size=(n, arch.n_pixels)).astype(np.float32)
    x_phot = rng.uniform(0.0, 1.0, size=(n, arch.n_photometry)).astype(np.float32)
    return x_spec, x_phot


def _keras_outputs(models, arch, x_spec, x_phot):
    outs = []
    for model in models:
        inputs = [x_spec[..., None]] + ([x_phot[..., None]] if arch.with_photometry else [])
        outs.append(np.asarray(model(inputs, training=False)))
    return np.stack(outs)


@pytest.mark.parametrize("with_photometry", [True, False])
def test_fused_equals_keras_members(with_photometry):
    arch = Architecture(with_photometry=with_photometry, **SMALL)
    models = [build_model(arch, seed=s) for s in (1, 2, 3)]
    # non-zero biases so that their stacking is exercised too
    rng = np.random.default_rng(5)
    for model in models:
        model.set_weights([w + (rng.normal(0, 0.05, w.shape) if w.ndim == 1 else 0) for w in model.get_weights()])
    x_spec, x_phot = _inputs(arch, 37)
    fused = FusedEnsemble.from_models(models)
    assert fused.arch == arch
    got = fused.predict(x_spec, x_phot if with_photometry else None, batch_size=16)
    want = _keras_outputs(models, arch, x_spec, x_phot)
    assert got.shape == (3, 37, arch.n_labels)
    assert np.abs(want).max() > 0.05  # outputs are not trivially zero
    # outputs are O(0.1-1): 1e-5 absolute is a 1e-5 relative bound on their scale
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # members differ, so a mixed-up member order would fail
    assert np.abs(got[0] - got[1]).max() > 1e-3


def test_from_weights_matches_from_models_and_published_shape():
    arch = Architecture()
    models = [build_model(arch, seed=s) for s in (7, 8)]
    x_spec, x_phot = _inputs(arch, 5, seed=1)
    a = FusedEnsemble.from_models(models).predict(x_spec, x_phot)
    b = FusedEnsemble.from_weights([m.get_weights() for m in models], arch).predict(x_spec, x_phot)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, _keras_outputs(models, arch, x_spec, x_phot), rtol=1e-5, atol=1e-5)


def test_stack_roundtrip_and_architecture_recovery():
    arch = Architecture(**SMALL)
    weights = [build_model(arch, seed=s).get_weights() for s in (1, 2)]
    stacked = stack_weights(weights)
    assert stacked[0].shape == (2, 10, 1, 8)
    back = unstack_weights(stacked)
    for w0, w1 in zip(weights[1], back[1]):
        np.testing.assert_array_equal(w0, w1)
    assert architecture_of(weights[0], arch.n_pixels) == arch


def test_bad_inputs_raise_model_errors():
    arch = Architecture(**SMALL)
    fused = FusedEnsemble.from_weights([build_model(arch, seed=1).get_weights()], arch)
    x_spec, x_phot = _inputs(arch, 3)
    with pytest.raises(ModelError, match="pixels"):
        fused.predict(x_spec[:, :100], x_phot)
    with pytest.raises(ModelError, match="photometry"):
        fused.predict(x_spec, None)
    other = build_model(Architecture(with_photometry=False, **SMALL), seed=1).get_weights()
    with pytest.raises(ModelError):
        stack_weights([build_model(arch, seed=1).get_weights(), other])


def test_fused_batch_bounds_members_times_spectra():
    from raveview.ml.ensemble import FUSED_BATCH, FUSED_MEMBER_ROWS, fused_batch_size

    assert fused_batch_size(10) == FUSED_BATCH == 256
    assert fused_batch_size(80) == 128 and fused_batch_size(100) == 64
    for members in (1, 16, 40, 41, 80, 200, 5000):
        size = fused_batch_size(members)
        assert 16 <= size <= FUSED_BATCH and size & (size - 1) == 0
        assert size * members <= FUSED_MEMBER_ROWS or size == 16
