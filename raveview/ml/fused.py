"""Fused inference: all ensemble members evaluated in one compiled computation.

Evaluating an ensemble member by member repeats the whole TensorFlow dispatch
for every member and runs convolutions whose matrices are too narrow to keep the
CPU busy. Here the members' weights are stacked along a leading member axis and
the network is written once for all of them:

* the first convolution of every member reads the same spectrum, so it is one
  ordinary ``Conv1D`` with ``M * 8`` filters;
* the next convolutions are grouped convolutions (``M`` groups, one per member);
* the dense layers are batched matrix products (``einsum('mni,mio->mno')``).

The same stacked forward pass, :func:`stacked_forward`, is used by the
vectorised training engine (:mod:`raveview.ml.vectorized`) for its training
steps (per-member inputs and dropout) and its validation pass (shared inputs).

Stacked parameters are a list in the order of
``build_model(arch).get_weights()``, each array with a leading member axis:
conv kernels ``(M, kernel, C_in, C_out)``, biases ``(M, C_out)``, dense kernels
``(M, n_in, n_out)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from raveview.core.errors import ModelError
from raveview.ml.architecture import Architecture

__all__ = ["FusedEnsemble", "stack_weights", "unstack_weights", "stacked_forward", "architecture_of",
           "stacked_from_models", "checked_inputs"]


def stack_weights(weights: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """Stack per-member Keras weight lists into arrays with a leading member axis.

    Parameters
    ----------
    weights
        One ``get_weights()`` list per member, all of the same architecture.

    Returns
    -------
    list of numpy.ndarray
        ``float32`` arrays, ``stacked[i][m] == weights[m][i]``.
    """
    if not weights:
        raise ModelError("an ensemble needs at least one member")
    first = [np.shape(w) for w in weights[0]]
    for m, member in enumerate(weights):
        if [np.shape(w) for w in member] != first:
            raise ModelError(f"member {m} has weights of other shapes than member 0")
    return [np.stack([np.asarray(member[i], dtype=np.float32) for member in weights]) for i in range(len(first))]


def unstack_weights(stacked: Sequence[np.ndarray]) -> list[list[np.ndarray]]:
    """Inverse of :func:`stack_weights`: one Keras weight list per member."""
    n_members = int(np.shape(stacked[0])[0])
    return [[np.array(w[m], dtype=np.float32) for w in stacked] for m in range(n_members)]


def architecture_of(weights: Sequence[np.ndarray], n_pixels: int, leaky_slope: float = 0.3) -> Architecture:
    """Recover the :class:`Architecture` from one member's Keras weight list.

    Parameters
    ----------
    weights
        A ``get_weights()`` list of a :func:`~raveview.ml.architecture.build_model` network.
    n_pixels
        Length of the spectrum input (not visible in the weights).
    leaky_slope
        Negative slope of the LeakyReLU activations.
    """
    shapes = [np.shape(w) for w in weights]
    conv = [s for s in shapes if len(s) == 3]
    dense = [s for s in shapes if len(s) == 2]
    if not conv or len(dense) not in (3, 4):
        raise ModelError(f"weights of shapes {shapes} are not those of the Guiglion et al. (2020) network")
    with_photometry = len(dense) == 4
    return Architecture(
        n_pixels=int(n_pixels),
        n_photometry=int(dense[1][0]) if with_photometry else Architecture.n_photometry,
        n_labels=int(dense[-1][1]),
        conv_filters=tuple(int(s[2]) for s in conv),
        kernel_size=int(conv[0][0]),
        dense_spectrum=int(dense[0][1]),
        dense_photometry=int(dense[1][1]) if with_photometry else Architecture.dense_photometry,
        dense_joint=int(dense[-2][1]),
        leaky_slope=float(leaky_slope),
        with_photometry=with_photometry,
    )


def _leaky(x: Any, slope: float) -> Any:
    import tensorflow as tf

    # the fused LeakyRelu kernels: the same values as max(x, slope·x), gradients ~20 % faster to train
    return tf.nn.leaky_relu(x, alpha=slope) if 0.0 <= slope <= 1.0 else tf.where(x > 0, x, slope * x)


def stacked_forward(params: Sequence[Any], x_spec: Any, x_phot: Any, arch: Architecture,
                    dropout_keep: Any = None) -> Any:
    """The network of all members at once (TensorFlow ops; call inside a ``tf.function``).

    Parameters
    ----------
    params
        Stacked parameters (tensors or variables) in Keras weight order, leading axis ``M``.
    x_spec
        Spectra, ``(N, n_pixels)`` shared by all members or ``(M, N, n_pixels)`` per member.
    x_phot
        Photometry, ``(N, n_photometry)`` or ``(M, N, n_photometry)``; ignored without photometry.
    arch
        The architecture.
    dropout_keep
        ``None`` for inference, else a ``{0, 1}`` float mask of shape
        ``(M, N, T_last, C_last)`` applied (scaled by ``1 / (1 - rate)``) after the last convolution.

    Returns
    -------
    tf.Tensor
        ``(M, N, n_labels)`` normalised outputs.
    """
    import tensorflow as tf

    n_conv = len(arch.conv_filters)
    n_members = params[0].shape[0]
    slope = float(arch.leaky_slope)
    if x_spec.shape.rank == 2:
        h = x_spec[:, :, None]  # (N, T, 1): one ordinary convolution with M * C_out filters
    else:
        h = tf.transpose(x_spec, (1, 2, 0))  # (N, T, M): M groups of one channel
    for i in range(n_conv):
        kernel, bias = params[2 * i], params[2 * i + 1]
        k_size, c_in, c_out = kernel.shape[1], kernel.shape[2], kernel.shape[3]
        filters = tf.reshape(tf.transpose(kernel, (1, 2, 0, 3)), (k_size, c_in, n_members * c_out))
        h = tf.nn.conv1d(h, filters, stride=1, padding="VALID") + tf.reshape(bias, (-1,))
        h = _leaky(h, slope)
    t_last = h.shape[1]
    h = tf.transpose(tf.reshape(h, (-1, t_last, n_members, arch.conv_filters[-1])), (2, 0, 1, 3))
    t_last, c_last = h.shape[2], h.shape[3]  # h: (M, N, T_last, C_last)
    if dropout_keep is not None:
        h = h * dropout_keep * (1.0 / (1.0 - arch.dropout))
    h = tf.reshape(h, (n_members, -1, t_last * c_last))  # Keras Flatten order
    j = 2 * n_conv
    h = _leaky(tf.einsum("mni,mio->mno", h, params[j]) + params[j + 1][:, None, :], slope)
    j += 2
    if arch.with_photometry:
        eq = "ni,mio->mno" if x_phot.shape.rank == 2 else "mni,mio->mno"
        p = _leaky(tf.einsum(eq, x_phot, params[j]) + params[j + 1][:, None, :], slope)
        h = tf.concat([h, p], axis=-1)
        j += 2
    h = _leaky(tf.einsum("mni,mio->mno", h, params[j]) + params[j + 1][:, None, :], slope)
    return tf.einsum("mni,mio->mno", h, params[j + 2]) + params[j + 3][:, None, :]


class FusedEnsemble:
    """All members of an ensemble as one compiled TensorFlow function.

    Build it with :meth:`from_models` or :meth:`from_weights`; :meth:`predict`
    returns every member's normalised outputs in inference mode (dropout off).
    The function is traced once for a fixed input signature, so batches of any
    size reuse it. Calls are serialised by TensorFlow; use one instance per thread.

    Parameters
    ----------
    stacked
        Stacked parameters (see :func:`stack_weights`).
    arch
        The members' architecture.
    """

    #: How the engine is named in logs and provenance.
    backend = "tensorflow"
    #: Most member-spectra per call (see :func:`raveview.ml.ensemble.fused_batch_size`): bounds the
    #: activations held at once (the first convolution of 80 members at 256 spectra alone is 0.6 GB)
    #: with no loss of speed on a CPU.
    batch_member_rows = 10_240

    def __init__(self, stacked: Sequence[np.ndarray], arch: Architecture) -> None:
        import tensorflow as tf

        self.arch = arch
        self.n_members = int(np.shape(stacked[0])[0])
        self._params = [tf.constant(np.asarray(w, dtype=np.float32)) for w in stacked]
        spec_sig = tf.TensorSpec((None, arch.n_pixels), tf.float32)
        phot_sig = tf.TensorSpec((None, arch.n_photometry), tf.float32)
        if arch.with_photometry:
            self._fn = tf.function(lambda s, p: stacked_forward(self._params, s, p, arch),
                                   input_signature=[spec_sig, phot_sig], autograph=False)
        else:
            self._fn = tf.function(lambda s: stacked_forward(self._params, s, None, arch),
                                   input_signature=[spec_sig], autograph=False)

    @classmethod
    def from_weights(cls, weights: Sequence[Sequence[np.ndarray]], arch: Architecture) -> "FusedEnsemble":
        """Build from per-member Keras weight lists (``model.get_weights()`` order)."""
        stacked = stack_weights(weights)
        expected = architecture_of(weights[0], arch.n_pixels, arch.leaky_slope)
        if expected.conv_filters != arch.conv_filters or expected.with_photometry != arch.with_photometry:
            raise ModelError(f"the weights are of architecture {expected}, not {arch}")
        return cls(stacked, arch)

    @classmethod
    def from_models(cls, models: Sequence[Any]) -> "FusedEnsemble":
        """Build from Keras models of :func:`~raveview.ml.architecture.build_model` shape.

        The architecture (including the LeakyReLU slope) is read from the first model.
        """
        return cls(*stacked_from_models(models))

    def predict(self, x_spec: np.ndarray, x_phot: np.ndarray | None = None, batch_size: int = 64) -> np.ndarray:
        """Outputs of every member.

        Parameters
        ----------
        x_spec
            ``(N, n_pixels)`` (or ``(N, n_pixels, 1)``) normalised spectra.
        x_phot
            ``(N, n_photometry)`` (or ``(..., 1)``) normalised photometry; required
            when the architecture has photometry, ignored otherwise.
        batch_size
            Spectra per call of the compiled function.

        Returns
        -------
        numpy.ndarray
            ``(M, N, n_labels)`` float32, min–max-normalised labels.
        """
        x_spec, x_phot = checked_inputs(x_spec, x_phot, self.arch)
        n = len(x_spec)
        out = np.empty((self.n_members, n, self.arch.n_labels), dtype=np.float32)
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            args = [x_spec[start:stop]]
            if self.arch.with_photometry:
                args.append(x_phot[start:stop])
            rows = stop - start
            padded = _padded_size(rows, batch_size)
            if padded != rows:  # a few fixed batch shapes keep oneDNN's primitive cache (and RSS) bounded
                args = [np.concatenate([a, np.zeros((padded - rows,) + a.shape[1:], a.dtype)]) for a in args]
            out[:, start:stop] = self._fn(*args).numpy()[:, :rows]
        return out


def stacked_from_models(models: Sequence[Any]) -> tuple[list[np.ndarray], Architecture]:
    """Stacked weights and architecture of Keras models of :func:`~raveview.ml.architecture.build_model` shape.

    The architecture (including the LeakyReLU slope) is read from the first model.
    """
    if not models:
        raise ModelError("an ensemble needs at least one member")
    first = models[0]
    slopes = [float(getattr(layer, "negative_slope", getattr(layer, "alpha", 0.3)))
              for layer in first.layers if type(layer).__name__ == "LeakyReLU"]
    n_pixels = int(first.inputs[0].shape[1])
    weights = [m.get_weights() for m in models]
    return stack_weights(weights), architecture_of(weights[0], n_pixels, slopes[0] if slopes else 0.3)


def checked_inputs(x_spec: np.ndarray, x_phot: np.ndarray | None,
                   arch: Architecture) -> tuple[np.ndarray, np.ndarray | None]:
    """Spectra ``(N, n_pixels)`` and photometry ``(N, n_photometry)`` (``None`` without photometry) as float32.

    Raises
    ------
    ModelError
        When the spectra have the wrong length, or photometry is missing for an ensemble that needs it.
    """
    x_spec = np.asarray(x_spec, dtype=np.float32).reshape(len(x_spec), -1)
    if x_spec.shape[1] != arch.n_pixels:
        raise ModelError(f"spectra have {x_spec.shape[1]} pixels, the ensemble expects {arch.n_pixels}")
    if not arch.with_photometry:
        return x_spec, None
    if x_phot is None:
        raise ModelError("this ensemble needs photometry (absolute magnitudes and A_V)")
    return x_spec, np.asarray(x_phot, dtype=np.float32).reshape(len(x_spec), -1)


def _padded_size(rows: int, batch_size: int) -> int:
    """The batch size a partial batch is padded to: the next power of two (at least 8), at most ``batch_size``.

    Every new input shape makes TensorFlow/oneDNN build and cache new kernels and
    scratch buffers; chunks with a few failed files would otherwise produce a new
    shape each, and memory would grow with the length of a survey run.
    """
    size = 8
    while size < rows:
        size *= 2
    return max(rows, min(size, batch_size))
