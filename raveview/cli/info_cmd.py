"""``raveview info FILE...``: what raveview sees in spectrum files.

For each spectrum: the file, the reader that took it, its ids, the number of
pixels, the wavelength range and step, the fraction of the model grid it
covers, the S/N (from the file, else the DER_SNR estimate marked "est.") and
the fraction of bad pixels. Folders, globs, path lists and multi-spectrum
files expand to one entry per spectrum. A bad file prints one
``raveview: error: ...`` line on stderr and the others go on; the exit code is
1 when any file or spectrum failed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import numpy as np

from raveview.core.errors import RaveviewError
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io import check_overlap, iter_spectra
from raveview.core.preprocess import estimate_snr, grid_coverage
from raveview.core.spectrum import Spectrum


@dataclass(frozen=True)
class SpectrumInfo:
    """The figures ``raveview info`` shows for one spectrum."""

    file: str
    index: int | None
    reader: str
    rave_obs_id: str | None
    source_id: int | None
    n_pixels: int
    wmin: float
    wmax: float
    step: float
    uniform: bool
    coverage: float
    snr: float
    snr_estimated: bool
    bad_fraction: float


def describe(path: Path, spectrum: Spectrum, index: int | None = None) -> SpectrumInfo:
    """Compute the :class:`SpectrumInfo` of one validated spectrum."""
    steps = np.diff(spectrum.wavelength)
    step = float(np.median(steps))
    snr, estimated = spectrum.snr, False
    if snr is None or not np.isfinite(snr):
        snr, estimated = estimate_snr(spectrum), True
    return SpectrumInfo(
        file=str(path),
        index=index,
        reader=str(spectrum.meta.get("reader", "?")),
        rave_obs_id=spectrum.rave_obs_id,
        source_id=spectrum.source_id,
        n_pixels=spectrum.n_pixels,
        wmin=float(spectrum.wavelength[0]),
        wmax=float(spectrum.wavelength[-1]),
        step=step,
        uniform=bool(np.allclose(steps, step, rtol=1e-4)),
        coverage=float(grid_coverage(spectrum, DEFAULT_GRID)),
        snr=float(snr),
        snr_estimated=estimated,
        bad_fraction=float(np.mean(spectrum.bad_pixels)),
    )


def _snr_text(info: SpectrumInfo) -> str:
    value = f"{info.snr:.1f}" if np.isfinite(info.snr) else "n/a"
    return f"{value} (est.)" if info.snr_estimated else value


def format_block(info: SpectrumInfo) -> str:
    """The multi-line block printed for one spectrum."""
    title = info.file if info.index is None else f"{info.file} [{info.index + 1}]"
    step = f"{info.step:.4g} Å" if info.uniform else f"≈{info.step:.4g} Å (median, non-uniform)"
    source_id = "–" if info.source_id is None else info.source_id
    return "\n".join(
        [
            title,
            f"  format      {info.reader}",
            f"  ids         rave_obs_id {info.rave_obs_id or '–'}, source_id {source_id}",
            f"  pixels      {info.n_pixels}, {info.wmin:.2f}–{info.wmax:.2f} Å, step {step}",
            f"  model grid  {info.coverage:.1%} of {DEFAULT_GRID.start:.2f}–{DEFAULT_GRID.end:.2f} Å covered",
            f"  S/N         {_snr_text(info)}",
            f"  bad pixels  {info.bad_fraction:.2%}",
        ]
    )


TABLE_HEADER = ("file", "#", "format", "rave_obs_id", "source_id", "n_pix", "wmin", "wmax", "step", "grid", "snr", "bad")


def format_row(info: SpectrumInfo) -> tuple[str, ...]:
    """The cells of the one-line-per-spectrum table."""
    return (
        info.file,
        "" if info.index is None else str(info.index + 1),
        info.reader,
        info.rave_obs_id or "-",
        "-" if info.source_id is None else str(info.source_id),
        str(info.n_pixels),
        f"{info.wmin:.2f}",
        f"{info.wmax:.2f}",
        f"{info.step:.4g}",
        f"{info.coverage:.1%}",
        _snr_text(info),
        f"{info.bad_fraction:.1%}",
    )


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``raveview info``."""
    parser = subparsers.add_parser(
        "info",
        help="describe spectrum files (format, ids, wavelengths, grid coverage, S/N)",
        description="Describe spectra: reader, ids, pixels, wavelength range and step, coverage of the "
        f"model grid ({DEFAULT_GRID}), S/N (from the file, else estimated) and bad pixels.",
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="FILE", help="spectrum files, folders, globs or .txt path lists"
    )
    parser.add_argument("--table", action="store_true", help="one tab-separated row per spectrum instead of blocks")
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the description of every spectrum; 1 if any failed, else 0."""
    failed = False
    if args.table:
        print("\t".join(TABLE_HEADER))
    for path, group in groupby(iter_spectra(args.inputs), key=lambda item: item[0]):
        items = list(group)
        for index, (_, spectrum, error) in enumerate(items):
            if error is None:
                try:
                    info = describe(path, spectrum, index if len(items) > 1 else None)
                    print("\t".join(format_row(info)) if args.table else format_block(info), flush=True)
                    check_overlap(spectrum, DEFAULT_GRID)
                except RaveviewError as exc:
                    error = exc
            if error is not None:
                failed = True
                print(f"raveview: error: {error}", file=sys.stderr, flush=True)
    return 1 if failed else 0
