"""RAVE DR6 spectrum FITS files: reader and writer.

Layout (RAVE DR6, Steinmetz et al. 2020): an empty primary HDU whose header
holds ``ROI`` (the RAVE_OBS_ID), then image extensions ``SPECTRUM`` and
``ERROR``. Wavelength = CRVAL1 + (i + 1 - CRPIX1) * CDELT1 in Å (air, rest
frame); the flux is continuum-normalised; ``ERROR`` is a *relative* error, so
sigma = |flux| * error. Start, step and length vary from file to file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from raveview.core.errors import SpectrumFormatError
from raveview.core.io.registry import Probe, register_reader
from raveview.core.spectrum import Spectrum

#: Header keywords copied into ``Spectrum.meta`` when present.
META_KEYS = ("OBJECT", "RA", "DEC", "SNR", "STN", "HRV", "DATE-OBS", "FIELD", "FIBER", "MOCK", "SIMCLASS")


def _identify(probe: Probe) -> bool:
    if not probe.is_fits:
        return False
    names = {hdu.name.upper() for hdu in probe.hdul()}
    return "SPECTRUM" in names and "ERROR" in names


def linear_wavelength(header: Any, n: int) -> np.ndarray:
    """Wavelengths of a linear FITS axis 1: CRVAL1 + (i + 1 - CRPIX1) * CDELT1 (CD1_1 accepted)."""
    crval = float(header["CRVAL1"])
    step = header.get("CDELT1", header.get("CD1_1"))
    if step is None:
        raise KeyError("CDELT1")
    crpix = float(header.get("CRPIX1", 1.0))
    return crval + (np.arange(n, dtype=np.float64) + 1.0 - crpix) * float(step)


@register_reader(
    "rave-dr6",
    _identify,
    extensions=(".fits", ".fit", ".fits.gz"),
    priority=100,
    description="RAVE DR6 spectrum (SPECTRUM + ERROR extensions)",
)
def read_rave_dr6(probe: Probe) -> Spectrum:
    """Read one RAVE DR6 spectrum FITS file.

    Parameters
    ----------
    probe
        The probe of the file (its HDU list is reused).

    Returns
    -------
    Spectrum
        With ``rave_obs_id`` from ``ROI`` and absolute sigma.
    """
    hdul = probe.hdul()
    primary = hdul[0].header
    spec_hdu, err_hdu = hdul["SPECTRUM"], hdul["ERROR"]
    if spec_hdu.data is None:
        raise SpectrumFormatError("SPECTRUM extension holds no data", probe.path)
    flux = np.asarray(spec_hdu.data, dtype=np.float64).squeeze()
    if flux.ndim != 1:
        raise SpectrumFormatError(f"SPECTRUM extension is {flux.ndim}-D, expected 1-D", probe.path)
    try:
        wave = linear_wavelength(spec_hdu.header, flux.size)
    except KeyError as exc:
        raise SpectrumFormatError(f"SPECTRUM extension lacks the {exc.args[0]} keyword", probe.path) from None
    sigma = None
    if err_hdu.data is not None:
        rel = np.asarray(err_hdu.data, dtype=np.float64).squeeze()
        if rel.shape != flux.shape:
            raise SpectrumFormatError(
                f"ERROR extension has {rel.size} pixels but SPECTRUM has {flux.size}", probe.path
            )
        sigma = np.abs(flux) * rel
    obs_id = primary.get("ROI") or primary.get("RAVE_OBS_ID") or primary.get("RAVEID")
    source_id = primary.get("SOURCEID", primary.get("GAIAID"))
    snr = primary.get("SNR", primary.get("STN"))
    meta = {key: primary[key] for key in META_KEYS if key in primary}
    return Spectrum(
        wavelength=wave,
        flux=flux,
        sigma=sigma,
        rave_obs_id=str(obs_id).strip() if obs_id else None,
        source_id=int(source_id) if source_id not in (None, "") else None,
        snr=float(snr) if snr not in (None, "") else None,
        source_file=probe.path,
        meta=meta,
    )


def write_rave_dr6(
    path: str | Path,
    flux: np.ndarray,
    rel_error: np.ndarray,
    start: float,
    step: float,
    obs_id: str,
    header: dict[str, Any] | None = None,
) -> Path:
    """Write a spectrum in the RAVE DR6 layout.

    Parameters
    ----------
    path
        Output file.
    flux
        Continuum-normalised flux.
    rel_error
        Relative error per pixel (sigma / |flux|).
    start, step
        Wavelength of the first pixel and pixel width in Å (CRPIX1 = 1).
    obs_id
        The RAVE_OBS_ID, written as ``ROI``.
    header
        Extra primary-header keywords (e.g. ``SNR``, ``SOURCEID``).

    Returns
    -------
    Path
        The written file.
    """
    from astropy.io import fits

    path = Path(path)
    primary = fits.PrimaryHDU()
    primary.header["ROI"] = (obs_id, "RAVE_OBS_ID")
    for key, value in (header or {}).items():
        primary.header[key] = value
    hdus = [primary]
    for name, data in (("SPECTRUM", flux), ("ERROR", rel_error)):
        hdu = fits.ImageHDU(np.asarray(data, dtype=np.float32), name=name)
        hdu.header["CRVAL1"] = (float(start), "wavelength of reference pixel [Angstrom]")
        hdu.header["CDELT1"] = (float(step), "pixel width [Angstrom]")
        hdu.header["CRPIX1"] = 1.0
        hdu.header["CTYPE1"] = "WAVE"
        hdu.header["CUNIT1"] = "Angstrom"
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path
