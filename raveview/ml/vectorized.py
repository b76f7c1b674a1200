"""Vectorised ensemble training: K members fitted at once in one computation.

Every member keeps the published training semantics (Guiglion et al. 2020):
MSE loss, Adam (lr 1e-3, β1 0.9, β2 0.999, ε 1e-7 as Keras), batch 16, at most
``max_epochs`` epochs, early stopping on its own validation loss with patience
40, last weights kept. Each member has its own seed, which sets its
Glorot-uniform initialisation and its data permutation of every epoch; its
dropout masks are drawn from a counter-based stream keyed by its seed. The
weights of all members are stacked along a leading member axis (see
:mod:`raveview.ml.fused`), one training step updates all running members, and a
member that has stopped keeps its weights and optimizer state (its update is
masked). Validation losses of all members come from one fused pass per epoch.

Two engines compute the steps, with the same results to float32 rounding: on a
CPU with the compiled kernel, :class:`raveview.ml.kernel_training.KernelEngine`
(numpy and the kernel, no TensorFlow); otherwise (a GPU, no C compiler at
install time, or ``conv_engine="tensorflow"``) a compiled TensorFlow step.

Use :func:`train_members`; it is a generator yielding a
:class:`~raveview.core.progress.Progress` per epoch (each yield is a
cancellation point) and finally one whose payload is the list of
:class:`~raveview.ml.settings.MemberResult`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from raveview.core.errors import TrainingDataError
from raveview.core.progress import Progress
from raveview.ml.architecture import Architecture
from raveview.ml.conv_kernel import output_length
from raveview.ml.fused import stack_weights, stacked_forward, unstack_weights
from raveview.ml.settings import ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON, MemberResult, TrainingSettings, dropout_keys

__all__ = ["train_members", "glorot_weights", "CHECKPOINT_FILE"]

#: Name of the checkpoint file inside ``checkpoint_dir``.
CHECKPOINT_FILE = "vectorized_checkpoint.npz"
#: Drop stopped members from the computation once the running ones are at most this fraction of it.
COMPACT_BELOW = 0.75


def weight_shapes(arch: Architecture) -> list[tuple[int, ...]]:
    """Shapes of ``build_model(arch).get_weights()``, without building a Keras model."""
    shapes: list[tuple[int, ...]] = []
    c_in, length = 1, arch.n_pixels
    for filters in arch.conv_filters:
        shapes += [(arch.kernel_size, c_in, filters), (filters,)]
        c_in, length = filters, length - arch.kernel_size + 1
    shapes += [(length * c_in, arch.dense_spectrum), (arch.dense_spectrum,)]
    joint_in = arch.dense_spectrum
    if arch.with_photometry:
        shapes += [(arch.n_photometry, arch.dense_photometry), (arch.dense_photometry,)]
        joint_in += arch.dense_photometry
    shapes += [(joint_in, arch.dense_joint), (arch.dense_joint,), (arch.dense_joint, arch.n_labels), (arch.n_labels,)]
    return shapes


def glorot_weights(arch: Architecture, seed: int) -> list[np.ndarray]:
    """Glorot-uniform kernels and zero biases, drawn from the member's own seed.

    The limits are those of Keras: ``sqrt(6 / (fan_in + fan_out))`` with
    ``fan_in = kernel * C_in`` and ``fan_out = kernel * C_out`` for convolutions.
    """
    rng = np.random.default_rng([int(seed), 0x6C0B])
    weights = []
    for shape in weight_shapes(arch):
        if len(shape) == 1:
            weights.append(np.zeros(shape, dtype=np.float32))
            continue
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, size=shape).astype(np.float32))
    return weights


def _permutation(seed: int, epoch: int, n: int, shuffle: bool) -> np.ndarray:
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng([int(seed), 0x5F1E, int(epoch)]).permutation(n)


def _check_inputs(x_spec, x_phot, y, arch: Architecture, what: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    x_spec = np.asarray(x_spec, dtype=np.float32).reshape(len(x_spec), -1)
    y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    if x_spec.shape[1] != arch.n_pixels:
        raise TrainingDataError(f"{what} spectra have {x_spec.shape[1]} pixels, the network expects {arch.n_pixels}")
    if len(y) != len(x_spec) or y.shape[1] != arch.n_labels:
        raise TrainingDataError(f"{what} labels have shape {y.shape}, expected ({len(x_spec)}, {arch.n_labels})")
    if arch.with_photometry:
        if x_phot is None:
            raise TrainingDataError(f"{what} photometry is missing but the network uses photometry")
        x_phot = np.asarray(x_phot, dtype=np.float32).reshape(len(x_phot), -1)
        if x_phot.shape != (len(x_spec), arch.n_photometry):
            raise TrainingDataError(f"{what} photometry has shape {x_phot.shape}, expected ({len(x_spec)}, {arch.n_photometry})")
    else:
        x_phot = None
    for name, arr in (("spectra", x_spec), ("labels", y), ("photometry", x_phot)):
        if arr is not None and not np.all(np.isfinite(arr)):
            raise TrainingDataError(f"{what} {name} contain NaN or infinite values")
    return x_spec, x_phot, y


class _State:
    """Stacked weights, Adam moments and early-stopping bookkeeping of K members."""

    def __init__(self, stacked: list[np.ndarray], n_members: int) -> None:
        self.params = stacked
        self.adam_m = [np.zeros_like(w) for w in stacked]
        self.adam_v = [np.zeros_like(w) for w in stacked]
        self.steps = np.zeros(n_members, dtype=np.float32)
        self.running = np.ones(n_members, dtype=bool)
        self.best = np.full(n_members, np.inf)
        self.wait = np.zeros(n_members, dtype=np.int64)
        self.epoch = 0
        self.train_loss = [[] for _ in range(n_members)]
        self.val_loss = [[] for _ in range(n_members)]

    def save(self, path: Path, fingerprint: str) -> None:
        n = len(self.running)
        hist = np.full((2, n, max(1, self.epoch)), np.nan)
        for m in range(n):
            hist[0, m, : len(self.train_loss[m])] = self.train_loss[m]
            hist[1, m, : len(self.val_loss[m])] = self.val_loss[m]
        arrays = {f"p{i}": w for i, w in enumerate(self.params)}
        arrays |= {f"m{i}": w for i, w in enumerate(self.adam_m)}
        arrays |= {f"v{i}": w for i, w in enumerate(self.adam_v)}
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, steps=self.steps, running=self.running, best=self.best, wait=self.wait,
                 epoch=np.int64(self.epoch), history=hist, fingerprint=np.str_(fingerprint), **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, fingerprint: str, n_params: int) -> "_State":
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["fingerprint"]) != fingerprint:
                    raise TrainingDataError("checkpoint belongs to another training (seeds, data or settings differ)", path)
                state = cls([np.array(data[f"p{i}"]) for i in range(n_params)], len(data["running"]))
                state.adam_m = [np.array(data[f"m{i}"]) for i in range(n_params)]
                state.adam_v = [np.array(data[f"v{i}"]) for i in range(n_params)]
                state.steps, state.running = np.array(data["steps"]), np.array(data["running"])
                state.best, state.wait = np.array(data["best"]), np.array(data["wait"])
                state.epoch = int(data["epoch"])
                hist = np.array(data["history"])
        except TrainingDataError:
            raise
        except Exception as exc:  # truncated or foreign file
            raise TrainingDataError(f"unreadable checkpoint ({type(exc).__name__}: {exc})", path) from exc
        for m in range(len(state.running)):
            state.train_loss[m] = [float(v) for v in hist[0, m] if np.isfinite(v)]
            state.val_loss[m] = [float(v) for v in hist[1, m] if np.isfinite(v)]
        return state


def _fingerprint(seeds, arch, settings, n_train, n_val, shuffle, y_tr) -> str:
    return json.dumps({"seeds": [int(s) for s in seeds], "arch": arch.to_dict(), "settings": settings.to_dict(),
                       "n": [n_train, n_val], "shuffle": shuffle, "ysum": round(float(np.sum(y_tr, dtype=np.float64)), 6)},
                      sort_keys=True)


def _use_kernel(conv_engine: str, jit_compile: bool) -> bool:
    """Whether the numpy engine on the compiled CPU kernel trains (see ``train_members(conv_engine=...)``)."""
    from raveview.ml.fused_cpu import choose_backend

    if conv_engine == "auto" and jit_compile:
        return False  # XLA compiles the TensorFlow step
    if conv_engine == "cpu-kernel" and jit_compile:
        raise TrainingDataError("the compiled CPU kernel's engine is not XLA: use jit_compile=False")
    return choose_backend(conv_engine) == "cpu-kernel"


class _Engine:
    """The compiled training step and validation pass over stacked TensorFlow variables."""

    def __init__(self, state: _State, rows: np.ndarray, arch: Architecture, settings: TrainingSettings,
                 data: tuple, seeds: Sequence[int], jit_compile: bool) -> None:
        import tensorflow as tf

        x_spec, x_phot, y, x_spec_val, x_phot_val, y_val = data
        self.tf, self.arch, self.settings = tf, arch, settings
        self.rows = np.asarray(rows)
        self.n_members = len(self.rows)
        self.params = [tf.Variable(w[self.rows]) for w in state.params]
        self.adam_m = [tf.Variable(w[self.rows]) for w in state.adam_m]
        self.adam_v = [tf.Variable(w[self.rows]) for w in state.adam_v]
        self.steps = tf.Variable(state.steps[self.rows])
        self.active = tf.Variable(state.running[self.rows].astype(np.float32))
        self.x_spec, self.y = tf.constant(x_spec), tf.constant(y)
        self.x_phot = tf.constant(x_phot) if x_phot is not None else None
        self.val = (tf.constant(x_spec_val), tf.constant(x_phot_val) if x_phot_val is not None else None, tf.constant(y_val))
        self.seed_keys = tf.constant(dropout_keys(np.asarray(seeds)[self.rows]), dtype=tf.int64)
        self._step = tf.function(self._train_step, jit_compile=jit_compile, autograph=False,
                                 reduce_retracing=True)
        self._val = tf.function(self._val_loss, autograph=False)

    def _dropout_keep(self, batch: int, counter: Any) -> Any:
        """Keep mask ``(M, B, T_last, C_last)``; member m's stream is keyed by its seed and the step counter."""
        tf, arch = self.tf, self.arch
        if arch.dropout <= 0:
            return None
        t_last = output_length(arch.n_pixels, len(arch.conv_filters), arch.kernel_size)
        c_last = arch.conv_filters[-1]
        seeds = tf.stack([self.seed_keys, tf.fill([self.n_members], counter)], axis=1)  # (M, 2)
        u = tf.map_fn(lambda s: tf.random.stateless_uniform((batch, t_last, c_last), seed=s),
                      seeds, fn_output_signature=tf.float32)  # (M, B, T, C)
        return tf.cast(u >= arch.dropout, tf.float32)

    def _train_step(self, idx: Any, counter: Any) -> Any:
        """One Adam step of every running member on its own batch ``idx`` (M, B); returns (M,) losses."""
        tf = self.tf
        xs, y = tf.gather(self.x_spec, idx), tf.gather(self.y, idx)
        xp = tf.gather(self.x_phot, idx) if self.x_phot is not None else None
        keep = self._dropout_keep(tf.shape(idx)[1] if idx.shape[1] is None else idx.shape[1], counter)
        with tf.GradientTape() as tape:
            pred = stacked_forward(self.params, xs, xp, self.arch, keep)
            losses = tf.reduce_mean(tf.square(pred - y), axis=(1, 2))
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, self.params)
        active = self.active
        steps = self.steps + active
        t = tf.maximum(steps, 1.0)
        alpha = self.settings.learning_rate * tf.sqrt(1.0 - ADAM_BETA_2**t) / (1.0 - ADAM_BETA_1**t) * active  # (M,)
        for var, grad, m, v in zip(self.params, grads, self.adam_m, self.adam_v):
            shape = [-1] + [1] * (var.shape.rank - 1)
            on = tf.reshape(active, shape)
            m_new = m + (grad - m) * (1.0 - ADAM_BETA_1) * on
            v_new = v + (tf.square(grad) - v) * (1.0 - ADAM_BETA_2) * on
            var.assign_sub(tf.reshape(alpha, shape) * m_new / (tf.sqrt(v_new) + ADAM_EPSILON))
            m.assign(m_new)
            v.assign(v_new)
        self.steps.assign(steps)
        return losses

    def _val_loss(self) -> Any:
        tf = self.tf
        xs, xp, y = self.val
        pred = stacked_forward(self.params, xs, xp, self.arch)
        return tf.reduce_mean(tf.square(pred - y[None]), axis=(1, 2))

    def train_epoch(self, perms: np.ndarray) -> np.ndarray:
        """One epoch over the per-member permutations ``perms`` (M, N); returns (M,) mean train losses."""
        tf = self.tf
        n, bs = perms.shape[1], self.settings.batch_size
        total = np.zeros(self.n_members)
        for start in range(0, n, bs):
            idx = perms[:, start:start + bs]
            counter = tf.constant(int(self.steps_done), tf.int64)
            total += self._step(tf.constant(idx, tf.int32), counter).numpy() * idx.shape[1]
            self.steps_done += 1
        return total / n

    steps_done = 0

    def val_losses(self) -> np.ndarray:
        return self._val().numpy().astype(np.float64)

    def set_running(self, running: np.ndarray) -> None:
        """Mask updates by the full-ensemble ``running`` flags (only this engine's rows are used)."""
        self.active.assign(running[self.rows].astype(np.float32))

    def export(self, state: _State) -> None:
        """Write this engine's members back into their rows of ``state``."""
        for target, source in ((state.params, self.params), (state.adam_m, self.adam_m), (state.adam_v, self.adam_v)):
            for full, var in zip(target, source):
                full[self.rows] = var.numpy()
        state.steps[self.rows] = self.steps.numpy()


def _make_engine(state: _State, rows: np.ndarray, arch: Architecture, settings: TrainingSettings, data: tuple,
                 seeds: Sequence[int], jit_compile: bool, use_kernel: bool):
    """The engine that trains members ``rows``: numpy on the compiled kernel, or TensorFlow."""
    if use_kernel:
        from raveview.ml.kernel_training import KernelEngine

        return KernelEngine(state, rows, arch, settings, data, seeds)
    return _Engine(state, rows, arch, settings, data, seeds, jit_compile)


def train_members(
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
    *,
    initial_weights: Sequence[Sequence[np.ndarray]] | None = None,
    shuffle: bool = True,
    checkpoint_every: int = 10,
    jit_compile: bool = False,
    compact_below: float = COMPACT_BELOW,
    conv_engine: str = "auto",
) -> Iterator[Progress]:
    """Train ``len(seeds)`` members at once.

    Parameters
    ----------
    x_spec_tr, x_phot_tr, y_tr
        Training spectra ``(N, n_pixels)``, photometry ``(N, n_photometry)`` (``None``
        without photometry) and labels ``(N, n_labels)``, already min–max normalised.
    x_spec_val, x_phot_val, y_val
        The validation set, same layout.
    seeds
        One seed per member (initialisation, permutations, dropout).
    arch
        The architecture (``arch.dropout`` is the dropout rate used in training).
    settings
        ``max_epochs``, ``patience``, ``batch_size`` and ``learning_rate`` are used.
    checkpoint_dir
        Folder for a checkpoint of the stacked state, written every
        ``checkpoint_every`` epochs and at the end; an existing checkpoint of the
        same training is resumed from.
    initial_weights
        Optional starting weights per member (Keras ``get_weights()`` order)
        instead of the seeded Glorot-uniform draw.
    shuffle
        Draw a fresh permutation of the training set per member and epoch (Keras
        ``fit(shuffle=True)``); ``False`` keeps the given order.
    checkpoint_every
        Epochs between checkpoints.
    jit_compile
        Compile the training step with XLA (slower than oneDNN's grouped
        convolutions on CPU at the time of writing, hence off by default).
    compact_below
        When the members still running fall to this fraction of those in the
        computation, the stopped ones are dropped from it (their weights are
        final), so that late epochs cost only what the running members need.
        0 never compacts. The results do not depend on it (each member's
        batches, dropout masks and updates are its own).
    conv_engine
        Who computes the training steps: ``"auto"`` (the numpy engine on the
        compiled CPU kernel when it was built, TensorFlow sees no GPU and
        ``jit_compile`` is off), ``"cpu-kernel"`` or ``"tensorflow"``. The
        results agree to float32 rounding.

    Yields
    ------
    Progress
        One per epoch (``done`` = epochs run, ``total`` = ``max_epochs``) with
        payload ``{"epoch", "train_loss", "val_loss", "running"}`` (per-member lists
        and a boolean list); then a final one whose payload is ``list[MemberResult]``
        in the order of ``seeds``.
    """
    if not seeds:
        raise TrainingDataError("no members to train (empty seed list)")
    x_spec_tr, x_phot_tr, y_tr = _check_inputs(x_spec_tr, x_phot_tr, y_tr, arch, "training")
    x_spec_val, x_phot_val, y_val = _check_inputs(x_spec_val, x_phot_val, y_val, arch, "validation")
    if len(x_spec_tr) == 0 or len(x_spec_val) == 0:
        raise TrainingDataError("training and validation sets must not be empty")
    n_members = len(seeds)
    if initial_weights is not None and len(initial_weights) != n_members:
        raise TrainingDataError(f"{len(initial_weights)} initial weight lists for {n_members} members")
    fingerprint = _fingerprint(seeds, arch, settings, len(x_spec_tr), len(x_spec_val), shuffle, y_tr)
    use_kernel = _use_kernel(conv_engine, jit_compile)
    ckpt = Path(checkpoint_dir) / CHECKPOINT_FILE if checkpoint_dir is not None else None
    if ckpt is not None:
        ckpt.parent.mkdir(parents=True, exist_ok=True)
    n_params = len(weight_shapes(arch))
    if ckpt is not None and ckpt.exists():
        state = _State.load(ckpt, fingerprint, n_params)
    else:
        weights = initial_weights if initial_weights is not None else [glorot_weights(arch, s) for s in seeds]
        state = _State(stack_weights(weights), n_members)
    data = (x_spec_tr, x_phot_tr, y_tr, x_spec_val, x_phot_val, y_val)
    n_train = len(x_spec_tr)
    engine = None
    if state.running.any():
        engine = _make_engine(state, np.flatnonzero(state.running), arch, settings, data, seeds, jit_compile,
                              use_kernel)
        engine.steps_done = state.epoch * -(-n_train // settings.batch_size)
    while state.epoch < settings.max_epochs and state.running.any():
        if state.running.sum() <= compact_below * engine.n_members:
            engine.export(state)
            steps_done = engine.steps_done
            engine = _make_engine(state, np.flatnonzero(state.running), arch, settings, data, seeds, jit_compile,
                                  use_kernel)
            engine.steps_done = steps_done
        engine.set_running(state.running)
        perms = np.stack([_permutation(seeds[m], state.epoch, n_train, shuffle) for m in engine.rows])
        train = np.full(n_members, np.nan)
        val = np.full(n_members, np.nan)
        train[engine.rows] = engine.train_epoch(perms)
        val[engine.rows] = engine.val_losses()
        for m in np.flatnonzero(state.running):
            state.train_loss[m].append(float(train[m]))
            state.val_loss[m].append(float(val[m]))
            if val[m] < state.best[m]:
                state.best[m], state.wait[m] = val[m], 0
            else:
                state.wait[m] += 1
                if state.wait[m] >= settings.patience:
                    state.running[m] = False
        state.epoch += 1
        if ckpt is not None and (state.epoch % checkpoint_every == 0 or not state.running.any()):
            engine.export(state)
            state.save(ckpt, fingerprint)
        yield Progress(
            state.epoch, settings.max_epochs,
            f"epoch {state.epoch}: {int(state.running.sum())} of {n_members} members running",
            payload={"epoch": state.epoch, "train_loss": [list(h) for h in state.train_loss],
                     "val_loss": [list(h) for h in state.val_loss], "running": state.running.tolist()},
        )
    if engine is not None:
        engine.export(state)
    if ckpt is not None:
        state.save(ckpt, fingerprint)
    members = unstack_weights(state.params)
    results = [MemberResult(seed=int(seed), weights=members[m], train_loss=list(state.train_loss[m]),
                            val_loss=list(state.val_loss[m]), best_epoch=max(0, len(state.train_loss[m]) - 1))
               for m, seed in enumerate(seeds)]
    yield Progress(state.epoch, settings.max_epochs, f"{n_members} members trained", payload=results)
