"""Min–max normalisation of labels and photometric inputs (as in the published code)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MinMax:
    """``x_norm = (x - min) / (max - min)`` per column; ``inverse`` undoes it.

    Parameters
    ----------
    minimum, maximum
        Per-column limits, shape (n_columns,).
    names
        Column names, for manifests and messages.
    """

    minimum: np.ndarray
    maximum: np.ndarray
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        lo = np.asarray(self.minimum, dtype=np.float64).ravel()
        hi = np.asarray(self.maximum, dtype=np.float64).ravel()
        if lo.shape != hi.shape:
            raise ValueError(f"minimum and maximum differ in length ({lo.size} and {hi.size})")
        if self.names and len(self.names) != lo.size:
            raise ValueError(f"{len(self.names)} names for {lo.size} columns")
        object.__setattr__(self, "minimum", lo)
        object.__setattr__(self, "maximum", hi)
        object.__setattr__(self, "names", tuple(self.names))

    @classmethod
    def fit(cls, x: np.ndarray, names: Sequence[str] = ()) -> "MinMax":
        """Limits from the columns of ``x`` (N, n_columns), ignoring NaN."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"need a non-empty 2-D array to fit, got shape {x.shape}")
        return cls(np.nanmin(x, axis=0), np.nanmax(x, axis=0), tuple(names))

    @property
    def span(self) -> np.ndarray:
        """``max - min`` per column (1 where a column is constant, to avoid division by 0)."""
        span = self.maximum - self.minimum
        return np.where(span > 0, span, 1.0)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Normalise: (x - min) / (max - min)."""
        return (np.asarray(x, dtype=np.float64) - self.minimum) / self.span

    def inverse(self, x_norm: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: x_norm * (max - min) + min."""
        return np.asarray(x_norm, dtype=np.float64) * self.span + self.minimum

    def inverse_scale(self, s_norm: np.ndarray) -> np.ndarray:
        """A spread in normalised units back to physical units (multiplies by max - min)."""
        return np.asarray(s_norm, dtype=np.float64) * self.span

    def to_dict(self) -> dict:
        """Plain-JSON form: ``{"names": [...], "min": [...], "max": [...]}``."""
        return {"names": list(self.names), "min": self.minimum.tolist(), "max": self.maximum.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "MinMax":
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(data["min"], float), np.asarray(data["max"], float), tuple(data.get("names", ())))
