"""Wavelengths of a FITS image axis: linear, log-linear and IRAF conventions.

Handled, for axis ``k`` (1 for spectra, 2 for raveview matrix files):

* ``CRVALk`` + (pixel - ``CRPIXk``) × ``CDELTk`` (or ``CDk_k``), pixels counted from 1;
* log-linear axes: IRAF ``DC-FLAG = 1`` or a ``CTYPEk`` containing ``LOG`` with a
  ``CRVALk`` below 10 mean the linear formula gives log10(λ); a ``WAVE-LOG`` axis
  with a ``CRVALk`` in wavelength units follows FITS WCS paper III,
  λ = CRVAL·exp(CDELT·(p - CRPIX)/CRVAL);
* SDSS ``COEFF0``/``COEFF1`` (log10 λ = COEFF0 + COEFF1·i);
* IRAF ``multispec`` WAT strings (``specN = "ap beam dtype w1 dw nw z ..."``,
  linear and log-linear dispersions);
* units from ``CUNITk`` or the IRAF ``WATk_001`` ``units=`` entry, else Å.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from raveview.core.errors import SpectrumFormatError
from raveview.core.io.units import angstrom_factor


def _wat(header: Any, axis: int) -> str:
    """The concatenated ``WAT{axis}_nnn`` string (IRAF splits it into 68-character cards)."""
    parts = []
    index = 1
    while f"WAT{axis}_{index:03d}" in header:
        parts.append(str(header[f"WAT{axis}_{index:03d}"]).ljust(68))
        index += 1
    return "".join(parts)


def _wat_field(wat: str, name: str) -> str | None:
    match = re.search(rf"\b{name}\s*=\s*(\S+)", wat)
    return match.group(1) if match else None


def is_multispec(header: Any) -> bool:
    """True for IRAF ``multispec`` images (one spectrum per image row, WAT2 holds the dispersion)."""
    return "multispec" in _wat(header, 0).lower() or str(header.get("CTYPE1", "")).upper().startswith("MULTISPE")


def axis_unit_factor(header: Any, axis: int, where: Any = None) -> float:
    """Factor to Å of axis ``axis`` from ``CUNITk`` or the WAT ``units=`` entry (default Å)."""
    factor = angstrom_factor(header.get(f"CUNIT{axis}"), where)
    if factor is None:
        factor = angstrom_factor(_wat_field(_wat(header, axis), "units"), where)
    return 1.0 if factor is None else factor


def axis_wavelength(header: Any, axis: int, n: int, where: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Wavelengths in Å of the ``n`` pixels of image axis ``axis``.

    Parameters
    ----------
    header
        The image HDU's header.
    axis
        FITS axis number (1-based).
    n
        Number of pixels along the axis.
    where
        The file, named in error messages.

    Returns
    -------
    wavelength, info
        Wavelengths in Å and a dict describing the solution (``"dispersion"``:
        ``"linear"``/``"log10"``/``"wave-log"``; ``"unit_factor"``).

    Raises
    ------
    SpectrumFormatError
        Naming the missing keyword (``CRVALk``, ``CDELTk``) when there is no usable solution.
    """
    pixel = np.arange(n, dtype=np.float64)
    if axis == 1 and f"CRVAL{axis}" not in header and "COEFF0" in header and "COEFF1" in header:
        wave = 10.0 ** (float(header["COEFF0"]) + float(header["COEFF1"]) * pixel)
        return wave, {"dispersion": "log10", "unit_factor": 1.0}
    if f"CRVAL{axis}" not in header:
        raise SpectrumFormatError(f"image has no wavelength solution: the CRVAL{axis} keyword is missing", where)
    step = header.get(f"CDELT{axis}", header.get(f"CD{axis}_{axis}"))
    if step is None:
        raise SpectrumFormatError(
            f"image has no wavelength solution: the CDELT{axis} (or CD{axis}_{axis}) keyword is missing", where
        )
    crval, step = float(header[f"CRVAL{axis}"]), float(step)
    crpix = float(header.get(f"CRPIX{axis}", 1.0))
    if not (np.isfinite(crval) and np.isfinite(step) and np.isfinite(crpix)) or step == 0:
        raise SpectrumFormatError(f"image has an unusable wavelength solution (CDELT{axis} = {step:g})", where)
    offset = (pixel + 1.0 - crpix) * step
    ctype = str(header.get(f"CTYPE{axis}", "")).upper()
    factor = axis_unit_factor(header, axis, where)
    dc_flag = header.get("DC-FLAG", 0) if axis == 1 else 0
    if ctype.startswith("WAVE-LOG") and crval > 10:
        wave = crval * np.exp(offset / crval)
        kind = "wave-log"
    elif dc_flag == 1 or ("LOG" in ctype and crval < 10):
        wave = 10.0 ** (crval + offset)
        kind = "log10"
    else:
        wave = crval + offset
        kind = "linear"
    return wave * factor, {"dispersion": kind, "unit_factor": factor}


def multispec_wavelength(header: Any, row: int, n: int, where: Any = None) -> np.ndarray:
    """Wavelengths in Å of row ``row`` (0-based) of an IRAF multispec image.

    Parameters
    ----------
    header
        The image header with ``WAT2_nnn`` cards.
    row
        Image row (aperture index, 0-based); its ``spec{row+1}`` entry is used.
    n
        Number of pixels.
    where
        The file, named in error messages.

    Raises
    ------
    SpectrumFormatError
        When the entry is missing or its dispersion is non-linear (dtype 2).
    """
    wat = _wat(header, 2)
    match = re.search(rf"spec{row + 1}\s*=\s*\"([^\"]*)\"", wat)
    if match is None:
        raise SpectrumFormatError(f"IRAF multispec image lacks the spec{row + 1} entry in WAT2", where)
    fields = match.group(1).split()
    if len(fields) < 7:
        raise SpectrumFormatError(f"IRAF multispec entry spec{row + 1} is incomplete", where)
    dtype, w1, dw, z = int(float(fields[2])), float(fields[3]), float(fields[4]), float(fields[6])
    pixel = np.arange(n, dtype=np.float64)
    if dtype == 0:
        wave = (w1 + dw * pixel) / (1.0 + z)
    elif dtype == 1:
        wave = 10.0 ** (w1 + dw * pixel) / (1.0 + z)
    else:
        raise SpectrumFormatError(f"IRAF multispec dispersion type {dtype} (non-linear) is not supported", where)
    factor = angstrom_factor(_wat_field(_wat(header, 1), "units"), where)
    return wave * (1.0 if factor is None else factor)
