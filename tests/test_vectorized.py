"""Vectorised training: Keras equivalence, per-member results, checkpoint resume."""

from __future__ import annotations

import numpy as np
import pytest

from raveview.core.errors import TrainingDataError
from raveview.ml.architecture import Architecture, build_model
from raveview.ml.settings import MemberResult, TrainingSettings
from raveview.ml.vectorized import CHECKPOINT_FILE, glorot_weights, train_members, weight_shapes

ARCH = Architecture(n_pixels=60, dropout=0.0)


def _data(arch: Architecture, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x_spec = rng.uniform(0.3, 1.0, size=(n, arch.n_pixels)).astype(np.float32)
    x_phot = rng.uniform(0.0, 1.0, size=(n, arch.n_photometry)).astype(np.float32)
    # labels that depend on the inputs, so the loss can fall
    y = np.stack([x_spec[:, i * 5 : i * 5 + 5].mean(1) * x_phot[:, i] for i in range(arch.n_labels)], 1)
    return x_spec, x_phot, y.astype(np.float32)


def _run(gen):
    *epochs, final = list(gen)
    return epochs, final.payload


@pytest.mark.parametrize("with_photometry", [True, False])
def test_single_member_matches_keras_fit(with_photometry):
    import keras

    arch = Architecture(n_pixels=60, dropout=0.0, with_photometry=with_photometry)
    xs, xp, y = _data(arch, 70)
    xs_val, xp_val, y_val = _data(arch, 20, seed=1)
    model = build_model(arch, seed=3)
    start = model.get_weights()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    inputs = [xs[..., None]] + ([xp[..., None]] if with_photometry else [])
    val_inputs = [xs_val[..., None]] + ([xp_val[..., None]] if with_photometry else [])
    hist = model.fit(inputs, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                     validation_data=(val_inputs, y_val)).history
    settings = TrainingSettings(max_epochs=3, patience=40)
    epochs, results = _run(train_members(xs, xp if with_photometry else None, y, xs_val,
                                         xp_val if with_photometry else None, y_val, [3], arch, settings,
                                         initial_weights=[start], shuffle=False))
    assert len(epochs) == 3 and epochs[-1].done == 3
    (res,) = results
    assert isinstance(res, MemberResult) and res.epochs == 3
    np.testing.assert_allclose(res.train_loss, hist["loss"], rtol=2e-4)
    np.testing.assert_allclose(res.val_loss, hist["val_loss"], rtol=2e-4)
    assert res.val_loss[-1] < res.val_loss[0]  # it learned something
    for got, want in zip(res.weights, model.get_weights()):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=2e-5)


def test_members_are_independent_and_weights_load_into_keras():
    arch = Architecture(n_pixels=60, dropout=0.2)
    xs, xp, y = _data(arch, 48)
    settings = TrainingSettings(max_epochs=2)
    _, results = _run(train_members(xs, xp, y, xs[:16], xp[:16], y[:16], [11, 12, 11], arch, settings))
    assert [r.seed for r in results] == [11, 12, 11]
    # same seed, same member; other seed, other member
    for a, b in zip(results[0].weights, results[2].weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert np.abs(results[0].weights[0] - results[1].weights[0]).max() > 1e-3
    model = build_model(arch)
    model.set_weights(results[1].weights)
    pred = np.asarray(model([xs[:16, :, None], xp[:16, :, None]], training=False))
    np.testing.assert_allclose(np.mean((pred - y[:16]) ** 2), results[1].val_loss[-1], rtol=1e-4)


def test_glorot_limits_follow_keras():
    weights = glorot_weights(Architecture(), seed=1)
    assert [w.shape for w in weights] == weight_shapes(Architecture())
    assert [w.shape for w in weights] == [w.shape for w in build_model(Architecture()).get_weights()]
    conv2 = weights[2]  # (10, 8, 4): limit sqrt(6 / (80 + 40))
    limit = np.sqrt(6 / 120)
    assert np.abs(conv2).max() <= limit and np.abs(conv2).max() > 0.9 * limit
    assert not np.any(weights[1])  # zero bias
    assert not np.allclose(glorot_weights(Architecture(), seed=2)[2], conv2)


def test_checkpoint_resume_continues_from_checkpoint_epoch(tmp_path):
    xs, xp, y = _data(ARCH, 40)
    settings = TrainingSettings(max_epochs=6, patience=40)
    args = (xs, xp, y, xs[:10], xp[:10], y[:10], [1, 2], ARCH, settings)
    full_epochs, full = _run(train_members(*args))
    gen = train_members(*args, checkpoint_dir=tmp_path, checkpoint_every=2)
    for progress in gen:
        if progress.done == 3:
            break  # the consumer cancels after epoch 3; the checkpoint is from epoch 2
    gen.close()
    assert (tmp_path / CHECKPOINT_FILE).exists()
    resumed_epochs, resumed = _run(train_members(*args, checkpoint_dir=tmp_path, checkpoint_every=2))
    assert [p.done for p in resumed_epochs] == [3, 4, 5, 6]
    for a, b in zip(full, resumed):
        assert b.epochs == 6
        np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=1e-5)
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-6)
    # a checkpoint of another training is refused with a one-line error naming the file
    with pytest.raises(TrainingDataError, match=CHECKPOINT_FILE):
        list(train_members(xs, xp, y, xs[:10], xp[:10], y[:10], [1, 3], ARCH, settings, checkpoint_dir=tmp_path))


def test_early_stopping_masks_stopped_members():
    xs, xp, y = _data(ARCH, 32)
    # patience 1 with a learning rate so large that validation loss soon stops improving
    settings = TrainingSettings(max_epochs=30, patience=1, learning_rate=0.5)
    epochs, results = _run(train_members(xs, xp, y, xs[:8], xp[:8], y[:8], [1, 2], ARCH, settings))
    for res in results:
        assert res.epochs < 30
        # stopped exactly when the last loss did not beat the best before it
        assert res.val_loss[-1] >= min(res.val_loss[:-1])
    running = [p.payload["running"] for p in epochs]
    assert running[-1] == [False, False]


def test_bad_training_data_raises():
    xs, xp, y = _data(ARCH, 20)
    with pytest.raises(TrainingDataError, match="labels"):
        next(train_members(xs, xp, y[:5], xs, xp, y, [1], ARCH, TrainingSettings()))
    with pytest.raises(TrainingDataError, match="photometry"):
        next(train_members(xs, None, y, xs, xp, y, [1], ARCH, TrainingSettings()))


def test_dropping_stopped_members_from_the_computation_changes_no_result():
    arch = Architecture(n_pixels=60, dropout=0.2)
    xs, xp, y = _data(arch, 64)
    xs_val, xp_val, _ = _data(arch, 24, seed=5)
    y_val = np.random.default_rng(6).uniform(0, 1, (24, arch.n_labels)).astype(np.float32)  # unlearnable:
    settings = TrainingSettings(max_epochs=14, patience=2, learning_rate=3e-3)  # members stop at their own epochs
    seeds = [4, 9, 17, 23, 31]
    args = (xs, xp, y, xs_val, xp_val, y_val, seeds, arch, settings)
    _, whole = _run(train_members(*args, compact_below=0.0))
    _, compacted = _run(train_members(*args, compact_below=0.99))
    stops = sorted({r.epochs for r in whole})
    assert len(stops) >= 2 and stops[0] < settings.max_epochs   # members stopped at different epochs
    for a, b in zip(whole, compacted):
        assert a.epochs == b.epochs
        np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=1e-5)
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(wa, wb, atol=1e-5)


def test_resume_after_members_stopped_and_left_the_computation(tmp_path):
    arch = Architecture(n_pixels=60, dropout=0.2)
    xs, xp, y = _data(arch, 64)
    xs_val, xp_val, _ = _data(arch, 24, seed=5)
    y_val = np.random.default_rng(6).uniform(0, 1, (24, arch.n_labels)).astype(np.float32)
    settings = TrainingSettings(max_epochs=14, patience=2, learning_rate=3e-3)
    args = (xs, xp, y, xs_val, xp_val, y_val, [4, 9, 17, 23, 31], arch, settings)
    _, full = _run(train_members(*args, compact_below=0.99))
    gen = train_members(*args, checkpoint_dir=tmp_path, checkpoint_every=2, compact_below=0.99)
    for progress in gen:
        stopped = progress.payload["running"].count(False)
        if stopped >= 1 and progress.done % 2 == 1:
            break  # killed after some members stopped; the checkpoint is from the epoch before
    gen.close()
    assert stopped >= 1
    _, resumed = _run(train_members(*args, checkpoint_dir=tmp_path, checkpoint_every=2, compact_below=0.99))
    for a, b in zip(full, resumed):
        assert a.epochs == b.epochs
        np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=1e-5)
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(wa, wb, atol=1e-5)


@pytest.mark.skipif(not __import__("raveview.ml.conv_kernel", fromlist=["x"]).available(),
                    reason="the C kernel was not built (no C compiler when raveview was installed)")
def test_kernel_and_tensorflow_convolutions_train_the_same_members():
    arch = Architecture(n_pixels=80, dropout=0.2)
    xs, xp, y = _data(arch, 48)
    xs_val, xp_val, y_val = _data(arch, 16, seed=2)
    settings = TrainingSettings(max_epochs=4, patience=40)
    args = (xs, xp, y, xs_val, xp_val, y_val, [5, 6, 7], arch, settings)
    _, kernel = _run(train_members(*args, conv_engine="cpu-kernel"))
    _, tensorflow = _run(train_members(*args, conv_engine="tensorflow"))
    for a, b in zip(kernel, tensorflow):
        np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-4)
        np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=1e-4)
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(wa, wb, atol=1e-4)
    assert kernel[0].val_loss[-1] != kernel[1].val_loss[-1]  # members differ
    with pytest.raises(TrainingDataError, match="XLA"):
        next(train_members(*args, conv_engine="cpu-kernel", jit_compile=True))
    with pytest.raises(Exception, match="unknown"):
        next(train_members(*args, conv_engine="gpu-please"))


@pytest.mark.slow
def test_20_member_ensemble_scatter_equals_the_keras_ensemble_within_noise():
    # 20 members trained at once against 20 members trained one by one with Keras fit (each from its own
    # Glorot draw, with Adam's state reset); the test scatter of the ensemble mean per label must agree
    # within 3 times its noise (the member-to-member spread of the members' scatter over sqrt(20))
    import keras
    from ml_helpers import synthetic_set

    from raveview.ml.fused_cpu import make_fused

    _, x_spec, _, x_phot, y = synthetic_set(500, seed=11)
    x_spec = np.ascontiguousarray(x_spec[:, ::3])  # a third of the pixels keeps the Keras half of the test short
    y = ((y - y.min(0)) / np.ptp(y, 0)).astype(np.float32)
    x_phot = ((x_phot - x_phot.min(0)) / np.ptp(x_phot, 0)).astype(np.float32)
    tr, te = slice(0, 400), slice(400, 500)
    arch = Architecture(n_pixels=x_spec.shape[1])
    settings = TrainingSettings(max_epochs=20, batch_size=32, learning_rate=3e-3)
    seeds = list(range(20))
    _, vectorised = _run(train_members(x_spec[tr], x_phot[tr], y[tr], x_spec[te], x_phot[te], y[te], seeds, arch,
                                       settings))
    model = build_model(arch, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss="mse")
    model.optimizer.build(model.trainable_variables)
    state = [v for v in model.optimizer.variables if "learning_rate" not in v.path]  # moments and step count
    one_by_one = []
    for seed in seeds:  # one compiled model re-initialised per member: tracing 20 models would take longer
        keras.utils.set_random_seed(seed)
        model.set_weights(glorot_weights(arch, 1000 + seed))
        for v in state:
            v.assign(np.zeros(v.shape, v.dtype))
        model.fit([x_spec[tr, :, None], x_phot[tr, :, None]], y[tr], batch_size=settings.batch_size,
                  epochs=settings.max_epochs, verbose=0)
        one_by_one.append(model.get_weights())

    def scatter(weights):
        members = []
        for w in weights:
            members.append(build_model(arch))
            members[-1].set_weights(w)
        pred = make_fused(members).predict(x_spec[te], x_phot[te])  # (M, N, labels)
        return np.std(pred.mean(0) - y[te], axis=0), np.std(pred - y[te][None], axis=1)

    sigma_vec, _ = scatter([r.weights for r in vectorised])
    sigma_keras, member_sigma = scatter(one_by_one)
    noise = member_sigma.std(0) / np.sqrt(len(seeds))
    assert np.all(np.abs(sigma_vec - sigma_keras) < 3 * noise), (sigma_vec, sigma_keras, noise)
    learnable = slice(0, 4)  # Teff, log g, [M/H], [Fe/H] shape the lines; the other labels are noise here
    assert np.all(sigma_keras[learnable] < 0.7 * y[te].std(0)[learnable])
    assert np.all(sigma_vec[learnable] < 0.7 * y[te].std(0)[learnable])
    assert len({round(float(s), 6) for s in member_sigma[:, 0]}) == len(seeds)  # the members differ
