"""Matrix files: many spectra on one wavelength grid in one FITS image.

Layout (the published training layout, read there as ``data.T``):

* primary HDU: float32 array of numpy shape ``(n_pixels, n_spectra)``; the
  wavelength axis is numpy axis 0 = FITS axis 2, described by ``CRVAL2``,
  ``CDELT2``, ``CRPIX2`` and ``CTYPE2 = 'WAVE'`` (Å unless ``CUNIT2`` says
  otherwise). Without wavelength keywords an axis of 912 pixels is taken to be
  :data:`raveview.core.grid.DEFAULT_GRID` (noted in ``meta["wavelength_assumed"]``);
* optional image extension ``ERROR`` of the same shape: relative errors;
* optional binary table ``IDS``: ``rave_obs_id`` (str), ``source_id`` (int64),
  ``snr`` (float), one row per spectrum.

:func:`read_matrix` loads the arrays without building :class:`Spectrum`
objects (fast enough for 10⁵ spectra); :func:`write_matrix` writes the layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from raveview.core.errors import RaveviewError, SpectrumFormatError
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io.fits_wcs import axis_wavelength
from raveview.core.io.registry import Probe, _short, register_reader
from raveview.core.spectrum import Spectrum

#: Value of ``MatrixSpectra.source_id`` where the Gaia id is unknown.
NO_SOURCE_ID = -1


@dataclass(frozen=True, eq=False)
class MatrixSpectra:
    """Many spectra on one grid, as plain arrays.

    Parameters
    ----------
    wavelength
        Shape (n_pixels,), Å.
    flux
        Shape (n_spectra, n_pixels), float32.
    rel_error
        Relative errors of the same shape, or ``None``.
    rave_obs_id
        One RAVE obs id per spectrum (``None`` where unknown).
    source_id
        int64 Gaia ids, :data:`NO_SOURCE_ID` where unknown.
    snr
        float S/N per spectrum, NaN where unknown.
    meta
        Notes such as ``wavelength_assumed``.
    """

    wavelength: np.ndarray
    flux: np.ndarray
    rel_error: np.ndarray | None
    rave_obs_id: list[str | None]
    source_id: np.ndarray
    snr: np.ndarray
    meta: dict[str, Any]

    def __len__(self) -> int:
        return int(self.flux.shape[0])

    def spectrum(self, index: int, source_file: Path | None = None) -> Spectrum:
        """Spectrum number ``index`` as a :class:`Spectrum` (sigma = |flux| × rel_error)."""
        flux = self.flux[index].astype(np.float64)
        sigma = None if self.rel_error is None else np.abs(flux) * self.rel_error[index]
        source_id = int(self.source_id[index])
        snr = float(self.snr[index])
        return Spectrum(
            wavelength=self.wavelength,
            flux=flux,
            sigma=sigma,
            rave_obs_id=self.rave_obs_id[index] or None,
            source_id=None if source_id == NO_SOURCE_ID else source_id,
            snr=snr if np.isfinite(snr) else None,
            source_file=source_file,
            meta=dict(self.meta, index=index),
        )


def _has_wave_axis2(header: Any) -> bool:
    return str(header.get("CTYPE2", "")).upper().startswith("WAVE") or (
        "CRVAL2" in header and "CRVAL1" not in header
    )


def _identify(probe: Probe) -> bool:
    if not probe.is_fits:
        return False
    hdul = probe.hdul()
    header = hdul[0].header
    if header.get("NAXIS") != 2:
        return False
    names = {hdu.name.upper() for hdu in hdul[1:]}
    return (
        _has_wave_axis2(header)
        or bool(names & {"ERROR", "IDS"})
        or (header.get("NAXIS2") == DEFAULT_GRID.n and "CRVAL1" not in header)
    )


def _matrix_from_hdul(hdul: Any, path: Path) -> MatrixSpectra:
    primary = hdul[0]
    if primary.data is None or primary.data.ndim != 2:
        raise SpectrumFormatError("matrix file's primary HDU is not a 2-D image", path)
    n_pix, n_spec = primary.data.shape
    flux = np.ascontiguousarray(primary.data.T, dtype=np.float32)
    header = primary.header
    meta: dict[str, Any] = {}
    if "CRVAL2" in header:
        wave, info = axis_wavelength(header, 2, n_pix, path)
        meta.update(info)
    elif n_pix == DEFAULT_GRID.n:
        wave = DEFAULT_GRID.wavelength
        meta["wavelength_assumed"] = f"no CRVAL2 keyword; assumed the default grid {DEFAULT_GRID}"
    else:
        raise SpectrumFormatError(
            f"matrix image lacks the CRVAL2 keyword and has {n_pix} pixels, not the {DEFAULT_GRID.n} "
            "of the default grid",
            path,
        )
    names = [hdu.name.upper() for hdu in hdul]
    rel_error = None
    if "ERROR" in names:
        err = hdul["ERROR"].data
        if err is None or err.shape != primary.data.shape:
            raise SpectrumFormatError(
                f"ERROR extension has shape {None if err is None else err.shape}, expected {primary.data.shape}", path
            )
        rel_error = np.ascontiguousarray(err.T, dtype=np.float32)
    obs_ids: list[str | None] = [None] * n_spec
    source_id = np.full(n_spec, NO_SOURCE_ID, dtype=np.int64)
    snr = np.full(n_spec, np.nan)
    if "IDS" in names:
        table = hdul["IDS"].data
        if table is None or len(table) != n_spec:
            raise SpectrumFormatError(
                f"IDS table has {0 if table is None else len(table)} rows, expected {n_spec}", path
            )
        columns = {name.lower(): name for name in table.columns.names}
        if "rave_obs_id" in columns:
            obs_ids = [str(v).strip() or None for v in table[columns["rave_obs_id"]]]
        if "source_id" in columns:
            source_id = np.asarray(table[columns["source_id"]], dtype=np.int64)
        if "snr" in columns:
            snr = np.asarray(table[columns["snr"]], dtype=np.float64)
    return MatrixSpectra(wave, flux, rel_error, obs_ids, source_id, snr, meta)


def read_matrix(path: str | PathLike[str]) -> MatrixSpectra:
    """Load a matrix file as arrays, without building :class:`Spectrum` objects.

    Parameters
    ----------
    path
        The matrix FITS file.

    Returns
    -------
    MatrixSpectra

    Raises
    ------
    SpectrumFormatError
        When the file is missing, unreadable or not in the matrix layout.
    """
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        raise SpectrumFormatError("no such file", path)
    try:
        with fits.open(path, memmap=True) as hdul:
            return _matrix_from_hdul(hdul, path)
    except RaveviewError:
        raise
    except Exception as exc:
        raise SpectrumFormatError(f"not a readable matrix file ({_short(exc)})", path) from exc


def write_matrix(
    path: str | PathLike[str],
    wavelength: np.ndarray,
    flux: np.ndarray,
    rel_error: np.ndarray | None = None,
    ids: Mapping[str, Sequence[Any]] | None = None,
) -> Path:
    """Write spectra on one linear grid as a matrix file.

    Parameters
    ----------
    path
        Output file (overwritten).
    wavelength
        Shape (n_pixels,), Å, linear.
    flux
        Shape (n_spectra, n_pixels).
    rel_error
        Relative errors of the shape of ``flux``, or ``None``.
    ids
        Optional columns ``rave_obs_id``, ``source_id``, ``snr`` (a dict of
        sequences or a DataFrame), one value per spectrum; missing columns are
        filled with "", -1 and NaN.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        When shapes disagree or the wavelengths are not a linear grid.
    """
    from astropy.io import fits

    path = Path(path)
    wave = np.asarray(wavelength, dtype=np.float64)
    flux = np.atleast_2d(np.asarray(flux, dtype=np.float32))
    n_spec, n_pix = flux.shape
    if wave.shape != (n_pix,) or n_pix < 2:
        raise ValueError(f"wavelength has shape {wave.shape}, flux has {n_pix} pixels per spectrum")
    step = (wave[-1] - wave[0]) / (n_pix - 1)
    if not step > 0 or not np.allclose(np.diff(wave), step, rtol=1e-6, atol=1e-6 * abs(step)):
        raise ValueError("matrix files need a linear, increasing wavelength grid")
    primary = fits.PrimaryHDU(np.ascontiguousarray(flux.T))
    header = primary.header
    header["CTYPE2"] = ("WAVE", "numpy axis 0 is wavelength")
    header["CUNIT2"] = "Angstrom"
    header["CRVAL2"] = (float(wave[0]), "wavelength of reference pixel [Angstrom]")
    header["CDELT2"] = (float(step), "pixel width [Angstrom]")
    header["CRPIX2"] = 1.0
    header["RVLAYOUT"] = ("matrix", "raveview matrix file: pixels x spectra")
    hdus: list[Any] = [primary]
    if rel_error is not None:
        err = np.asarray(rel_error, dtype=np.float32)
        if err.shape != flux.shape:
            raise ValueError(f"rel_error has shape {err.shape}, flux has {flux.shape}")
        hdus.append(fits.ImageHDU(np.ascontiguousarray(err.T), name="ERROR"))
    if ids is not None:
        obs = ids["rave_obs_id"] if "rave_obs_id" in ids else [""] * n_spec
        sid = ids["source_id"] if "source_id" in ids else np.full(n_spec, NO_SOURCE_ID)
        snr = ids["snr"] if "snr" in ids else np.full(n_spec, np.nan)
        obs = np.array(["" if v is None else str(v) for v in obs])
        columns = [
            fits.Column("rave_obs_id", format=f"{max(1, obs.dtype.itemsize // 4)}A", array=obs),
            fits.Column("source_id", format="K", array=np.asarray(sid, dtype=np.int64)),
            fits.Column("snr", format="D", array=np.asarray(snr, dtype=np.float64)),
        ]
        if any(len(c.array) != n_spec for c in columns):
            raise ValueError(f"ids need {n_spec} values per column")
        hdus.append(fits.BinTableHDU.from_columns(columns, name="IDS"))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


@register_reader(
    "matrix",
    _identify,
    extensions=(".fits", ".fit", ".fits.gz"),
    priority=90,
    description="Matrix of spectra on one grid (pixels × spectra, training layout)",
)
def read_matrix_spectra(probe: Probe) -> list[Spectrum]:
    """Read every spectrum of a matrix file as a list of :class:`Spectrum`."""
    matrix = _matrix_from_hdul(probe.hdul(), probe.path)
    return [matrix.spectrum(i, probe.path) for i in range(len(matrix))]
