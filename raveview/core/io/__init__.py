"""Reading spectra: :func:`read_spectrum` dispatches to the registered readers.

Importing this package registers every built-in reader (one module each):
``rave-dr6``, ``matrix``, ``gaia-rvs-bulk``, ``gaia-rvs``, ``fits-image``,
``table`` and ``ascii-columns``. Every spectrum read is checked by
:func:`raveview.core.io.validate.validate_spectrum`.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from raveview.core.errors import RaveviewError, SpectrumFormatError
from raveview.core.io import ascii_columns, fits_image, gaia_rvs, matrix, rave_dr6, table_spectrum  # noqa: F401
from raveview.core.io.inputs import expand_inputs, iter_spectra
from raveview.core.io.matrix import MatrixSpectra, read_matrix, write_matrix
from raveview.core.io.rave_dr6 import write_rave_dr6
from raveview.core.io.registry import Probe, _short, find_reader, get_reader, readers, register_reader
from raveview.core.io.validate import check_overlap, validate_spectrum
from raveview.core.spectrum import Spectrum

__all__ = [
    "read_spectrum",
    "read_spectra_unchecked",
    "read_matrix",
    "write_matrix",
    "MatrixSpectra",
    "write_rave_dr6",
    "expand_inputs",
    "iter_spectra",
    "check_overlap",
    "validate_spectrum",
    "readers",
    "register_reader",
    "Spectrum",
]

_FITS_SUFFIXES = (".fits", ".fit", ".fts")


def _describe_fits(probe: Probe) -> str:
    """Why no reader took a FITS file: the HDUs it holds."""
    parts = []
    for hdu in probe.hdul():
        kind = "table" if hdu.header.get("XTENSION", "").strip() in ("BINTABLE", "TABLE") else "image"
        empty = " (empty)" if hdu.header.get("NAXIS", 0) == 0 else ""
        parts.append(f"{hdu.name or 'unnamed'} {kind}{empty}")
    return "FITS file holds no spectrum raveview knows (HDUs: " + ", ".join(parts) + ")"


def read_spectra_unchecked(path: str | PathLike[str], format: str | None = None) -> list[Spectrum]:
    """Read a spectrum file with its reader, without validation (always a list).

    Parameters and errors as for :func:`read_spectrum`; ``meta["reader"]`` names the reader.
    """
    path = Path(path)
    if not path.exists():
        raise SpectrumFormatError("no such file", path)
    if path.is_dir():
        raise SpectrumFormatError("is a folder, not a file", path)
    if path.stat().st_size == 0:
        raise SpectrumFormatError("file is empty", path)
    probe = Probe(path)
    try:
        if format:
            try:
                reader = get_reader(format)
            except KeyError:
                raise SpectrumFormatError(f"unknown format {format!r}", path) from None
        else:
            if probe.suffix in _FITS_SUFFIXES and not probe.is_fits:
                raise SpectrumFormatError("not a FITS file (no FITS header at the start)", path)
            try:
                reader = find_reader(probe)
            except SpectrumFormatError:
                if probe.is_fits:
                    raise SpectrumFormatError(_describe_fits(probe), path) from None
                raise
        try:
            result = reader.read(probe)
        except RaveviewError as exc:
            raise exc if exc.path is not None else type(exc)(exc.message, path) from None
        except Exception as exc:  # a reader met something it did not expect
            raise SpectrumFormatError(f"cannot read as {reader.name} ({_short(exc)})", path) from exc
    finally:
        probe.close()
    spectra = result if isinstance(result, list) else [result]
    return [s.replace(meta={**s.meta, "reader": reader.name}) for s in spectra]


def read_spectrum(path: str | PathLike[str], format: str | None = None) -> Spectrum | list[Spectrum]:
    """Read a spectrum file.

    Parameters
    ----------
    path
        The file to read.
    format
        Name of a registered reader to force; by default the format is identified.

    Returns
    -------
    Spectrum or list of Spectrum
        One spectrum, or a list for multi-spectrum files (matrix files, Gaia bulk
        files, IRAF multispec images). Every spectrum is validated; non-finite
        flux pixels are masked.

    Raises
    ------
    RaveviewError
        A one-line error naming the file and the cause
        (:class:`~raveview.core.errors.SpectrumFormatError` or
        :class:`~raveview.core.errors.SpectrumDataError`).
    """
    path = Path(path)
    spectra = read_spectra_unchecked(path, format)
    checked = []
    for index, spectrum in enumerate(spectra):
        try:
            checked.append(validate_spectrum(spectrum, path))
        except RaveviewError as exc:
            if len(spectra) == 1:
                raise
            raise type(exc)(f"spectrum {index + 1}: {exc.message}", path) from None
    return checked[0] if len(checked) == 1 else checked
