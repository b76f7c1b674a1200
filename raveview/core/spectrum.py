"""The :class:`Spectrum` value: one 1-D spectrum with its ids and metadata."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Spectrum:
    """A 1-D spectrum on its own (native) sampling.

    Parameters
    ----------
    wavelength
        Wavelengths in Å, air, rest frame unless ``meta["rest_frame"]`` is False;
        strictly increasing.
    flux
        Flux, continuum-normalised for survey spectra.
    sigma
        Absolute 1-sigma flux error per pixel, or ``None`` when unknown.
    mask
        Boolean array, True where a pixel is bad (missing, NaN, flagged), or ``None``.
    rave_obs_id
        The RAVE observation id (``ROI`` / ``RAVE_OBS_ID``), if known.
    source_id
        The Gaia source id, if known.
    snr
        Signal-to-noise ratio per pixel, if known (from the file or estimated).
    source_file
        The file the spectrum was read from.
    meta
        Header keywords and other metadata worth keeping.
    """

    wavelength: np.ndarray
    flux: np.ndarray
    sigma: np.ndarray | None = None
    mask: np.ndarray | None = None
    rave_obs_id: str | None = None
    source_id: int | None = None
    snr: float | None = None
    source_file: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wave = np.asarray(self.wavelength, dtype=np.float64)
        flux = np.asarray(self.flux, dtype=np.float64)
        if wave.ndim != 1 or flux.shape != wave.shape:
            raise ValueError(
                f"wavelength and flux must be 1-D of equal length, got {wave.shape} and {flux.shape}"
            )
        object.__setattr__(self, "wavelength", wave)
        object.__setattr__(self, "flux", flux)
        if self.sigma is not None:
            sigma = np.asarray(self.sigma, dtype=np.float64)
            if sigma.shape != wave.shape:
                raise ValueError("sigma must have the shape of flux")
            object.__setattr__(self, "sigma", sigma)
        if self.mask is not None:
            mask = np.asarray(self.mask, dtype=bool)
            if mask.shape != wave.shape:
                raise ValueError("mask must have the shape of flux")
            object.__setattr__(self, "mask", mask)
        if self.source_file is not None:
            object.__setattr__(self, "source_file", Path(self.source_file))

    @property
    def name(self) -> str:
        """A short display name: the RAVE obs id, else the Gaia id, else the file stem."""
        if self.rave_obs_id:
            return str(self.rave_obs_id)
        if self.source_id is not None:
            return f"Gaia {self.source_id}"
        if self.source_file is not None:
            return self.source_file.stem
        return "spectrum"

    @property
    def n_pixels(self) -> int:
        """Number of pixels."""
        return int(self.wavelength.size)

    @property
    def bad_pixels(self) -> np.ndarray:
        """Boolean array, True where the flux is unusable (masked or not finite)."""
        bad = ~np.isfinite(self.flux)
        if self.mask is not None:
            bad |= self.mask
        return bad

    def replace(self, **changes: Any) -> "Spectrum":
        """Return a copy with some fields replaced (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)
