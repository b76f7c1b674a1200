"""Checks applied to every spectrum :func:`raveview.core.io.read_spectrum` returns.

All readers share these checks, so a reader only has to build the arrays.
:func:`check_overlap` is separate: any spectrum may be opened to look at, but
only one that overlaps the model grid can be parameterized.
"""

from __future__ import annotations

from os import PathLike

import numpy as np

from raveview.core.errors import SpectrumDataError
from raveview.core.grid import DEFAULT_GRID, WavelengthGrid
from raveview.core.spectrum import Spectrum

#: The Ca II triplet region the published network covers (Å).
CAT_REGION = (8400.0, 8800.0)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def looks_like_wrong_unit(wmin: float, wmax: float) -> bool:
    """True when a wavelength range in Å looks like it was read in the wrong unit.

    That is: shorter than 100 Å (µm, m), or the range lands on the Ca II
    triplet region once multiplied by 10 (nm read as Å) or divided by 10
    (Å read as nm), or it is longer than 10⁶ Å.

    Parameters
    ----------
    wmin, wmax
        The range in Å.
    """
    lo, hi = CAT_REGION
    if wmax < 100.0 or wmin > 1e6:
        return True
    for factor in (10.0, 0.1):
        if wmin * factor <= hi and wmax * factor >= lo:
            return True
    return False


def validate_spectrum(spectrum: Spectrum, path: str | PathLike[str] | None = None) -> Spectrum:
    """Check a freshly read spectrum and mask its non-finite flux pixels.

    Parameters
    ----------
    spectrum
        The spectrum as a reader built it.
    path
        The file it came from (for error messages); defaults to ``spectrum.source_file``.

    Returns
    -------
    Spectrum
        The same spectrum, with ``mask`` True where the flux is not finite.

    Raises
    ------
    SpectrumDataError
        With causes "wavelength not increasing", "wavelengths are not all finite",
        "all flux values are NaN", "wavelengths X–Y Å look like the wrong unit".
    """
    where = path if path is not None else spectrum.source_file
    wave, flux = spectrum.wavelength, spectrum.flux
    if wave.size < 2:
        raise SpectrumDataError(f"spectrum has {wave.size} pixel(s), need at least 2", where)
    if not np.all(np.isfinite(wave)):
        raise SpectrumDataError("wavelengths are not all finite", where)
    if not np.all(np.diff(wave) > 0):
        raise SpectrumDataError("wavelength not increasing", where)
    finite = np.isfinite(flux)
    if not finite.any():
        raise SpectrumDataError("all flux values are NaN", where)
    wmin, wmax = float(wave[0]), float(wave[-1])
    if looks_like_wrong_unit(wmin, wmax):
        raise SpectrumDataError(f"wavelengths {_fmt(wmin)}–{_fmt(wmax)} Å look like the wrong unit", where)
    mask = ~finite if spectrum.mask is None else (spectrum.mask | ~finite)
    if spectrum.mask is None and not mask.any():
        return spectrum
    return spectrum.replace(mask=mask)


def check_overlap(spectrum: Spectrum, grid: WavelengthGrid = DEFAULT_GRID) -> Spectrum:
    """Raise unless the spectrum overlaps the model's wavelength grid.

    Parameters
    ----------
    spectrum
        A validated spectrum (wavelengths in Å, increasing).
    grid
        The model grid (default: the published 8420–8784.4 Å grid).

    Returns
    -------
    Spectrum
        The spectrum, unchanged, for chaining.

    Raises
    ------
    SpectrumDataError
        "wavelengths X–Y Å do not overlap the Ca II triplet region A–B Å".
    """
    wmin, wmax = float(spectrum.wavelength[0]), float(spectrum.wavelength[-1])
    if wmax < grid.start or wmin > grid.end:
        raise SpectrumDataError(
            f"wavelengths {_fmt(wmin)}–{_fmt(wmax)} Å do not overlap the Ca II triplet region "
            f"{grid.start:.0f}–{grid.end:.0f} Å",
            spectrum.source_file,
        )
    return spectrum
