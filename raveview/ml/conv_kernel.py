"""The compiled CPU kernel for the convolution stack of many ensemble members.

The kernel (``_conv_stack.c``, built with the package when a C compiler is
present) computes every convolution layer, with its LeakyReLU, for a range of
members and a batch of spectra (:func:`conv_stack`), and for training the
gradients of every member's kernels and biases (:func:`conv_stack_train`,
:func:`conv_stack_backward`). For the training engine it also draws the
dropout masks as TensorFlow does (:func:`dropout_masks`) and makes Keras' Adam
update of every member in one pass (:func:`adam_step`). It is called through
:mod:`ctypes`, which releases the GIL, so the members are split over threads.

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

__all__ = ["available", "conv_stack", "conv_stack_train", "conv_stack_backward", "cpu_threads",
           "split_conv_params", "output_length", "kernel_sets", "use_kernel_set", "dropout_masks", "adam_step"]

_FLOAT_P = ctypes.POINTER(ctypes.c_float)
#: Spectra per block of the kernel (one per vector lane).
LANES = 16


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
    tail = [_FLOAT_P, ctypes.c_long, ctypes.c_float]  # scratch, scratch_len, slope
    forward = lib.raveview_conv_stack
    forward.restype = ctypes.c_int
    forward.argtypes = shape + [
        ctypes.POINTER(_FLOAT_P), ctypes.POINTER(_FLOAT_P),  # kernels, biases
        _FLOAT_P, _FLOAT_P, ctypes.c_int,  # dense weights and biases (or NULL), units
        _FLOAT_P, _FLOAT_P, ctypes.c_long,  # out, acts (or NULL), act_len
    ] + tail
    backward = lib.raveview_conv_stack_backward
    backward.restype = ctypes.c_int
    backward.argtypes = shape + [
        ctypes.POINTER(_FLOAT_P),  # flipped, transposed kernels
        _FLOAT_P, ctypes.c_long, _FLOAT_P,  # acts, act_len, grad_out
        ctypes.POINTER(_FLOAT_P), ctypes.POINTER(_FLOAT_P),  # grad kernels, grad biases
    ] + tail
    for sizes in (lib.raveview_scratch_floats, lib.raveview_act_floats):
        sizes.restype = ctypes.c_long
        sizes.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    lib.raveview_dropout_masks.restype = ctypes.c_int
    lib.raveview_dropout_masks.argtypes = [ctypes.POINTER(ctypes.c_int64), ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                                           ctypes.c_long, ctypes.c_float, ctypes.c_float, _FLOAT_P]
    lib.raveview_adam.restype = ctypes.c_int
    lib.raveview_adam.argtypes = [ctypes.c_int] + [ctypes.POINTER(_FLOAT_P)] * 4 + [
        ctypes.POINTER(ctypes.c_long), ctypes.c_int, ctypes.c_int, _FLOAT_P, ctypes.c_float, ctypes.c_float,
        ctypes.c_float]
    lib.raveview_kernel_sets.restype = ctypes.c_char_p
    lib.raveview_kernel_sets.argtypes = []
    lib.raveview_use_kernel_set.restype = ctypes.c_int
    lib.raveview_use_kernel_set.argtypes = [ctypes.c_char_p]
    return lib


def available() -> bool:
    """Whether the compiled kernel was built and loads."""
    return _library() is not None


def kernel_sets() -> list[str]:
    """Names of the kernel's instruction-set variants this CPU runs, best (the one in use by default) first:
    ``"avx512"`` (16-float vectors, 32 registers), ``"avx2"`` (8-float vectors) and ``"base"`` (SSE2 or NEON)."""
    return _checked_library().raveview_kernel_sets().decode().split(",")


def use_kernel_set(name: str) -> None:
    """Run the kernel's ``name`` variant (one of :func:`kernel_sets`) from now on; for tests and benchmarks.

    Raises
    ------
    ModelError
        When this CPU cannot run it.
    """
    if _checked_library().raveview_use_kernel_set(name.encode()) != 0:
        raise ModelError(f"this CPU cannot run the {name!r} kernels (it runs {', '.join(kernel_sets())})")


def _checked_library() -> ctypes.CDLL:
    lib = _library()
    if lib is None:
        raise ModelError("the compiled convolution kernel is not built (no C compiler at install time)")
    return lib


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


def split_conv_params(conv_params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Stacked Keras kernels ``(M, K, C_in, C_out)`` and biases, alternating, → the kernels and the
    biases, as contiguous float32 arrays (the kernel takes Keras' own layout)."""
    return ([np.ascontiguousarray(k, dtype=np.float32) for k in conv_params[0::2]],
            [np.ascontiguousarray(b, dtype=np.float32) for b in conv_params[1::2]])


def output_length(n_pixels: int, n_layers: int, kernel_size: int) -> int:
    """Pixels left after ``n_layers`` 'valid' convolutions of ``kernel_size``."""
    return n_pixels - n_layers * (kernel_size - 1)


def _aligned_empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float32 array whose data start on a 64-byte boundary (a cache line)."""
    size = int(np.prod(shape))
    raw = np.empty(size + 16, dtype=np.float32)
    start = (-raw.ctypes.data % 64) // 4
    return raw[start:start + size].reshape(shape)


class _Call:
    """Shapes and ctypes arguments shared by the forward and backward calls."""

    def __init__(self, x: np.ndarray, kernels: Sequence[np.ndarray]) -> None:
        self.lib = lib = _checked_library()
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.kernels = [np.ascontiguousarray(k, dtype=np.float32) for k in kernels]
        self.n_members, self.k_size = self.kernels[0].shape[:2]
        self.per_member = self.x.ndim == 3
        if self.per_member and self.x.shape[0] != self.n_members:
            raise ModelError(f"{self.x.shape[0]} batches of spectra for {self.n_members} members")
        self.n_spectra, self.n_pixels = self.x.shape[-2:]
        self.c_out = [int(k.shape[3]) for k in self.kernels]
        n_layers = len(self.c_out)
        self.t_last = output_length(self.n_pixels, n_layers, self.k_size)
        if self.t_last <= 0:
            raise ModelError(f"spectra of {self.n_pixels} pixels are too short for {n_layers} convolutions "
                             f"of {self.k_size}")
        self.n_blocks = -(-self.n_spectra // LANES)
        self.head = [self.x.ctypes.data_as(_FLOAT_P), self.n_spectra * self.n_pixels if self.per_member else 0,
                     self.n_spectra, self.n_pixels, self.n_members]
        self.layers = [n_layers, (ctypes.c_int * n_layers)(*self.c_out), self.k_size]
        sizes = (self.n_pixels, n_layers, self.layers[1], self.k_size)
        self.scratch_len = int(lib.raveview_scratch_floats(*sizes))
        self.act_len = int(lib.raveview_act_floats(*sizes))

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.n_members, self.n_spectra, self.t_last, self.c_out[-1])

    def run(self, fn, tail, slope: float, threads: int | None) -> None:
        """``fn(*head, lo, hi, *layers, *tail, scratch, scratch_len, slope)`` over member ranges, on threads."""
        if self.n_spectra == 0 or self.n_members == 0:
            return

        def run(lo: int, hi: int) -> int:
            scratch = np.empty(self.scratch_len, dtype=np.float32)
            return fn(*self.head, lo, hi, *self.layers, *tail, scratch.ctypes.data_as(_FLOAT_P), self.scratch_len,
                      slope)

        if any(_over_members(run, self.n_members, threads)):
            raise ModelError("the compiled convolution kernel rejected the layer shapes")


def _over_members(run, n_members: int, threads: int | None) -> list[int]:
    """``run(lo, hi)`` over ``threads`` (default :func:`cpu_threads`) contiguous member ranges; their results."""
    threads = max(1, min(threads or cpu_threads(), n_members))
    if threads == 1:
        return [run(0, n_members)]
    bounds = np.linspace(0, n_members, threads + 1).round().astype(int)
    # threads live for one call (~0.1 ms to start, against milliseconds of work): nothing lingers
    with ThreadPoolExecutor(threads, thread_name_prefix="raveview-kernel") as pool:
        return list(pool.map(run, bounds[:-1], bounds[1:]))


def _checked_out(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """``out`` when it is a C-contiguous float32 array of ``shape``, else a new array."""
    if out is None:
        return np.empty(shape, dtype=np.float32)
    if out.shape != tuple(shape) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ModelError(f"an output buffer of shape {out.shape} ({out.dtype}) for an output of shape {tuple(shape)}")
    return out


def _pointers(arrays: Sequence[np.ndarray]):
    return (_FLOAT_P * len(arrays))(*[a.ctypes.data_as(_FLOAT_P) for a in arrays])


def _forward(x: np.ndarray, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray], slope: float,
             threads: int | None, dense: tuple[np.ndarray, np.ndarray] | None = None, keep: bool = False,
             acts_buffer: np.ndarray | None = None,
             out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    call = _Call(x, kernels)
    biases = [np.ascontiguousarray(b, dtype=np.float32) for b in biases]
    if dense is not None:
        dense_w, dense_b = (np.ascontiguousarray(a, dtype=np.float32) for a in dense)
        flat = call.t_last * call.c_out[-1]
        if dense_w.shape[:2] != (call.n_members, flat) or dense_b.shape != (call.n_members, dense_w.shape[2]):
            raise ModelError(f"a dense layer of shape {dense_w.shape} after convolutions giving {flat} values")
        out = np.empty((call.n_members, call.n_spectra, dense_w.shape[2]), dtype=np.float32)
        dense_args = (dense_w.ctypes.data_as(_FLOAT_P), dense_b.ctypes.data_as(_FLOAT_P), dense_w.shape[2])
    else:
        out = _checked_out(out, call.out_shape)
        dense_args = (None, None, 0)
    acts = None
    if keep:
        shape = (call.n_members, call.n_blocks, call.act_len)
        reuse = (acts_buffer is not None and acts_buffer.shape == shape and acts_buffer.dtype == np.float32
                 and acts_buffer.flags.c_contiguous)
        acts = acts_buffer if reuse else _aligned_empty(shape)
    call.run(call.lib.raveview_conv_stack,
             (_pointers(call.kernels), _pointers(biases), *dense_args, out.ctypes.data_as(_FLOAT_P),
              acts.ctypes.data_as(_FLOAT_P) if keep else None, call.act_len),
             slope, threads)
    return out, acts


def conv_stack(x: np.ndarray, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray], slope: float,
               threads: int | None = None, dense: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Every convolution layer (each followed by LeakyReLU) of every member, for a batch of spectra.

    Parameters
    ----------
    x
        ``(N, n_pixels)`` float32 spectra shared by all members, or ``(M, N, n_pixels)``,
        one batch per member.
    kernels
        One array per layer, ``(M, kernel_size, C_in, C_out)`` float32: Keras' layout per member.
    biases
        One array per layer, ``(M, C_out)`` float32.
    slope
        Negative slope of the LeakyReLU (0 to 1).
    threads
        Threads to split the members over (default :func:`cpu_threads`).
    dense
        Optionally the first dense layer's weights ``(M, T_last × C_last, units)`` (rows in
        Keras' ``Flatten`` order) and biases ``(M, units)``: the kernel then also computes
        that layer, with its LeakyReLU.

    Returns
    -------
    numpy.ndarray
        ``(M, N, T_last, C_last)`` float32 (Keras' ``Flatten`` order per spectrum), or
        ``(M, N, units)`` with ``dense``.
    """
    return _forward(x, kernels, biases, slope, threads, dense=dense)[0]


def conv_stack_train(x: np.ndarray, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray], slope: float,
                     threads: int | None = None,
                     acts_buffer: np.ndarray | None = None, out: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`conv_stack` that also keeps what :func:`conv_stack_backward` needs.

    Parameters
    ----------
    x, kernels, biases, slope, threads
        As for :func:`conv_stack`.
    acts_buffer
        An array to write the activations into when it has their shape (float32,
        C order; otherwise it is ignored); saves allocating (and faulting in) tens
        of MB per training step.
    out
        An array to write the output into (float32, C order, the output's shape), instead of
        a new one: a training step reuses its buffers rather than faulting in fresh pages.

    Returns
    -------
    out, acts
        The last layer's output (as for :func:`conv_stack`) and every layer's
        output in the kernel's own layout (blocks of 16 spectra), for the backward pass.
    """
    out, acts = _forward(x, kernels, biases, slope, threads, keep=True, acts_buffer=acts_buffer, out=out)
    return out, acts


def conv_stack_backward(x: np.ndarray, kernels: Sequence[np.ndarray], acts: np.ndarray, grad_out: np.ndarray,
                        slope: float, threads: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Gradients of every member's kernels and biases, summed over its spectra.

    Parameters
    ----------
    x, kernels, slope
        As given to :func:`conv_stack_train`.
    acts
        The activations :func:`conv_stack_train` returned.
    grad_out
        Gradient of the loss with respect to its output ``(M, N, T_last, C_last)``.

    Returns
    -------
    grad_kernels, grad_biases
        One array per layer, shaped like ``kernels`` and the biases.
    """
    call = _Call(x, kernels)
    grad_out = np.ascontiguousarray(grad_out, dtype=np.float32)
    if grad_out.shape != call.out_shape:
        raise ModelError(f"output gradient of shape {grad_out.shape} for outputs of shape {call.out_shape}")
    if acts.shape != (call.n_members, call.n_blocks, call.act_len) or not acts.flags.c_contiguous:
        raise ModelError(f"activations of shape {acts.shape} do not belong to these spectra and kernels")
    flipped = [np.ascontiguousarray(k[:, ::-1].transpose(0, 1, 3, 2)) for k in call.kernels]
    grad_kernels = [np.empty_like(k) for k in call.kernels]
    grad_biases = [np.empty((call.n_members, c), dtype=np.float32) for c in call.c_out]
    call.run(call.lib.raveview_conv_stack_backward,
             (_pointers(flipped), acts.ctypes.data_as(_FLOAT_P), call.act_len, grad_out.ctypes.data_as(_FLOAT_P),
              _pointers(grad_kernels), _pointers(grad_biases)),
             slope, threads)
    return grad_kernels, grad_biases


def dropout_masks(seeds: Sequence[int], counter: int, shape: tuple[int, ...], rate: float,
                  threads: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """Every member's dropout mask, scaled: ``1 / (1 - rate)`` where kept, 0 where dropped.

    Member ``m`` keeps the values where ``tf.random.stateless_uniform(shape,
    seed=(seeds[m], counter)) >= rate`` on a CPU: the same bits as TensorFlow draws.

    Parameters
    ----------
    seeds
        One stateless seed per member (``0 <= seed < 2**63``).
    counter
        The second word of every member's seed (the training step).
    shape
        Shape of one member's mask.
    rate
        Dropout rate, ``0 <= rate < 1``.
    out
        Optionally the array to write the masks into (float32, C order, the result's shape).

    Returns
    -------
    numpy.ndarray
        ``(len(seeds),) + shape`` float32.
    """
    if not 0.0 <= rate < 1.0:
        raise ModelError(f"a dropout rate of {rate} is outside [0, 1)")
    lib = _checked_library()
    keys = np.ascontiguousarray(seeds, dtype=np.int64)
    n = int(np.prod(shape))
    out = _checked_out(out, (len(keys),) + tuple(shape))
    scale = np.float32(1.0) / (np.float32(1.0) - np.float32(rate))
    keys_p = keys.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
    out_p = out.ctypes.data_as(_FLOAT_P)
    if len(keys):
        _over_members(lambda lo, hi: lib.raveview_dropout_masks(keys_p, lo, hi, int(counter), n, rate, scale, out_p),
                      len(keys), threads)
    return out


def adam_step(params: Sequence[np.ndarray], moments_1: Sequence[np.ndarray], moments_2: Sequence[np.ndarray],
              grads: Sequence[np.ndarray], alpha: np.ndarray, beta_1: float, beta_2: float, epsilon: float,
              threads: int | None = None) -> None:
    """One Adam step of every member, in place, as Keras computes it.

    ``m += (g - m)(1 - beta_1)``, ``v += (g² - v)(1 - beta_2)``, ``p -= m·alpha / (√v + epsilon)``,
    member by member; a member whose ``alpha`` is 0 has stopped and is left untouched.

    Parameters
    ----------
    params, moments_1, moments_2, grads
        Stacked arrays (leading member axis), C-contiguous float32; the first three are updated.
    alpha
        ``(M,)`` step sizes ``lr·sqrt(1 - beta_2^t) / (1 - beta_1^t)``, 0 for a stopped member.
    """
    lib = _checked_library()
    arrays = [params, moments_1, moments_2, grads]
    for group in arrays:
        for a in group:
            if a.dtype != np.float32 or not a.flags.c_contiguous:
                raise ModelError("Adam needs C-contiguous float32 arrays")
    alpha = np.ascontiguousarray(alpha, dtype=np.float32)
    n_members = len(alpha)
    per_member = (ctypes.c_long * len(params))(*[a.size // n_members for a in params])
    pointers = [_pointers(group) for group in arrays]
    alpha_p = alpha.ctypes.data_as(_FLOAT_P)
    _over_members(lambda lo, hi: lib.raveview_adam(len(params), *pointers, per_member, lo, hi, alpha_p, beta_1,
                                                   beta_2, epsilon),
                  n_members, threads)
