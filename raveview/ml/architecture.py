"""The CNN of Guiglion et al. (2020), as Keras models.

Spectrum branch: Conv1D(8,10)–LeakyReLU–Conv1D(4,10)–LeakyReLU–Conv1D(2,10)–
LeakyReLU–Dropout(0.2)–Flatten–Dense(32)–LeakyReLU. Photometry branch:
Flatten–Dense(27)–LeakyReLU. Concatenate, Dense(16)–LeakyReLU, Dense(n_labels).
Glorot-uniform initialisation, valid padding. Layer names follow the published
HDF5 files (``convol_1``..``convol_3``, ``dense``..``dense_3``) so weights can be
copied by name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Architecture:
    """Hyper-parameters of the network; the defaults are the published ones."""

    n_pixels: int = 912
    n_photometry: int = 9
    n_labels: int = 9
    conv_filters: tuple[int, ...] = (8, 4, 2)
    kernel_size: int = 10
    dropout: float = 0.2
    dense_spectrum: int = 32
    dense_photometry: int = 27
    dense_joint: int = 16
    leaky_slope: float = 0.3  # Keras 2's LeakyReLU default, used by the published models
    with_photometry: bool = True

    def to_dict(self) -> dict:
        """Plain-JSON form for manifests."""
        data = asdict(self)
        data["conv_filters"] = list(self.conv_filters)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Architecture":
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "conv_filters" in known:
            known["conv_filters"] = tuple(known["conv_filters"])
        return cls(**known)


def build_model(arch: Architecture = Architecture(), seed: int | None = None):
    """Build the (uncompiled) Keras model.

    Parameters
    ----------
    arch
        The hyper-parameters.
    seed
        Seed for the Glorot-uniform initialisers (reproducible members).

    Returns
    -------
    keras.Model
        Inputs ``spectrum`` (N, n_pixels, 1) and, with photometry, ``photometry``
        (N, n_photometry, 1); output (N, n_labels) of min–max-normalised labels.
    """
    import keras
    from keras import layers

    def init(i: int):
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 1000 + i)

    spectrum = keras.Input(shape=(arch.n_pixels, 1), name="spectrum")
    x = spectrum
    for i, filters in enumerate(arch.conv_filters, start=1):
        x = layers.Conv1D(filters, arch.kernel_size, padding="valid", kernel_initializer=init(i),
                          name=f"convol_{i}")(x)
        x = layers.LeakyReLU(negative_slope=arch.leaky_slope)(x)
    x = layers.Dropout(arch.dropout, seed=None if seed is None else seed)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(arch.dense_spectrum, kernel_initializer=init(10), name="dense")(x)
    x = layers.LeakyReLU(negative_slope=arch.leaky_slope)(x)
    inputs = [spectrum]
    if arch.with_photometry:
        photometry = keras.Input(shape=(arch.n_photometry, 1), name="photometry")
        p = layers.Flatten()(photometry)
        p = layers.Dense(arch.dense_photometry, kernel_initializer=init(11), name="dense_1")(p)
        p = layers.LeakyReLU(negative_slope=arch.leaky_slope)(p)
        x = layers.Concatenate()([x, p])
        inputs.append(photometry)
    x = layers.Dense(arch.dense_joint, kernel_initializer=init(12), name="dense_2")(x)
    x = layers.LeakyReLU(negative_slope=arch.leaky_slope)(x)
    out = layers.Dense(arch.n_labels, kernel_initializer=init(13), name="dense_3")(x)
    return keras.Model(inputs=inputs, outputs=out, name="guiglion2020_cnn")
