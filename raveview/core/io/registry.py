"""A registry of spectrum readers, each with an identify function (specutils style).

A reader is registered with :func:`register_reader`. :func:`find_reader` asks
each reader, highest priority first, whether it recognises a file, looking at a
:class:`Probe` (the path, its first bytes, and the FITS HDU list opened once
and shared by all FITS identifiers).
"""

from __future__ import annotations

import gzip
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from raveview.core.errors import SpectrumFormatError
from raveview.core.spectrum import Spectrum

FITS_MAGIC = b"SIMPLE  ="
HEAD_BYTES = 2880


@dataclass
class Probe:
    """What identify functions look at: the path, its first bytes and, for FITS, the HDUs.

    Parameters
    ----------
    path
        The file being identified.

    Attributes
    ----------
    cache
        Scratch space identify functions share (e.g. the file parsed as a table).
    """

    path: Path
    head: bytes = b""
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _hdul: Any = field(default=None, repr=False)
    _hdul_error: Exception | None = field(default=None, repr=False)
    _handle: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        with open(self.path, "rb") as handle:
            self.head = handle.read(HEAD_BYTES)

    @property
    def suffix(self) -> str:
        """Lower-case file suffix with compression suffixes stripped (``.fits.gz`` → ``.fits``)."""
        suffixes = [s.lower() for s in self.path.suffixes]
        while suffixes and suffixes[-1] in (".gz", ".bz2", ".xz"):
            suffixes.pop()
        return suffixes[-1] if suffixes else ""

    @property
    def is_fits(self) -> bool:
        """True when the file starts with the FITS signature (gzip-compressed FITS included)."""
        if self.head.startswith(FITS_MAGIC):
            return True
        return self.head[:2] == b"\x1f\x8b" and self.suffix in (".fits", ".fit", ".fts")

    @property
    def text_head(self) -> str:
        """The first bytes decoded as text, gzip undone (empty when the file looks binary)."""
        head = self.head
        if head[:2] == b"\x1f\x8b" and not self.is_fits:
            head = self.cache.get("gunzipped_head", b"")
            if not head:
                try:
                    with gzip.open(self.path, "rb") as handle:
                        head = handle.read(HEAD_BYTES)
                except (OSError, EOFError, ValueError):
                    head = b"\x00"
                self.cache["gunzipped_head"] = head
        if b"\x00" in head:
            return ""
        return head.decode("utf-8", errors="replace")

    def hdul(self):
        """The file's ``astropy.io.fits.HDUList``, opened once (raises SpectrumFormatError)."""
        if self._hdul is None and self._hdul_error is None:
            from astropy.io import fits

            hdul = None
            self._handle = open(self.path, "rb")  # ours, so it is closed even when astropy fails
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    hdul = fits.open(self._handle, memmap=False, lazy_load_hdus=False)
                    hdul.verify("silentfix")
                self._check_truncation(hdul)
                self._hdul = hdul
            except SpectrumFormatError as exc:
                self._hdul_error = exc
            except Exception as exc:  # astropy raises many types for broken files
                self._hdul_error = SpectrumFormatError(f"not a readable FITS file ({_short(exc)})", self.path)
            if self._hdul_error is not None:
                if hdul is not None:
                    hdul.close()
                self._handle.close()
        if self._hdul_error is not None:
            raise self._hdul_error
        return self._hdul

    def _check_truncation(self, hdul: Any) -> None:
        """Raise when an HDU's data reaches past the end of an uncompressed file."""
        if self.head[:2] == b"\x1f\x8b":
            return
        file_size = self.path.stat().st_size
        for number, hdu in enumerate(hdul, start=1):
            end = hdu.fileinfo()["datLoc"] + hdu.size
            if end > file_size:
                raise SpectrumFormatError(
                    f"truncated FITS file: HDU {number} ({hdu.name or 'unnamed'}) ends at byte {end} "
                    f"but the file has {file_size} bytes",
                    self.path,
                )
        last = hdul[-1].fileinfo()
        tail = file_size - (last["datLoc"] + last["datSpan"])
        if tail >= 80:
            with open(self.path, "rb") as handle:
                handle.seek(file_size - tail)
                extra = handle.read(HEAD_BYTES)
            if extra.strip(b"\x00 "):
                raise SpectrumFormatError(
                    f"truncated FITS file: {tail} bytes after the last complete HDU", self.path
                )

    def close(self) -> None:
        """Close the FITS file if it was opened."""
        if self._hdul is not None:
            self._hdul.close()
            self._hdul = None
        if self._handle is not None:
            self._handle.close()


ReadFunction = Callable[[Probe], "Spectrum | list[Spectrum]"]
IdentifyFunction = Callable[[Probe], bool]


@dataclass(frozen=True)
class Reader:
    """A registered reader."""

    name: str
    identify: IdentifyFunction
    read: ReadFunction
    extensions: tuple[str, ...] = ()
    priority: int = 0
    description: str = ""


_READERS: dict[str, Reader] = {}


def register_reader(
    name: str,
    identify: IdentifyFunction,
    extensions: tuple[str, ...] = (),
    priority: int = 0,
    description: str = "",
) -> Callable[[ReadFunction], ReadFunction]:
    """Register the decorated function as the reader called ``name``.

    Parameters
    ----------
    name
        Short unique name (used by ``read_spectrum(path, format=name)``).
    identify
        ``identify(probe) -> bool``; must not raise for files it does not know.
    extensions
        File suffixes this reader is meant for (informational, for file dialogs).
    priority
        Readers with higher priority are asked first (specific before generic).
    description
        One line for file dialogs and ``--help``.
    """

    def decorator(read: ReadFunction) -> ReadFunction:
        _READERS[name] = Reader(name, identify, read, tuple(extensions), priority, description)
        return read

    return decorator


def readers() -> list[Reader]:
    """All registered readers, highest priority first."""
    return sorted(_READERS.values(), key=lambda r: -r.priority)


def get_reader(name: str) -> Reader:
    """The reader registered as ``name`` (KeyError if none)."""
    return _READERS[name]


def find_reader(probe: Probe) -> Reader:
    """The first reader whose identify function accepts ``probe``.

    Raises
    ------
    SpectrumFormatError
        When no reader recognises the file.
    """
    for reader in readers():
        try:
            if reader.identify(probe):
                return reader
        except SpectrumFormatError:
            raise
        except Exception:  # an identify function must never make reading fail
            continue
    raise SpectrumFormatError("not a spectrum format raveview knows", probe.path)


def _short(exc: BaseException) -> str:
    """One-line description of an exception for error messages."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."
