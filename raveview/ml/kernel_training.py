"""The vectorised training step on the compiled CPU kernel, in numpy, without TensorFlow.

:class:`KernelEngine` is the CPU engine of :func:`raveview.ml.vectorized.train_members`:
the same step as the TensorFlow engine there (every running member's own batch,
dropout mask, MSE gradient and Keras Adam update, a stopped member left as it
is), computed with

* the convolutions and their gradients on :mod:`raveview.ml.conv_kernel`;
* the dropout masks drawn by the kernel as TensorFlow's
  ``tf.random.stateless_uniform`` draws them (the same bits, so both engines
  train to the same weights);
* the dense layers and their gradients as batched matrix products (BLAS);
* Adam as one pass over every member's parameters in the kernel.

A step of 100 members then has no graph to dispatch and no temporary copies of
their 6 million parameters: it takes about 50 ms on two cores, where
TensorFlow's step with the same kernel for its convolutions took about 90 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from raveview.ml import conv_kernel
from raveview.ml.architecture import Architecture
from raveview.ml.fused_cpu import CpuFusedEnsemble, leaky_relu
from raveview.ml.settings import ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON, TrainingSettings, dropout_keys

__all__ = ["KernelEngine"]



def _leaky_grad(g: np.ndarray, z: np.ndarray, slope: float) -> np.ndarray:
    """``g`` times the derivative of the LeakyReLU whose output is ``z``: 1 where ``z > 0`` (there and
    only there its input was positive, for the slopes Keras allows, ``>= 0``), else ``slope``."""
    return np.where(z > 0, g, g * np.float32(slope))


def _t(a: np.ndarray) -> np.ndarray:
    """The batch of matrices ``a`` transposed (a view)."""
    return a.transpose(0, 2, 1)


class KernelEngine:
    """Stacked weights, Adam moments and the training step of some members, in numpy.

    Parameters
    ----------
    state
        The full ensemble's state (``params``, ``adam_m``, ``adam_v``, ``steps``,
        ``running``) of :mod:`raveview.ml.vectorized`.
    rows
        Which members of ``state`` this engine trains.
    arch, settings
        The architecture (``dropout`` is the training rate) and training settings.
    data
        ``(x_spec, x_phot, y, x_spec_val, x_phot_val, y_val)`` float32 arrays
        (photometry ``None`` without photometry).
    seeds
        Every member's seed (indexed by ``rows``); it keys its dropout stream.
    threads
        Threads of the kernel (default: the CPUs this process may use).
    """

    steps_done = 0

    def __init__(self, state, rows: np.ndarray, arch: Architecture, settings: TrainingSettings, data: tuple,
                 seeds: Sequence[int], threads: int | None = None) -> None:
        self.arch, self.settings, self.threads = arch, settings, threads
        self.rows = np.asarray(rows)
        self.n_members = len(self.rows)
        self.params = [np.ascontiguousarray(w[self.rows], dtype=np.float32) for w in state.params]
        self.adam_m = [np.ascontiguousarray(w[self.rows], dtype=np.float32) for w in state.adam_m]
        self.adam_v = [np.ascontiguousarray(w[self.rows], dtype=np.float32) for w in state.adam_v]
        self.steps = np.asarray(state.steps[self.rows], dtype=np.float32)
        self.active = np.asarray(state.running[self.rows], dtype=bool)
        self.x_spec, self.x_phot, self.y, *self.val = data
        self.seed_keys = dropout_keys(np.asarray(seeds)[self.rows])
        self.n_conv = len(arch.conv_filters)
        #: one spectrum's output of the convolutions: (T_last, C_last)
        t_last = conv_kernel.output_length(arch.n_pixels, self.n_conv, arch.kernel_size)
        self._conv_out = (t_last, arch.conv_filters[-1])
        self._acts: np.ndarray | None = None
        self._buffers: dict[tuple, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 array kept for re-use: a step's large arrays (tens of MB) would otherwise be
        freshly allocated, and their pages faulted in, at every step."""
        key = (name, tuple(shape))
        if key not in self._buffers:
            self._buffers[key] = np.empty(shape, dtype=np.float32)
        return self._buffers[key]

    def _step(self, idx: np.ndarray, counter: int) -> np.ndarray:
        """One Adam step of every running member on its own batch ``idx`` (M, B); returns (M,) losses."""
        losses, grads = self.gradients(idx, counter)
        self._adam(grads)
        return losses

    def gradients(self, idx: np.ndarray, counter: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Every member's training loss on its batch and the gradient of the sum of the losses.

        Parameters
        ----------
        idx
            ``(M, B)`` rows of the training set, one batch per member.
        counter
            The training step: the second word of the dropout masks' seeds.

        Returns
        -------
        losses, grads
            ``(M,)`` mean squared errors (with dropout) and one gradient per stacked
            parameter (float32, C order; the large ones are the engine's buffers,
            overwritten by the next call).
        """
        arch, p, nc = self.arch, self.params, self.n_conv
        slope = float(arch.leaky_slope)
        n_members, batch = idx.shape
        xs, y = self.x_spec[idx], self.y[idx]
        kernels, biases = p[0:2 * nc:2], p[1:2 * nc:2]
        conv_shape = (n_members, batch) + self._conv_out
        conv, self._acts = conv_kernel.conv_stack_train(xs, kernels, biases, slope, self.threads,
                                                        acts_buffer=self._acts, out=self._buffer("conv", conv_shape))
        h = conv.reshape(n_members, batch, -1)  # Keras' Flatten order
        mask = None
        if arch.dropout > 0:
            mask = conv_kernel.dropout_masks(self.seed_keys, counter, conv_shape[1:], arch.dropout, self.threads,
                                             out=self._buffer("mask", conv_shape)).reshape(h.shape)
            h = np.multiply(h, mask, out=self._buffer("dropped", h.shape))
        # forward through the dense layers
        j = 2 * nc
        z = leaky_relu(np.matmul(h, p[j]) + p[j + 1][:, None, :], slope)
        j_phot = None
        if arch.with_photometry:
            j_phot, j = j + 2, j + 4
            xp = self.x_phot[idx]
            z = np.concatenate([z, leaky_relu(np.matmul(xp, p[j_phot]) + p[j_phot + 1][:, None, :], slope)], axis=-1)
        else:
            j += 2
        z2 = leaky_relu(np.matmul(z, p[j]) + p[j + 1][:, None, :], slope)
        diff = np.matmul(z2, p[j + 2]) + p[j + 3][:, None, :] - y
        losses = np.mean(np.square(diff, dtype=np.float64), axis=(1, 2))
        # backward: the gradient of the sum of the members' mean squared errors
        grads: list[np.ndarray | None] = [None] * len(p)
        g = diff * np.float32(2.0 / diff[0].size)
        grads[j + 2], grads[j + 3] = np.matmul(_t(z2), g), g.sum(axis=1)
        g = _leaky_grad(np.matmul(g, _t(p[j + 2])), z2, slope)
        grads[j], grads[j + 1] = np.matmul(_t(z), g), g.sum(axis=1)
        g = np.matmul(g, _t(p[j]))
        units = arch.dense_spectrum
        if j_phot is not None:
            g_p = _leaky_grad(g[..., units:], z[..., units:], slope)
            grads[j_phot], grads[j_phot + 1] = np.matmul(_t(xp), g_p), g_p.sum(axis=1)
        g = _leaky_grad(g[..., :units], z[..., :units], slope)
        grads[2 * nc] = np.matmul(_t(h), g, out=self._buffer("grad_dense", p[2 * nc].shape))
        grads[2 * nc + 1] = g.sum(axis=1)
        g_conv = np.matmul(g, _t(p[2 * nc]), out=self._buffer("grad_conv", h.shape))
        if mask is not None:
            g_conv *= mask
        grad_kernels, grad_biases = conv_kernel.conv_stack_backward(xs, kernels, self._acts,
                                                                    g_conv.reshape(conv_shape), slope, self.threads)
        grads[0:2 * nc:2], grads[1:2 * nc:2] = grad_kernels, grad_biases
        return losses, [np.ascontiguousarray(gr, dtype=np.float32) for gr in grads]

    def _adam(self, grads: list[np.ndarray]) -> None:
        active = self.active.astype(np.float32)
        steps = self.steps + active
        t = np.maximum(steps, np.float32(1.0))
        lr = np.float32(self.settings.learning_rate)
        one = np.float32(1.0)
        alpha = lr * np.sqrt(one - np.float32(ADAM_BETA_2) ** t) / (one - np.float32(ADAM_BETA_1) ** t)
        conv_kernel.adam_step(self.params, self.adam_m, self.adam_v, grads, (alpha * active).astype(np.float32),
                              ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON, self.threads)
        self.steps = steps.astype(np.float32)

    def train_epoch(self, perms: np.ndarray) -> np.ndarray:
        """One epoch over the per-member permutations ``perms`` (M, N); returns (M,) mean train losses."""
        n, bs = perms.shape[1], self.settings.batch_size
        total = np.zeros(self.n_members)
        # the matrices are small: one BLAS thread each (BLAS threads that spin between calls would
        # take the cores from the kernel's threads)
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, n, bs):
                idx = perms[:, start:start + bs]
                total += self._step(idx, int(self.steps_done)) * idx.shape[1]
                self.steps_done += 1
        return total / n

    def val_losses(self) -> np.ndarray:
        """(M,) validation losses of every member in inference mode (no dropout)."""
        x_spec, x_phot, y = self.val
        pred = CpuFusedEnsemble(self.params, self.arch, self.threads).predict(x_spec, x_phot)
        return np.mean(np.square(pred - y[None], dtype=np.float64), axis=(1, 2))

    def set_running(self, running: np.ndarray) -> None:
        """Mask updates by the full-ensemble ``running`` flags (only this engine's rows are used)."""
        self.active = np.asarray(running, dtype=bool)[self.rows]

    def export(self, state) -> None:
        """Write this engine's members back into their rows of ``state``."""
        for target, source in ((state.params, self.params), (state.adam_m, self.adam_m), (state.adam_v, self.adam_v)):
            for full, mine in zip(target, source):
                full[self.rows] = mine
        state.steps[self.rows] = self.steps
