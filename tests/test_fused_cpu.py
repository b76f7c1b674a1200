"""The compiled CPU kernel: same outputs as member-by-member Keras, any layer widths, any thread count."""

from __future__ import annotations

import shutil
import sysconfig

import numpy as np
import pytest

from raveview.core.errors import ModelError
from raveview.ml import conv_kernel
from raveview.ml.architecture import Architecture, build_model

needs_kernel = pytest.mark.skipif(not conv_kernel.available(),
                                  reason="the C kernel was not built (no C compiler when raveview was installed)")


def _compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


def test_kernel_is_built_wherever_a_compiler_is():
    # the extension is optional only for machines without a compiler; with one, a failed build is a bug
    if _compiler() is None:
        pytest.skip("no C compiler on this machine: the TensorFlow engine is used instead")
    assert conv_kernel.available()
    assert conv_kernel.kernel_sets()[-1] == "base"
    with pytest.raises(ModelError, match="cannot run the 'avx1024' kernels"):
        conv_kernel.use_kernel_set("avx1024")


def _models(arch: Architecture, n: int, seed: int = 0):
    models = [build_model(arch, seed=seed + s) for s in range(n)]
    rng = np.random.default_rng(seed + 100)
    for model in models:  # non-zero biases, so that their layout is exercised too
        model.set_weights([w + (rng.normal(0, 0.05, w.shape) if w.ndim == 1 else 0) for w in model.get_weights()])
    return models


def _keras(models, arch, x_spec, x_phot):
    inputs = [x_spec[..., None]] + ([x_phot[..., None]] if arch.with_photometry else [])
    return np.stack([np.asarray(m(inputs, training=False)) for m in models])


def _numpy_conv(x_spec, kernels, biases, slope):
    """The convolution layers as written in the Keras documentation: (M, N, T_last, C_last)."""
    out = []
    for m in range(len(kernels[0])):
        h = x_spec[..., None].astype(np.float64)
        for w, b in zip(kernels, biases):
            k, t_out = w.shape[1], h.shape[1] - w.shape[1] + 1
            h = sum(h[:, t:t + t_out, :] @ w[m, t] for t in range(k)) + b[m]
            h = np.where(h > 0, h, slope * h)
        out.append(h)
    return np.stack(out)


def _inputs(arch: Architecture, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.2, 1.1, (n, arch.n_pixels)).astype(np.float32),
            rng.uniform(0.0, 1.0, (n, arch.n_photometry)).astype(np.float32))


@needs_kernel
@pytest.mark.parametrize("with_photometry", [True, False])
def test_cpu_kernel_equals_keras_members_on_the_published_shape(with_photometry):
    from raveview.ml.fused_cpu import CpuFusedEnsemble

    arch = Architecture(with_photometry=with_photometry)  # 912 pixels, filters (8, 4, 2), kernel 10
    models = _models(arch, 3)
    x_spec, x_phot = _inputs(arch, 37)
    engine = CpuFusedEnsemble.from_models(models)
    got = engine.predict(x_spec, x_phot if with_photometry else None, batch_size=16)  # 3 batches, last partial
    want = _keras(models, arch, x_spec, x_phot)
    assert got.shape == (3, 37, arch.n_labels) and got.dtype == np.float32
    assert np.abs(want).max() > 0.05
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.abs(got[0] - got[1]).max() > 1e-3  # a mixed-up member order would fail


@needs_kernel
@pytest.mark.parametrize("filters, n_pixels", [((3, 5, 1), 120), ((16, 7), 70), ((8, 4, 2), 40)])
def test_cpu_kernel_handles_any_widths_and_short_rows(filters, n_pixels):
    # output widths split into groups of 8, 4, 2 and 1; rows shorter than a vector block use the scalar path
    from raveview.ml.fused_cpu import CpuFusedEnsemble

    arch = Architecture(n_pixels=n_pixels, conv_filters=filters)
    models = _models(arch, 2, seed=3)
    x_spec, x_phot = _inputs(arch, 9, seed=4)
    got = CpuFusedEnsemble.from_models(models).predict(x_spec, x_phot)
    np.testing.assert_allclose(got, _keras(models, arch, x_spec, x_phot), rtol=1e-5, atol=1e-5)


@needs_kernel
def test_conv_stack_is_the_same_on_one_thread_and_many():
    from raveview.ml.fused import stack_weights

    arch = Architecture(n_pixels=200)
    stacked = stack_weights([m.get_weights() for m in _models(arch, 5)])
    kernels, biases = conv_kernel.split_conv_params(stacked[:6])
    x_spec, _ = _inputs(arch, 6)
    one = conv_kernel.conv_stack(x_spec, kernels, biases, 0.3, threads=1)
    many = conv_kernel.conv_stack(x_spec, kernels, biases, 0.3, threads=3)
    assert one.shape == (5, 6, conv_kernel.output_length(200, 3, 10), 2)
    np.testing.assert_array_equal(one, many)
    # LeakyReLU was applied: negative outputs are 0.3 times what they would be, so some are negative but small
    assert (one < 0).any() and (one > 0).any()


@pytest.fixture(params=["avx512", "avx2", "base"])
def kernel_set(request):
    """Run a test on each instruction-set variant of the kernel this CPU runs."""
    if not conv_kernel.available():
        pytest.skip("the C kernel was not built (no C compiler when raveview was installed)")
    sets = conv_kernel.kernel_sets()
    if request.param not in sets:
        pytest.skip(f"this CPU does not run the {request.param} kernels")
    conv_kernel.use_kernel_set(request.param)
    yield request.param
    conv_kernel.use_kernel_set(sets[0])


def test_every_kernel_set_gives_the_published_network(kernel_set):
    # 21 spectra: one full block of 16 and a partial one; the first dense layer in the kernel against numpy
    arch = Architecture()
    models = _models(arch, 2, seed=5)
    x_spec, x_phot = _inputs(arch, 21, seed=6)
    from raveview.ml.fused import stack_weights

    stacked = stack_weights([m.get_weights() for m in models])
    kernels, biases = conv_kernel.split_conv_params(stacked[:6])
    conv = conv_kernel.conv_stack(x_spec, kernels, biases, 0.3)
    np.testing.assert_allclose(conv, _numpy_conv(x_spec, kernels, biases, 0.3), rtol=1e-5, atol=1e-5)
    dense = conv_kernel.conv_stack(x_spec, kernels, biases, 0.3, dense=(stacked[6], stacked[7]))
    pre = np.einsum("mnf,mfo->mno", conv.reshape(2, 21, -1), stacked[6]) + stacked[7][:, None, :]
    np.testing.assert_allclose(dense, np.maximum(pre, 0.3 * pre), rtol=1e-5, atol=1e-5)


@needs_kernel
def test_conv_stack_rejects_spectra_too_short_for_the_convolutions():
    kernels = [np.zeros((1, 10, 1, 2), np.float32), np.zeros((1, 10, 2, 1), np.float32)]
    biases = [np.zeros((1, 2), np.float32), np.zeros((1, 1), np.float32)]
    with pytest.raises(ModelError, match="too short"):
        conv_kernel.conv_stack(np.ones((2, 15), np.float32), kernels, biases, 0.3)


def test_make_fused_picks_the_kernel_on_a_cpu_and_honours_a_choice():
    from raveview.ml.fused_cpu import make_fused

    arch = Architecture(n_pixels=120)
    models = _models(arch, 2)
    auto = make_fused(models)
    assert auto.backend == ("cpu-kernel" if conv_kernel.available() else "tensorflow")
    forced = make_fused(models, backend="tensorflow")
    assert forced.backend == "tensorflow"
    x_spec, x_phot = _inputs(arch, 5)
    np.testing.assert_allclose(auto.predict(x_spec, x_phot), forced.predict(x_spec, x_phot), rtol=1e-5, atol=1e-5)
    with pytest.raises(ModelError, match="unknown inference backend"):
        make_fused(models, backend="fpga")


def test_cpu_threads_follow_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert conv_kernel.cpu_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert conv_kernel.cpu_threads() >= 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert conv_kernel.cpu_threads() >= 1


@needs_kernel
@pytest.mark.parametrize("filters, n_pixels, kernel_size, photometry, dropout",
                         [((8, 4, 2), 912, 10, True, 0.2), ((3, 5, 1), 120, 10, True, 0.0),
                          ((16, 7), 70, 10, False, 0.5), ((4, 2), 50, 7, True, 0.2)])
def test_kernel_engine_gradients_equal_tensorflow_gradients(filters, n_pixels, kernel_size, photometry, dropout,
                                                            kernel_set):
    # the whole training step's gradients (convolutions, dropout, dense layers) of the numpy engine against
    # TensorFlow's, per-member batches; on every kernel set, whose tap groups leave different remainders
    import tensorflow as tf

    from raveview.ml.fused import stack_weights, stacked_forward
    from raveview.ml.kernel_training import KernelEngine
    from raveview.ml.settings import TrainingSettings, dropout_keys
    from raveview.ml.vectorized import _State

    arch = Architecture(n_pixels=n_pixels, conv_filters=filters, kernel_size=kernel_size, dropout=dropout,
                        with_photometry=photometry)
    stacked = stack_weights([m.get_weights() for m in _models(arch, 3)])
    rng = np.random.default_rng(8)
    x_spec, x_phot = _inputs(arch, 20, seed=9)
    y = rng.uniform(0, 1, (20, arch.n_labels)).astype(np.float32)
    data = (x_spec, x_phot if photometry else None, y, x_spec, x_phot if photometry else None, y)
    seeds = [11, 12, 13]
    engine = KernelEngine(_State(stacked, 3), np.arange(3), arch, TrainingSettings(), data, seeds)
    idx = np.stack([rng.permutation(20)[:17] for _ in range(3)])  # 17 spectra: a block of 16 and one more
    losses, got = engine.gradients(idx, counter=4)

    params = [tf.Variable(w) for w in stacked]
    keep = None
    if dropout:
        t_last = conv_kernel.output_length(n_pixels, len(filters), kernel_size)
        masks = conv_kernel.dropout_masks(dropout_keys(seeds), 4, (17, t_last, filters[-1]), dropout)
        keep = tf.constant((masks > 0).astype(np.float32))
    with tf.GradientTape() as tape:
        pred = stacked_forward(params, tf.constant(x_spec[idx]), tf.constant(x_phot[idx]) if photometry else None,
                               arch, keep)
        member_losses = tf.reduce_mean(tf.square(pred - y[idx]), axis=(1, 2))
        total = tf.reduce_sum(member_losses)
    want = [g.numpy() for g in tape.gradient(total, params)]
    np.testing.assert_allclose(losses, member_losses.numpy(), rtol=1e-5)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and np.abs(w).max() > 0
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * np.abs(w).max())


@needs_kernel
@pytest.mark.parametrize("shape", [(16, 885, 2), (5, 3), (1,), (7, 9)])
def test_dropout_masks_are_the_bits_tensorflow_draws(shape):
    import tensorflow as tf

    seeds = [3, 12345, 2**31 - 2, 0]
    for counter in (0, 7, 123456789):
        masks = conv_kernel.dropout_masks(seeds, counter, shape, 0.2)
        assert masks.shape == (len(seeds),) + shape and masks.dtype == np.float32
        for seed, mask in zip(seeds, masks):
            u = tf.random.stateless_uniform(shape, seed=tf.constant([seed, counter], tf.int64)).numpy()
            np.testing.assert_array_equal(mask, np.where(u >= 0.2, np.float32(1.25), np.float32(0.0)))
    assert 0.7 < (conv_kernel.dropout_masks([1], 2, (10_000,), 0.3) > 0).mean() < 0.74  # a rate of 0.3 keeps ~70 %
    with pytest.raises(ModelError, match="outside"):
        conv_kernel.dropout_masks([1], 0, (3,), 1.0)


@needs_kernel
def test_adam_step_is_keras_update_and_leaves_stopped_members_alone():
    rng = np.random.default_rng(3)
    shapes = [(3, 10, 1, 8), (3, 8), (3, 1770, 32)]
    params = [rng.normal(size=s).astype(np.float32) for s in shapes]
    m = [rng.normal(size=s).astype(np.float32) * 0.1 for s in shapes]
    v = [rng.uniform(0, 0.01, size=s).astype(np.float32) for s in shapes]
    grads = [rng.normal(size=s).astype(np.float32) for s in shapes]
    alpha = np.array([1e-3, 0.0, 5e-4], np.float32)  # member 1 has stopped
    want_p, want_m, want_v = [], [], []
    for p, mm, vv, g in zip(params, m, v, grads):
        a = alpha.reshape((-1,) + (1,) * (p.ndim - 1)).astype(np.float64)
        m1 = mm + (g - mm) * (1 - 0.9)
        v1 = vv + (g.astype(np.float64) ** 2 - vv) * (1 - 0.999)
        p1 = p - m1 * a / (np.sqrt(v1) + 1e-7)
        on = (alpha > 0).reshape(a.shape)
        want_p.append(np.where(on, p1, p))
        want_m.append(np.where(on, m1, mm))
        want_v.append(np.where(on, v1, vv))
    before = [p.copy() for p in params]
    conv_kernel.adam_step(params, m, v, grads, alpha, 0.9, 0.999, 1e-7, threads=2)
    for got, want in zip(params + m + v, want_p + want_m + want_v):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p[1], b[1])  # the stopped member is untouched
        assert not np.array_equal(p[0], b[0])
    with pytest.raises(ModelError, match="contiguous float32"):
        conv_kernel.adam_step([params[0][:, ::2]], [m[0]], [v[0]], [grads[0]], alpha, 0.9, 0.999, 1e-7)
