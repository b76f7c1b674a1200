"""The compiled CPU kernel for the convolution stack of many ensemble members.

The kernel (``_conv_stack.c``, built with the package when a C compiler is
present) computes every convolution layer, with its LeakyReLU, for a range of
members and a batch of spectra. It is called through :mod:`ctypes`, which
releases the GIL, so :func:`conv_stack` splits the members over threads.

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

__all__ = ["available", "conv_stack", "cpu_threads", "output_length"]

_FLOAT_P = ctypes.POINTER(ctypes.c_float)


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    try:
        from raveview.ml import _conv_stack
    except ImportError:
        return None
    lib = ctypes.CDLL(_conv_stack.__file__)
    fn = lib.raveview_conv_stack
    fn.restype = ctypes.c_int
    fn.argtypes = [
        _FLOAT_P, ctypes.c_long, ctypes.c_int, ctypes.c_int,  # x, n_spectra, n_pixels, n_members
        ctypes.c_int, ctypes.c_int,  # member range
        ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int,  # n_layers, c_out, kernel size
        ctypes.POINTER(_FLOAT_P), ctypes.POINTER(_FLOAT_P),  # kernels, biases
        _FLOAT_P, _FLOAT_P, ctypes.c_long, ctypes.c_float,  # out, scratch, scratch_len, slope
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


def output_length(n_pixels: int, n_layers: int, kernel_size: int) -> int:
    """Pixels left after ``n_layers`` 'valid' convolutions of ``kernel_size``."""
    return n_pixels - n_layers * (kernel_size - 1)


def conv_stack(x: np.ndarray, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray], slope: float,
               threads: int | None = None) -> np.ndarray:
    """Every convolution layer (each followed by LeakyReLU) of every member, for a batch of spectra.

    Parameters
    ----------
    x
        ``(N, n_pixels)`` float32 spectra, shared by all members.
    kernels
        One array per layer, ``(M, C_out, kernel_size, C_in)`` float32, C order
        (the transpose of Keras' ``(kernel_size, C_in, C_out)`` per member).
    biases
        One array per layer, ``(M, C_out)`` float32.
    slope
        Negative slope of the LeakyReLU.
    threads
        Threads to split the members over (default :func:`cpu_threads`).

    Returns
    -------
    numpy.ndarray
        ``(M, N, C_last, T_last)`` float32: channel-major, unlike Keras' ``Flatten``
        order ``(T_last, C_last)``.
    """
    lib = _library()
    if lib is None:
        raise ModelError("the compiled convolution kernel is not built (no C compiler at install time)")
    x = np.ascontiguousarray(x, dtype=np.float32)
    kernels = [np.ascontiguousarray(k, dtype=np.float32) for k in kernels]
    biases = [np.ascontiguousarray(b, dtype=np.float32) for b in biases]
    n_spectra, n_pixels = x.shape
    n_members, _, k_size, _ = kernels[0].shape
    c_out = [int(k.shape[1]) for k in kernels]
    t_last = output_length(n_pixels, len(kernels), k_size)
    if t_last <= 0:
        raise ModelError(f"spectra of {n_pixels} pixels are too short for {len(kernels)} convolutions of {k_size}")
    out = np.empty((n_members, n_spectra, c_out[-1], t_last), dtype=np.float32)
    if n_spectra == 0 or n_members == 0:
        return out
    scratch_len = max(c * output_length(n_pixels, i + 1, k_size) for i, c in enumerate(c_out))
    c_out_arr = (ctypes.c_int * len(c_out))(*c_out)
    kernel_ptrs = (_FLOAT_P * len(kernels))(*[k.ctypes.data_as(_FLOAT_P) for k in kernels])
    bias_ptrs = (_FLOAT_P * len(biases))(*[b.ctypes.data_as(_FLOAT_P) for b in biases])
    threads = max(1, min(threads or cpu_threads(), n_members))
    bounds = np.linspace(0, n_members, threads + 1).round().astype(int)

    def run(lo: int, hi: int) -> int:
        scratch = np.empty(2 * scratch_len, dtype=np.float32)
        return lib.raveview_conv_stack(x.ctypes.data_as(_FLOAT_P), n_spectra, n_pixels, n_members, lo, hi,
                                       len(c_out), c_out_arr, k_size, kernel_ptrs, bias_ptrs,
                                       out.ctypes.data_as(_FLOAT_P), scratch.ctypes.data_as(_FLOAT_P),
                                       scratch_len, slope)

    if threads == 1:
        codes = [run(0, n_members)]
    else:  # threads live for one call (~0.1 ms to start, against ~100 ms of work): nothing lingers
        with ThreadPoolExecutor(threads, thread_name_prefix="raveview-conv") as pool:
            codes = list(pool.map(run, bounds[:-1], bounds[1:]))
    if any(codes):
        raise ModelError("the compiled convolution kernel rejected the layer shapes")
    return out
