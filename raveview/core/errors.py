"""The project's exception types.

Every error a user can cause with a bad file or table is one of these. Its
``str()`` is a single line that names the file (when there is one) and the
cause, so the CLI and the GUI can show it as it is, without a traceback.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path


class RaveviewError(Exception):
    """Base class of all raveview errors a user can cause.

    Parameters
    ----------
    message
        The cause, as one short sentence without a trailing period.
    path
        The file or folder the error is about, if any.
    """

    def __init__(self, message: str, path: str | PathLike[str] | None = None) -> None:
        self.message = " ".join(str(message).split())  # always one line
        self.path = Path(path) if path is not None else None
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        return f"{self.path}: {self.message}"

    def __reduce__(self):  # keep pickling (multiprocessing, Dask) working
        return (type(self), (self.message, self.path))


class SpectrumFormatError(RaveviewError):
    """A file is not a spectrum any reader understands (unknown, truncated, garbled)."""


class SpectrumDataError(RaveviewError):
    """A spectrum was read but its content is unusable (NaN flux, bad wavelengths, off-grid)."""


class PhotometryError(RaveviewError):
    """A photometry catalog or row is unusable (missing columns, bad parallax)."""


class CatalogError(RaveviewError):
    """A results catalog cannot be written or read."""


class ModelError(RaveviewError):
    """A model bundle is missing, malformed or of an unsupported format."""


class ModelIntegrityError(ModelError):
    """A model bundle's member file does not match the checksum in its manifest."""


class TrainingDataError(RaveviewError):
    """A training set is inconsistent (mismatched rows, missing labels)."""
