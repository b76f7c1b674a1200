"""Reading spectra: :func:`read_spectrum` dispatches to the registered readers.

Importing this package registers every built-in reader.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from raveview.core.errors import RaveviewError, SpectrumFormatError
from raveview.core.io import rave_dr6  # noqa: F401  (registers the reader)
from raveview.core.io.rave_dr6 import write_rave_dr6
from raveview.core.io.registry import Probe, find_reader, get_reader, readers, register_reader, _short
from raveview.core.spectrum import Spectrum

__all__ = ["read_spectrum", "write_rave_dr6", "readers", "register_reader", "Spectrum"]


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
        One spectrum, or a list for multi-spectrum files.

    Raises
    ------
    RaveviewError
        A one-line error naming the file and the cause.
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
        reader = get_reader(format) if format else find_reader(probe)
        try:
            return reader.read(probe)
        except RaveviewError:
            raise
        except Exception as exc:  # a reader met something it did not expect
            raise SpectrumFormatError(f"cannot read as {reader.name} ({_short(exc)})", path) from exc
    finally:
        probe.close()
