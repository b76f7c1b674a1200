"""The :class:`WavelengthGrid` a model expects its spectra on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WavelengthGrid:
    """A linear wavelength grid ``start + step * i`` for ``i < n`` (Å, air).

    Parameters
    ----------
    start
        First pixel centre in Å.
    step
        Pixel width in Å.
    n
        Number of pixels.
    """

    start: float
    step: float
    n: int

    def __post_init__(self) -> None:
        if self.n < 2 or not self.step > 0:
            raise ValueError(f"invalid wavelength grid: start={self.start}, step={self.step}, n={self.n}")

    @property
    def wavelength(self) -> np.ndarray:
        """Pixel centres in Å."""
        return self.start + self.step * np.arange(self.n, dtype=np.float64)

    @property
    def end(self) -> float:
        """Last pixel centre in Å."""
        return self.start + self.step * (self.n - 1)

    def to_dict(self) -> dict[str, float | int]:
        """Plain-JSON form, as stored in model manifests."""
        return {"start": float(self.start), "step": float(self.step), "n": int(self.n)}

    @classmethod
    def from_dict(cls, data: dict) -> "WavelengthGrid":
        """Inverse of :meth:`to_dict`."""
        return cls(float(data["start"]), float(data["step"]), int(data["n"]))

    def __str__(self) -> str:
        return f"{self.start:.2f}–{self.end:.2f} Å, {self.step:g} Å/pixel, {self.n} pixels"


#: The grid of the published network: 8420 + 0.4 i Å, i < 912 (air, rest frame).
DEFAULT_GRID = WavelengthGrid(start=8420.0, step=0.4, n=912)
