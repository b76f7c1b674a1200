"""The compiled CPU kernel for the convolution stack of many ensemble members.

The kernel (``_conv_stack.c``, built with the package when a C compiler is
present) computes every convolution layer, with its LeakyReLU, for a range of
members and a batch of spectra (:func:`conv_stack`), and for training the
gradients of every member's kernels and biases (:func:`conv_stack_train`,
:func:`conv_stack_backward`). It is called through :mod:`ctypes`, which
releases the GIL, so the members are split over threads.

When the extension was not built (no compiler at install time), :func:`available`
is false and the fused ensemble uses TensorFlow's kernels instead.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from raveview.core.errors import ModelError

__all__ = ["available", "conv_stack", "conv_stack_train", "conv_stack_backward", "cpu_threads", "from_keras_layout",
           "output_length"]

_FLOAT_P = ctypes.POINTER(ctypes.c_float)


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    try:
        from raveview.ml import _conv_stack
    except ImportError:
        return None
    lib = ctypes.CDLL(_conv_stack.__file__)
    shape = [_FLOAT_P, ctypes.c_long, ctypes.c_long, ctypes.c_int, ctypes.c_int,  # x, its member stride, N, T, M
             ctypes.c_int, ctypes.c_int,  # member range
             ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]  # n_layers, c_out, kernel size
    forward = lib.raveview_conv_stack
    forward.restype = ctypes.c_int
    forward.argtypes = shape + [
        ctypes.POINTER(_FLOAT_P), ctypes.POINTER(_FLOAT_P),  # kernels, biases
        _FLOAT_P, ctypes.c_int, _FLOAT_P, ctypes.c_long,  # out, time-major, acts (or NULL), act_len
        _FLOAT_P, ctypes.c_long, ctypes.c_float,  # scratch, scratch_len, slope
    ]
    backward = lib.raveview_conv_stack_backward
    backward.restype = ctypes.c_int
    backward.argtypes = shape + [
        ctypes.POINTER(_FLOAT_P),  # flipped, transposed kernels
        _FLOAT_P, ctypes.c_int, _FLOAT_P, ctypes.c_long, _FLOAT_P,  # out, time-major, acts, act_len, grad_out
        ctypes.POINTER(_FLOAT_P), ctypes.POINTER(_FLOAT_P),  # grad kernels, grad biases
        _FLOAT_P, ctypes.c_long, ctypes.c_float,  # scratch, scratch_len, slope
    ]
    return lib


def available() -> bool:
    """Whether the compiled kernel was built and loads."""
    return _library() is not None


def cpu_threads() -> int:
    """Threads to run the kernel on: the CPUs this process may use, capped by ``OMP_NUM_THREADS``.

    Dask workers set ``OMP_NUM_THREADS`` to their share of the machine, so several
    worker processes do not oversubscribe it.
    """
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        cap = int(os.environ.get("OMP_NUM_THREADS", "0"))
    except ValueError:
        cap = 0
    return max(1, min(n, cap) if cap > 0 else n)


def from_keras_layout(conv_params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Stacked Keras kernels ``(M, K, C_in, C_out)`` and biases, alternating, → the kernel's
    ``(M, C_out, K, C_in)`` kernels (each output channel's taps contiguous) and the biases."""
    return ([np.ascontiguousarray(np.asarray(k, dtype=np.float32).transpose(0, 3, 1, 2)) for k in conv_params[0::2]],
            [np.ascontiguousarray(b, dtype=np.float32) for b in conv_params[1::2]])


def output_length(n_pixels: int, n_layers: int, kernel_size: int) -> int:
    """Pixels left after ``n_layers`` 'valid' convolutions of ``kernel_size``."""
    return n_pixels - n_layers * (kernel_size - 1)


class _Call:
    """Shapes and ctypes arguments shared by the forward and backward calls."""

    def __init__(self, x: np.ndarray, kernels: Sequence[np.ndarray]) -> None:
        lib = _library()
        if lib is None:
            raise ModelError("the compiled convolution kernel is not built (no C compiler at install time)")
        self.lib = lib
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.kernels = [np.ascontiguousarray(k, dtype=np.float32) for k in kernels]
        self.n_members, _, self.k_size, _ = self.kernels[0].shape
        self.per_member = self.x.ndim == 3
        if self.per_member and self.x.shape[0] != self.n_members:
            raise ModelError(f"{self.x.shape[0]} batches of spectra for {self.n_members} members")
        self.n_spectra, self.n_pixels = self.x.shape[-2:]
        self.c_out = [int(k.shape[1]) for k in self.kernels]
        n_layers = len(self.c_out)
        self.t_last = output_length(self.n_pixels, n_layers, self.k_size)
        if self.t_last <= 0:
            raise ModelError(f"spectra of {self.n_pixels} pixels are too short for {n_layers} convolutions "
                             f"of {self.k_size}")
        self.lengths = [output_length(self.n_pixels, i + 1, self.k_size) for i in range(n_layers)]
        self.act_len = sum(c * t for c, t in zip(self.c_out[:-1], self.lengths[:-1]))
        self.head = [self.x.ctypes.data_as(_FLOAT_P), self.n_spectra * self.n_pixels if self.per_member else 0,
                     self.n_spectra, self.n_pixels, self.n_members]
        self.layers = [n_layers, (ctypes.c_int * n_layers)(*self.c_out), self.k_size]

    def out_shape(self, time_major: bool) -> tuple[int, ...]:
        last = (self.t_last, self.c_out[-1]) if time_major else (self.c_out[-1], self.t_last)
        return (self.n_members, self.n_spectra) + last

    def run(self, fn, tail, scratch_len: int, slope: float, threads: int | None) -> None:
        """``fn(*head, lo, hi, *layers, *tail(scratch), scratch_len, slope)`` over member ranges, on threads."""
        if self.n_spectra == 0 or self.n_members == 0:
            return
        threads = max(1, min(threads or cpu_threads(), self.n_members))
        bounds = np.linspace(0, self.n_members, threads + 1).round().astype(int)

        def run(lo: int, hi: int) -> int:
            scratch = np.empty(2 * scratch_len, dtype=np.float32)
            return fn(*self.head, lo, hi, *self.layers, *tail(scratch.ctypes.data_as(_FLOAT_P)), scratch_len, slope)

        if threads == 1:
            codes = [run(0, self.n_members)]
        else:  # threads live for one call (~0.1 ms to start, against ~100 ms of work): nothing lingers
            with ThreadPoolExecutor(threads, thread_name_prefix="raveview-conv") as pool:
                codes = list(pool.map(run, bounds[:-1], bounds[1:]))
        if any(codes):
            raise ModelError("the compiled convolution kernel rejected the layer shapes")


def _pointers(arrays: Sequence[np.ndarray]):
    return (_FLOAT_P * len(arrays))(*[a.ctypes.data_as(_FLOAT_P) for a in arrays])


def _forward(x: np.ndarray, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray], slope: float,
             threads: int | None, keep: bool, time_major: bool,
             acts_buffer: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    call = _Call(x, kernels)
    biases = [np.ascontiguousarray(b, dtype=np.float32) for b in biases]
    out = np.empty(call.out_shape(time_major), dtype=np.float32)
    acts = None
    if keep:
        shape = (call.n_members, call.n_spectra, call.act_len)
        reuse = (acts_buffer is not None and acts_buffer.shape == shape and acts_buffer.dtype == np.float32
                 and acts_buffer.flags.c_contiguous)
        acts = acts_buffer if reuse else np.empty(shape, dtype=np.float32)
    acts_arg = acts.ctypes.data_as(_FLOAT_P) if keep else None
    scratch_len = max(c * t for c, t in zip(call.c_out, call.lengths))
    kernel_ptrs, bias_ptrs = _pointers(call.kernels), _pointers(biases)
    call.run(call.lib.raveview_conv_stack,
             lambda scratch: (kernel_ptrs, bias_ptrs, out.ctypes.data_as(_FLOAT_P), int(time_major), acts_arg,
                              call.act_len, scratch),
             scratch_len, slope, threads)
    return out, acts


def conv_stack(x: np.ndarray, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray], slope: float,
               threads: int | None = None, time_major: bool = False) -> np.ndarray:
    """Every convolution layer (each followed by LeakyReLU) of every member, for a batch of spectra.

    Parameters
    ----------
    x
        ``(N, n_pixels)`` float32 spectra shared by all members, or ``(M, N, n_pixels)``,
        one batch per member.
    kernels
        One array per layer, ``(M, C_out, kernel_size, C_in)`` float32, C order
        (the transpose of Keras' ``(kernel_size, C_in, C_out)`` per member).
    biases
        One array per layer, ``(M, C_out)`` float32.
    slope
        Negative slope of the LeakyReLU (0 to 1).
    threads
        Threads to split the members over (default :func:`cpu_threads`).
    time_major
        Return ``(M, N, T_last, C_last)`` (Keras' ``Flatten`` order) instead.

    Returns
    -------
    numpy.ndarray
        ``(M, N, C_last, T_last)`` float32 (channel-major), or ``(M, N, T_last, C_last)``.
    """
    return _forward(x, kernels, biases, slope, threads, keep=False, time_major=time_major)[0]


def conv_stack_train(x: np.ndarray, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray], slope: float,
                     threads: int | None = None, time_major: bool = False,
                     acts_buffer: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`conv_stack` that also keeps what :func:`conv_stack_backward` needs.

    Parameters
    ----------
    x, kernels, biases, slope, threads, time_major
        As for :func:`conv_stack`.
    acts_buffer
        An array to write the activations into when it has their shape (float32,
        C order; otherwise it is ignored); saves allocating (and faulting in) tens
        of MB per training step.

    Returns
    -------
    out, acts
        The last layer's output (as for :func:`conv_stack`) and the other layers'
        outputs ``(M, N, sum of C_i × T_i)``.
    """
    out, acts = _forward(x, kernels, biases, slope, threads, keep=True, time_major=time_major,
                            acts_buffer=acts_buffer)
    return out, acts


def conv_stack_backward(x: np.ndarray, kernels: Sequence[np.ndarray], out: np.ndarray, acts: np.ndarray,
                        grad_out: np.ndarray, slope: float, threads: int | None = None,
                        time_major: bool = False) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Gradients of every member's kernels and biases, summed over its spectra.

    Parameters
    ----------
    x, kernels, slope, time_major
        As given to :func:`conv_stack_train`.
    out, acts
        What :func:`conv_stack_train` returned.
    grad_out
        Gradient of the loss with respect to ``out``, same shape.

    Returns
    -------
    grad_kernels, grad_biases
        One array per layer, shaped like ``kernels`` and the biases.
    """
    call = _Call(x, kernels)
    grad_out = np.ascontiguousarray(grad_out, dtype=np.float32)
    out = np.ascontiguousarray(out, dtype=np.float32)
    acts = np.ascontiguousarray(acts, dtype=np.float32)
    if grad_out.shape != out.shape or out.shape != call.out_shape(time_major):
        raise ModelError(f"output gradient of shape {grad_out.shape} for outputs of shape {out.shape}")
    flipped = [np.ascontiguousarray(k.transpose(0, 3, 2, 1)[:, :, ::-1, :]) for k in call.kernels]
    grad_kernels = [np.empty_like(k) for k in call.kernels]
    grad_biases = [np.empty((call.n_members, c), dtype=np.float32) for c in call.c_out]
    pad = 2 * (call.k_size - 1)
    scratch_len = max(c * (t + pad) for c, t in zip(call.c_out, call.lengths))
    flipped_ptrs, gk_ptrs, gb_ptrs = _pointers(flipped), _pointers(grad_kernels), _pointers(grad_biases)
    call.run(call.lib.raveview_conv_stack_backward,
             lambda scratch: (flipped_ptrs, out.ctypes.data_as(_FLOAT_P), int(time_major),
                              acts.ctypes.data_as(_FLOAT_P), call.act_len, grad_out.ctypes.data_as(_FLOAT_P),
                              gk_ptrs, gb_ptrs, scratch),
             scratch_len, slope, threads)
    return grad_kernels, grad_biases
