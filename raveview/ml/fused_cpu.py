"""Fused inference on the CPU with the compiled convolution kernel.

:class:`CpuFusedEnsemble` evaluates the same stacked network as
:class:`raveview.ml.fused.FusedEnsemble`, with the convolutions (88 % of the
arithmetic) and the first dense layer (10 %) done by :mod:`raveview.ml.conv_kernel`,
and the small dense layers after it as batched matrix products in numpy (BLAS). It needs no TensorFlow at all.

:func:`make_fused` picks the engine: this one on a CPU when the kernel was
built, TensorFlow's (:class:`~raveview.ml.fused.FusedEnsemble`) on a GPU or
without the kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from raveview.core.errors import ModelError
from raveview.ml import conv_kernel
from raveview.ml.architecture import Architecture
from raveview.ml.fused import FusedEnsemble, checked_inputs, stacked_from_models

__all__ = ["CpuFusedEnsemble", "make_fused", "choose_backend", "leaky_relu", "BACKENDS"]

#: Accepted values of ``backend`` in :func:`make_fused`.
BACKENDS: tuple[str, ...] = ("auto", "cpu-kernel", "tensorflow")


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    """LeakyReLU of ``x``, in place where the slope allows it (``0 <= slope <= 1``); the result is
    positive exactly where ``x`` is, so it also tells where the derivative is 1."""
    return np.maximum(x, slope * x, out=x) if 0.0 <= slope <= 1.0 else np.where(x > 0, x, slope * x)


class CpuFusedEnsemble:
    """All members of an ensemble evaluated with the compiled CPU kernel.

    Same interface and outputs as :class:`raveview.ml.fused.FusedEnsemble`
    (equal to per-member Keras predictions within 1e-5). Thread-safe: a call
    holds no state between batches.

    Parameters
    ----------
    stacked
        Stacked parameters in Keras weight order (see :func:`raveview.ml.fused.stack_weights`).
    arch
        The members' architecture.
    threads
        Threads for the convolutions (default: the CPUs this process may use).
    """

    #: How the engine is named in logs and provenance.
    backend = "cpu-kernel"
    #: Most member-spectra per call: it keeps only the last convolution's output (4x less per
    #: member-spectrum than TensorFlow's graph), and 256 spectra of 80 members run 15 % faster than 128.
    batch_member_rows = 20_480

    def __init__(self, stacked: Sequence[np.ndarray], arch: Architecture, threads: int | None = None) -> None:
        if not conv_kernel.available():
            raise ModelError("the compiled convolution kernel is not built (no C compiler at install time)")
        self.arch = arch
        self.threads = threads
        self.n_members = int(np.shape(stacked[0])[0])
        n_conv = len(arch.conv_filters)
        w = [np.asarray(p, dtype=np.float32) for p in stacked]
        self._kernels, self._biases = conv_kernel.split_conv_params(w[:2 * n_conv])
        t_last = conv_kernel.output_length(arch.n_pixels, n_conv, arch.kernel_size)
        c_last = arch.conv_filters[-1]
        if w[2 * n_conv].shape[1] != t_last * c_last:
            raise ModelError(f"the first dense layer has {w[2 * n_conv].shape[1]} inputs, the convolutions give "
                             f"{t_last} x {c_last}")
        self._first_dense = (np.ascontiguousarray(w[2 * n_conv]), np.ascontiguousarray(w[2 * n_conv + 1]))
        self._dense = [np.ascontiguousarray(p) for p in w[2 * n_conv + 2:]]

    @classmethod
    def from_models(cls, models: Sequence[Any], threads: int | None = None) -> "CpuFusedEnsemble":
        """Build from Keras models of :func:`~raveview.ml.architecture.build_model` shape."""
        stacked, arch = stacked_from_models(models)
        return cls(stacked, arch, threads)

    def predict(self, x_spec: np.ndarray, x_phot: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
        """Outputs of every member: the same arguments and result as :meth:`FusedEnsemble.predict`.

        ``batch_size`` spectra go through the kernel at a time; it bounds the
        memory of the activations (``M × batch_size × 7 kB``).
        """
        x_spec, x_phot = checked_inputs(x_spec, x_phot, self.arch)
        n = len(x_spec)
        out = np.empty((self.n_members, n, self.arch.n_labels), dtype=np.float32)
        for start in range(0, n, max(1, batch_size)):
            stop = min(n, start + max(1, batch_size))
            out[:, start:stop] = self._forward(x_spec[start:stop], None if x_phot is None else x_phot[start:stop])
        return out

    def _forward(self, x_spec: np.ndarray, x_phot: np.ndarray | None) -> np.ndarray:
        slope = float(self.arch.leaky_slope)
        # the convolutions and the first dense layer (with its LeakyReLU) in the kernel: (M, N, units)
        h = conv_kernel.conv_stack(x_spec, self._kernels, self._biases, slope, self.threads, dense=self._first_dense)
        d = self._dense
        j = 0
        if self.arch.with_photometry:
            p = leaky_relu(np.matmul(x_phot[None], d[0]) + d[1][:, None, :], slope)
            h = np.concatenate([h, p], axis=-1)
            j += 2
        h = leaky_relu(np.matmul(h, d[j]) + d[j + 1][:, None, :], slope)
        return np.matmul(h, d[j + 2]) + d[j + 3][:, None, :]


def make_fused(models: Sequence[Any], backend: str = "auto") -> CpuFusedEnsemble | FusedEnsemble:
    """The fused ensemble of Keras ``models`` on the best engine for this machine.

    Parameters
    ----------
    models
        Keras models of :func:`~raveview.ml.architecture.build_model` shape.
    backend
        ``"auto"``: the compiled CPU kernel when it was built and TensorFlow sees
        no GPU, else TensorFlow; ``"cpu-kernel"`` or ``"tensorflow"`` to choose.

    Raises
    ------
    ModelError
        For an unknown backend, or ``"cpu-kernel"`` when the kernel was not built.
    """
    if choose_backend(backend) == "cpu-kernel":
        return CpuFusedEnsemble.from_models(models)
    return FusedEnsemble.from_models(models)


def choose_backend(backend: str = "auto") -> str:
    """``"cpu-kernel"`` or ``"tensorflow"`` for a requested backend (see :func:`make_fused`).

    Raises
    ------
    ModelError
        For an unknown backend, or ``"cpu-kernel"`` when the kernel was not built.
    """
    if backend not in BACKENDS:
        raise ModelError(f"unknown inference backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "cpu-kernel" and not conv_kernel.available():
        raise ModelError("the compiled convolution kernel is not built (no C compiler at install time)")
    if backend == "auto":
        return "cpu-kernel" if conv_kernel.available() and not _tensorflow_sees_gpu() else "tensorflow"
    return backend


def _tensorflow_sees_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))
