"""Background jobs of the window that touch files but not the model (Qt-free generators)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from raveview.core.errors import RaveviewError, SpectrumFormatError
from raveview.core.grid import WavelengthGrid
from raveview.core.progress import Progress
from raveview.core.spectrum import Spectrum

#: Suffixes of the files a folder is scanned for.
SPECTRUM_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".csv", ".ecsv", ".txt", ".dat", ".ascii", ".xml",
                     ".vot")
#: File dialog filter for spectra.
OPEN_FILTER = ("Spectra (*.fits *.fit *.fts *.fits.gz *.csv *.ecsv *.txt *.dat *.ascii *.xml *.vot);;"
               "FITS (*.fits *.fit *.fts *.fits.gz);;CSV/ECSV (*.csv *.ecsv);;ASCII (*.txt *.dat *.ascii);;"
               "All files (*)")
CATALOG_FILTER = "Catalogs (*.fits *.csv *.ecsv *.xml *.vot *.parquet);;All files (*)"


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named in ``paths``; folders are replaced by the spectrum files they hold (sorted)."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.is_file()
                          and any(p.name.lower().endswith(s) for s in SPECTRUM_SUFFIXES))
        else:
            out.append(path)
    return out


def _read_one(path: Path) -> tuple[list[Spectrum] | None, RaveviewError | None]:
    from raveview.core.io import read_spectrum

    try:
        spectra = read_spectrum(path)
    except RaveviewError as exc:
        return None, exc
    except Exception as exc:  # a reader bug must not stop the other files
        return None, SpectrumFormatError(f"cannot read ({type(exc).__name__}: {exc})", path)
    return (spectra if isinstance(spectra, list) else [spectra]), None


def read_files(paths: Iterable[str | Path], chunk: int = 32) -> Iterator[Progress]:
    """Read spectrum files; each Progress payload is a list of ``(path, spectra or None, error or None)``."""
    files = expand_paths(paths)
    batch: list = []
    for i, path in enumerate(files, start=1):
        spectra, error = _read_one(path)
        batch.append((path, spectra, error))
        if len(batch) >= chunk or i == len(files):
            yield Progress(i, len(files), f"read {i} of {len(files)} files", payload=batch)
            batch = []


def model_residuals(labels: pd.DataFrame, spectra: list[Spectrum], grid: WavelengthGrid) -> np.ndarray | None:
    """RMS of (data − mock model at the labels) per spectrum on ``grid``; ``None`` without the mock model."""
    from raveview.gui.oddity import residual_rms

    models = model_spectra(labels, grid)
    if models is None:
        return None
    from raveview.core.preprocess import resample

    out = np.full(len(spectra), np.nan)
    for i, spectrum in enumerate(spectra):
        try:
            res = resample(spectrum, grid)
        except RaveviewError:
            continue
        out[i] = residual_rms(np.where(res.filled, np.nan, res.flux - models[i]))
    return out


def model_spectra(labels: pd.DataFrame, grid: WavelengthGrid) -> np.ndarray | None:
    """The mock survey's model spectra at ``labels`` (one row per star), or ``None`` when unavailable."""
    try:
        from raveview.mock.model import model_spectrum
    except ImportError:
        return None
    try:
        models = np.asarray(model_spectrum(labels.reset_index(drop=True), grid), dtype=float)
    except Exception:  # the overlay is optional; never break the window for it
        return None
    return models.reshape(len(labels), -1) if models.size == len(labels) * grid.n else None
