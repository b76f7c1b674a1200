"""Turning command-line style inputs (files, folders, globs, path lists) into spectra."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from os import PathLike
from pathlib import Path

from raveview.core.errors import RaveviewError
from raveview.core.spectrum import Spectrum

#: File name endings considered when a folder is searched.
SPECTRUM_SUFFIXES = (
    ".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz",
    ".csv", ".ecsv", ".csv.gz", ".ecsv.gz", ".txt", ".dat", ".asc",
)
#: Suffixes of files that may be lists of paths, one per line.
LIST_SUFFIXES = (".txt", ".lis", ".list")
_GLOB_CHARS = set("*?[")
_MAX_LIST_DEPTH = 8

PathInput = str | PathLike[str]


def is_path_list(path: Path) -> bool:
    """True for a text file (``.txt``, ``.lis``, ``.list``) listing paths, one per line.

    A list is told apart from a text spectrum by its content: none of its first
    data lines is made of numbers only.
    """
    if path.suffix.lower() not in LIST_SUFFIXES or not path.is_file():
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    if b"\x00" in head:
        return False
    lines = [ln.strip() for ln in head.decode("utf-8", errors="replace").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")][:5]
    if not lines:
        return False
    for line in lines:
        fields = line.replace(",", " ").split()
        try:
            [float(f) for f in fields]
            return False  # a numeric line: a text spectrum
        except ValueError:
            continue
    return True


def _read_list(path: Path) -> list[Path]:
    entries = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            text = line.strip()
            if text and not text.startswith("#"):
                entry = Path(os.path.expanduser(text))
                entries.append(entry if entry.is_absolute() else path.parent / entry)
    return entries


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(SPECTRUM_SUFFIXES):
                found.append(Path(root) / name)
    return found


def expand_inputs(inputs: PathInput | Iterable[PathInput]) -> list[Path]:
    """Expand files, folders, globs and path lists into a list of files.

    Parameters
    ----------
    inputs
        One path or several. Folders are searched recursively for files ending in
        :data:`SPECTRUM_SUFFIXES` (hidden files and folders skipped); glob patterns
        (``*``, ``?``, ``[``, ``**``) are expanded; a ``.txt``/``.lis``/``.list``
        file of paths, one per line (``#`` comments; relative paths are relative
        to the list's folder), is replaced by its entries.

    Returns
    -------
    list of Path
        In order, without duplicates. A path that does not exist (or a glob that
        matches nothing) is kept, so reading it reports "no such file".
    """
    if isinstance(inputs, (str, PathLike)):
        inputs = [inputs]
    result: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        if path not in seen:
            seen.add(path)
            result.append(path)

    def expand(item: Path, depth: int) -> None:
        if item.is_dir():
            for path in _walk(item):
                add(path)
        elif item.is_file():
            if depth < _MAX_LIST_DEPTH and is_path_list(item):
                for entry in _read_list(item):
                    expand(entry, depth + 1)
            else:
                add(item)
        elif _GLOB_CHARS & set(str(item)):
            matches = sorted(glob.glob(str(item), recursive=True))
            if not matches:
                add(item)
            for match in matches:
                expand(Path(match), depth)
        else:
            add(item)

    for entry in inputs:
        expand(Path(os.path.expanduser(str(entry))), 0)
    return result


def iter_spectra(
    inputs: PathInput | Iterable[PathInput],
) -> Iterator[tuple[Path, Spectrum | None, RaveviewError | None]]:
    """Read every spectrum of the inputs, one item per spectrum.

    Parameters
    ----------
    inputs
        As for :func:`expand_inputs`.

    Yields
    ------
    (path, spectrum, error)
        ``spectrum`` is None when ``error`` is set. A multi-spectrum file gives
        one item per spectrum; a bad spectrum inside it gives an error item and
        the others are still yielded.
    """
    from raveview.core.io import read_spectra_unchecked
    from raveview.core.io.validate import validate_spectrum

    for path in expand_inputs(inputs):
        try:
            spectra = read_spectra_unchecked(path)
        except RaveviewError as exc:
            yield path, None, exc
            continue
        for index, spectrum in enumerate(spectra):
            try:
                yield path, validate_spectrum(spectrum, path), None
            except RaveviewError as exc:
                if len(spectra) > 1:
                    exc = type(exc)(f"spectrum {index + 1}: {exc.message}", path)
                yield path, None, exc
