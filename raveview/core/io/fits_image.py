"""Generic FITS images of 1-D spectra (Indo-US library, IRAF ``onedspec``/``multispec``).

The spectrum is the first image HDU holding data. One-row 2-D images and IRAF
3-D "bands" images (band 1 = the spectrum) are reduced to 1-D; an IRAF
``multispec`` image with several rows gives one spectrum per row. The
wavelength solution is read by :mod:`raveview.core.io.fits_wcs`; an axis with a
negative step is reversed so wavelengths increase.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raveview.core.errors import SpectrumFormatError
from raveview.core.io.fits_wcs import axis_wavelength, is_multispec, multispec_wavelength
from raveview.core.io.registry import Probe, register_reader
from raveview.core.spectrum import Spectrum

#: Header keywords copied into ``Spectrum.meta`` when present.
META_KEYS = ("OBJECT", "RA", "DEC", "DATE-OBS", "EXPTIME", "ORIGIN", "TELESCOP", "INSTRUME", "VHELIO", "SNR")


def first_image_hdu(hdul: Any) -> Any | None:
    """The first HDU of ``hdul`` that is an image holding data, or ``None``."""
    for hdu in hdul:
        if getattr(hdu, "is_image", False) and hdu.header.get("NAXIS", 0) > 0 and hdu.data is not None:
            return hdu
    return None


def header_ids(header: Any) -> dict[str, Any]:
    """``rave_obs_id``, ``source_id`` and ``snr`` from common header keywords (missing → None)."""
    obs_id = header.get("RAVE_OBS_ID", header.get("ROI"))
    source_id = header.get("SOURCE_ID", header.get("SOURCEID"))
    snr = header.get("SNR", header.get("STN"))
    try:
        source_id = int(source_id) if source_id not in (None, "") else None
    except (TypeError, ValueError):
        source_id = None
    try:
        snr = float(snr) if snr not in (None, "") else None
    except (TypeError, ValueError):
        snr = None
    return {
        "rave_obs_id": str(obs_id).strip() or None if obs_id not in (None, "") else None,
        "source_id": source_id,
        "snr": snr,
    }


def _identify(probe: Probe) -> bool:
    return probe.is_fits and first_image_hdu(probe.hdul()) is not None


def _rows(data: np.ndarray, header: Any, probe: Probe) -> tuple[np.ndarray, dict[str, Any]]:
    """The image as (n_rows, n_pixels) plus notes for ``meta``."""
    notes: dict[str, Any] = {}
    if data.ndim == 3 and (data.shape[1] == 1 or is_multispec(header)):
        notes["iraf_band"] = 1
        data = data[0]
    if data.ndim == 1:
        return data[np.newaxis, :], notes
    if data.ndim == 2 and (data.shape[0] == 1 or is_multispec(header)):
        return data, notes
    shape = " × ".join(str(s) for s in data.shape[::-1])
    raise SpectrumFormatError(
        f"{shape} image is not a 1-D spectrum (nor a raveview matrix file or an IRAF multispec image)", probe.path
    )


@register_reader(
    "fits-image",
    _identify,
    extensions=(".fits", ".fit", ".fts", ".fits.gz"),
    priority=50,
    description="FITS image of a 1-D spectrum (CRVAL1/CDELT1, IRAF, log-linear)",
)
def read_fits_image(probe: Probe) -> Spectrum | list[Spectrum]:
    """Read a FITS image holding one spectrum (or one per row for IRAF multispec).

    Parameters
    ----------
    probe
        The probe of the file.

    Returns
    -------
    Spectrum or list of Spectrum
    """
    hdu = first_image_hdu(probe.hdul())
    header = hdu.header
    rows, notes = _rows(np.asarray(hdu.data, dtype=np.float64), header, probe)
    multispec = is_multispec(header)
    ids = header_ids(header)
    meta_base = {key: header[key] for key in META_KEYS if key in header}
    meta_base.update(notes)
    spectra = []
    for index, flux in enumerate(rows):
        if multispec:
            wave, info = multispec_wavelength(header, index, flux.size, probe.path), {"dispersion": "multispec"}
        else:
            wave, info = axis_wavelength(header, 1, flux.size, probe.path)
        if wave.size > 1 and wave[-1] < wave[0]:
            wave, flux = wave[::-1], flux[::-1]
        meta = dict(meta_base, **info)
        if len(rows) > 1:
            meta["row"] = index
        spectra.append(Spectrum(wavelength=wave, flux=flux, source_file=probe.path, meta=meta, **ids))
    return spectra[0] if len(spectra) == 1 else spectra
