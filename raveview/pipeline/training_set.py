"""Building a training set from survey files: RAVE DR6 × APOGEE DR16 (Sect. 2 of the paper).

RAVE DR6 observations are cross-matched with the APOGEE DR16 allStar table by
Gaia DR2 source id and cleaned with the paper's cuts, in this order:

1. a Gaia DR2 source id in APOGEE DR16 (one APOGEE entry per source: one that
   passes the APOGEE cuts if any, else the highest-S/N one);
2. all nine APOGEE labels present (not NaN, not -9999);
3. APOGEE ``SNR`` >= 60;
4. ``ASPCAPFLAG`` = 0;
5. ``X_FE_FLAG`` = 0 for Fe, Si, Mg, Al, Ni (and ``ALPHA_M_FLAG``), where present;
6. RAVE S/N > 30;
7. RAVE classification not ``c``, ``b`` or ``w``;
8. all eight magnitudes and a positive parallax;
9. parallax error < 15 %;
10. StarHorse A_V present;
11. a spectrum file for the observation.

The output folder holds ``labels.csv``, ``photometry.csv`` and ``spectra.txt``
(row-aligned) and ``cuts.csv``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from raveview.core.errors import RaveviewError, TrainingDataError
from raveview.core.labels import BANDS, LABELS
from raveview.core.photometry import (
    COLUMN_ALIASES,
    TRAINING_MAX_PARALLAX_ERROR,
    join_photometry,
    read_photometry,
    relative_parallax_error,
    to_int64_ids,
)
from raveview.core.progress import Progress

#: APOGEE DR16 allStar label columns, in catalog order.
APOGEE_LABELS: tuple[str, ...] = tuple(label.apogee for label in LABELS)
#: Per-element flag columns that must be 0 (those absent from a table are skipped).
APOGEE_FLAGS: tuple[str, ...] = ("FE_H_FLAG", "SI_FE_FLAG", "MG_FE_FLAG", "AL_FE_FLAG", "NI_FE_FLAG", "ALPHA_M_FLAG")
APOGEE_ID = "GAIA_SOURCE_ID"
#: Accepted names of the RAVE S/N column.
RAVE_SNR_COLUMNS: tuple[str, ...] = ("snr_med_sparv", "snr", "snr_med", "stn")
#: Accepted names of the RAVE classification column.
RAVE_CLASS_COLUMNS: tuple[str, ...] = ("rave_class", "class_flag_bdasp", "flag1_class", "class_flag", "flag1")
#: Values below this are APOGEE's "missing" sentinel (-9999).
MISSING_SENTINEL = -9000.0


@dataclass(frozen=True)
class Cuts:
    """The thresholds of the training-sample selection (defaults: the paper's).

    Parameters
    ----------
    min_apogee_snr
        Keep APOGEE entries with ``SNR >= min_apogee_snr``.
    min_rave_snr
        Keep RAVE spectra with S/N strictly above this.
    bad_classes
        RAVE DR6 classification codes to drop (first letter of the class value).
    max_parallax_error
        Keep stars with ``parallax_error / parallax`` strictly below this; None skips the cut.
    class_column
        The RAVE classification column; by default the first of :data:`RAVE_CLASS_COLUMNS` present.
    """

    min_apogee_snr: float = 60.0
    min_rave_snr: float = 30.0
    bad_classes: tuple[str, ...] = ("c", "b", "w")
    max_parallax_error: float | None = TRAINING_MAX_PARALLAX_ERROR
    class_column: str | None = None


@dataclass
class TrainingSetResult:
    """What :func:`build_training_set` wrote.

    Attributes
    ----------
    out_dir
        The output folder.
    cuts
        ``(cut, removed, remaining)`` per step, the first being the input count.
    n_stars
        Rows of the training set.
    files
        The written files by name.
    """

    out_dir: Path
    cuts: list[tuple[str, int, int]]
    n_stars: int
    files: dict[str, Path] = field(default_factory=dict)


# --------------------------------------------------------------------------- tables


def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def read_table(path: str | PathLike[str], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a FITS, VOTable, CSV or Parquet table, keeping only ``columns`` when given.

    Column names are matched case-insensitively and returned as in the file;
    multi-dimensional FITS columns (APOGEE's ``PARAM`` arrays) are skipped, and
    only the wanted columns of a large FITS table are read (memory-mapped).

    Raises
    ------
    TrainingDataError
        When the file is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainingDataError("no such file", path)
    name = path.name.lower()
    wanted = {c.lower() for c in columns} if columns else None
    try:
        if name.endswith((".csv", ".csv.gz", ".txt")):
            return pd.read_csv(
                path, skipinitialspace=True, comment="#", dtype=str,
                usecols=(lambda c: str(c).strip().lower() in wanted) if wanted else None,
            ).rename(columns=lambda c: str(c).strip())
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
            return frame[[c for c in frame.columns if wanted is None or c.lower() in wanted]]
        if name.endswith((".fits", ".fit", ".fits.gz", ".fts")):
            return _read_fits_columns(path, wanted)
        from astropy.table import Table

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = Table.read(path, format="votable" if name.endswith((".vot", ".xml", ".votable")) else None)
        keep = [c for c in table.colnames if (wanted is None or c.lower() in wanted) and table[c].ndim == 1]
        table = table[keep]
        table.convert_bytestring_to_unicode()
        return table.to_pandas()
    except RaveviewError:
        raise
    except Exception as exc:
        raise TrainingDataError(f"cannot read as a table ({' '.join(str(exc).split())[:150]})", path) from None


def _read_fits_columns(path: Path, wanted: set[str] | None) -> pd.DataFrame:
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=True) as hdul:
            hdu = next((h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
            if hdu is None:
                raise TrainingDataError("holds no table extension", path)
            data = {}
            for col in hdu.columns:
                if wanted is not None and col.name.lower() not in wanted:
                    continue
                values = np.asarray(hdu.data[col.name])
                if values.ndim != 1:
                    continue
                if values.dtype.kind == "S":
                    values = np.char.decode(values, "ascii", errors="replace")
                    values = np.char.strip(values)
                data[col.name] = values.astype(values.dtype.newbyteorder("=")) if values.dtype.kind in "iuf" else values
    return pd.DataFrame(data)


def _numeric(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    if column is None:
        return np.full(len(frame), np.nan)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64)
    return np.where(values < MISSING_SENTINEL, np.nan, values)


def _ids(frame: pd.DataFrame, column: str | None, path: Path) -> pd.Series:
    if column is None:
        return pd.Series(pd.array([pd.NA] * len(frame), dtype="Int64"))
    try:
        ids = to_int64_ids(frame[column].reset_index(drop=True))
    except (TypeError, ValueError):
        raise TrainingDataError(f"column {column!r} holds non-integer Gaia source ids", path) from None
    return ids.where(ids.isna() | (ids > 0), pd.NA)


# --------------------------------------------------------------------------- selection


def read_apogee(path: str | PathLike[str]) -> pd.DataFrame:
    """The needed APOGEE DR16 allStar columns as ``source_id``, ``SNR``, ``ASPCAPFLAG``, labels and flags.

    Raises
    ------
    TrainingDataError
        When the Gaia id, SNR, ASPCAPFLAG or a label column is missing.
    """
    path = Path(path)
    needed = (APOGEE_ID, "SNR", "ASPCAPFLAG") + APOGEE_LABELS
    raw = read_table(path, needed + APOGEE_FLAGS)
    missing = [c for c in needed if _find(raw.columns, [c]) is None]
    if missing:
        raise TrainingDataError("APOGEE table lacks column(s) " + ", ".join(missing), path)
    out = pd.DataFrame({"source_id": _ids(raw, _find(raw.columns, [APOGEE_ID]), path)})
    for name in ("SNR", "ASPCAPFLAG") + APOGEE_LABELS + APOGEE_FLAGS:
        column = _find(raw.columns, [name])
        if column is not None:
            out[name] = _numeric(raw, column)
    return out


def read_rave(path: str | PathLike[str], class_column: str | None = None) -> pd.DataFrame:
    """The RAVE DR6 catalog as ``rave_obs_id``, ``source_id``, ``snr`` and ``rave_class``.

    Raises
    ------
    TrainingDataError
        When the obs id, Gaia id, S/N or (requested) class column is missing.
    """
    path = Path(path)
    raw = read_table(path)
    obs = _find(raw.columns, COLUMN_ALIASES["rave_obs_id"])
    gaia = _find(raw.columns, COLUMN_ALIASES["source_id"])
    snr = _find(raw.columns, RAVE_SNR_COLUMNS)
    klass = _find(raw.columns, [class_column] if class_column else RAVE_CLASS_COLUMNS)
    for label, found in (("rave_obs_id", obs), ("Gaia DR2 source_id", gaia), ("S/N (snr_med_sparv)", snr)):
        if found is None:
            raise TrainingDataError(f"RAVE catalog lacks a {label} column", path)
    if class_column and klass is None:
        raise TrainingDataError(f"RAVE catalog lacks the class column {class_column!r}", path)
    out = pd.DataFrame(
        {
            "rave_obs_id": [None if pd.isna(v) else str(v).strip() for v in raw[obs]],
            "source_id": _ids(raw, gaia, path),
            "rave_snr": _numeric(raw, snr),
        }
    )
    out["rave_class"] = "" if klass is None else ["" if pd.isna(v) else str(v).strip() for v in raw[klass]]
    return out


def _apogee_good(apogee: pd.DataFrame, cuts: Cuts) -> list[tuple[str, np.ndarray]]:
    """The APOGEE cuts as (name, passes) over the APOGEE rows."""
    labels = np.all(np.isfinite(apogee[list(APOGEE_LABELS)].to_numpy(np.float64)), axis=1)
    snr = apogee["SNR"].to_numpy(np.float64) >= cuts.min_apogee_snr
    aspcap = apogee["ASPCAPFLAG"].to_numpy(np.float64) == 0
    flags = np.ones(len(apogee), dtype=bool)
    for name in APOGEE_FLAGS:
        if name in apogee:
            flags &= apogee[name].to_numpy(np.float64) == 0
    present = [n for n in APOGEE_FLAGS if n in apogee] or ["none present"]
    return [
        ("APOGEE: all 9 labels present", labels),
        (f"APOGEE: SNR >= {cuts.min_apogee_snr:g}", snr),
        ("APOGEE: ASPCAPFLAG = 0", aspcap),
        ("APOGEE: X_FE_FLAG = 0 (" + ", ".join(present) + ")", flags),
    ]


def _index_spectra(folder: Path, wanted: set[str]) -> Generator[Progress, None, dict[str, Path]]:
    """Map RAVE obs ids to spectrum files: by file name first, else by the ``ROI`` header keyword."""
    from raveview.core.io import expand_inputs

    if not folder.is_dir():
        raise TrainingDataError("spectra folder does not exist", folder)
    files = expand_inputs([folder])
    found: dict[str, Path] = {}
    for done, path in enumerate(files, start=1):
        stem = path.name.split(".")[0]
        obs_id = stem if stem in wanted else _header_obs_id(path)
        if obs_id in wanted and obs_id not in found:
            found[obs_id] = path
        if done % 200 == 0 or done == len(files):
            yield Progress(done, len(files), f"indexed {done} spectrum files")
    return found


def _header_obs_id(path: Path) -> str | None:
    """The RAVE obs id in a FITS primary header (``ROI``/``RAVE_OBS_ID``), else None."""
    if not path.name.lower().endswith((".fits", ".fit", ".fits.gz", ".fts")):
        return None
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = fits.getheader(path, 0)
    except Exception:
        return None
    value = header.get("ROI") or header.get("RAVE_OBS_ID") or header.get("RAVEID")
    return str(value).strip() if value else None


def build_training_set(
    spectra_dir: str | PathLike[str],
    rave_catalog: str | PathLike[str],
    apogee_allstar: str | PathLike[str],
    photometry: str | PathLike[str],
    out_dir: str | PathLike[str],
    cuts: Cuts = Cuts(),
) -> Generator[Progress, None, TrainingSetResult]:
    """Select and write a RAVE × APOGEE training set (generator; returns the result).

    Parameters
    ----------
    spectra_dir
        Folder of RAVE DR6 spectrum files (searched recursively).
    rave_catalog
        RAVE DR6 catalog (``rave_obs_id``, ``source_id``/``gaiadr2_source_id``,
        ``snr_med_sparv``, a classification column).
    apogee_allstar
        APOGEE DR16 allStar table (``GAIA_SOURCE_ID``, ``SNR``, ``ASPCAPFLAG``,
        ``TEFF`` ... ``NI_FE``, ``*_FLAG``).
    photometry
        Photometry table (Gaia, 2MASS, ALLWISE, parallax, parallax_error, A_V),
        joined by ``rave_obs_id``, else Gaia source id.
    out_dir
        Output folder (created).
    cuts
        The selection thresholds.

    Yields
    ------
    Progress

    Returns
    -------
    TrainingSetResult
        Also written: ``labels.csv``, ``photometry.csv``, ``spectra.txt``, ``cuts.csv``.
    """
    out_dir = Path(out_dir)
    total_steps = 5
    yield Progress(0, total_steps, "reading the RAVE catalog")
    rave = read_rave(rave_catalog, cuts.class_column)
    yield Progress(1, total_steps, "reading the APOGEE table")
    apogee = read_apogee(apogee_allstar)
    yield Progress(2, total_steps, "reading the photometry")
    phot = read_photometry(photometry)
    if cuts.max_parallax_error is not None and "parallax_error" not in phot:
        raise TrainingDataError("photometry has no parallax_error column (needed for the parallax-error cut)",
                                photometry)

    report: list[tuple[str, int, int]] = [("RAVE DR6 observations", 0, len(rave))]
    keep = np.ones(len(rave), dtype=bool)

    def apply(name: str, passes: np.ndarray) -> None:
        nonlocal keep
        before = int(keep.sum())
        keep = keep & passes
        report.append((name, before - int(keep.sum()), int(keep.sum())))

    # 1. cross-match: one APOGEE entry per Gaia id, preferring one that passes every APOGEE cut
    apogee_cuts = _apogee_good(apogee, cuts)
    all_good = np.logical_and.reduce([passes for _, passes in apogee_cuts])
    ranked = apogee.assign(_good=all_good, _snr=np.nan_to_num(apogee["SNR"].to_numpy(np.float64), nan=-1.0))
    ranked = ranked.dropna(subset=["source_id"]).sort_values(["_good", "_snr"], ascending=False, kind="stable")
    best = ranked.drop_duplicates(subset=["source_id"], keep="first").reset_index(drop=True)
    rave_ids = rave["source_id"].fillna(-1).to_numpy(np.int64)
    position = pd.Index(best["source_id"].to_numpy(np.int64)).get_indexer(rave_ids)
    position[rave_ids < 0] = -1
    apply("cross-match with APOGEE DR16 by Gaia DR2 source_id", position >= 0)
    rows = best.reindex(position).reset_index(drop=True)  # position -1 → a row of NaN
    for name, passes in _apogee_good(rows, cuts):
        apply(name, passes)

    # RAVE cuts
    apply(f"RAVE: S/N > {cuts.min_rave_snr:g}", rave["rave_snr"].to_numpy(np.float64) > cuts.min_rave_snr)
    bad = {c.lower() for c in cuts.bad_classes}
    classes = rave["rave_class"].str.lower().str[:1].fillna("")
    apply("RAVE: class not " + "/".join(cuts.bad_classes), ~classes.isin(bad).to_numpy())

    # photometry cuts
    yield Progress(3, total_steps, "joining the photometry")
    joined = join_photometry(rave[["rave_obs_id", "source_id"]], phot)
    mags = joined[[b for b in BANDS if b in joined]].to_numpy(np.float64)
    parallax = joined["parallax"].to_numpy(np.float64) if "parallax" in joined else np.full(len(rave), np.nan)
    complete = (mags.shape[1] == len(BANDS)) & np.all(np.isfinite(mags), axis=1) & (parallax > 0)
    apply("photometry: 8 magnitudes and parallax > 0", complete)
    if cuts.max_parallax_error is not None:
        apply(f"parallax error < {cuts.max_parallax_error:.0%}",
              relative_parallax_error(joined) < cuts.max_parallax_error)
    av = joined["A_V"].to_numpy(np.float64) if "A_V" in joined else np.full(len(rave), np.nan)
    apply("A_V present", np.isfinite(av))

    # spectrum files
    wanted = set(rave.loc[keep, "rave_obs_id"].dropna())
    files = yield from _index_spectra(Path(spectra_dir), wanted)
    apply("spectrum file found", rave["rave_obs_id"].isin(set(files)).to_numpy())

    yield Progress(4, total_steps, "writing the training set")
    result = _write(out_dir, rave[keep], rows[keep], joined[keep], files, report)
    yield Progress(total_steps, total_steps, f"{result.n_stars} stars written to {out_dir}", payload=result)
    return result


def _write(
    out_dir: Path,
    rave: pd.DataFrame,
    apogee: pd.DataFrame,
    phot: pd.DataFrame,
    files: dict[str, Path],
    report: list[tuple[str, int, int]],
) -> TrainingSetResult:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainingDataError(f"cannot create the output folder ({exc.strerror})", out_dir) from None
    labels = pd.DataFrame({"rave_obs_id": rave["rave_obs_id"].to_numpy(), "source_id": rave["source_id"].to_numpy()})
    for name in APOGEE_LABELS:
        labels[name] = apogee[name].to_numpy()
    phot_cols = ["parallax", "parallax_error"] + list(BANDS) + ["A_V"]
    photometry = labels[["rave_obs_id", "source_id"]].copy()
    for name in phot_cols:
        photometry[name] = phot[name].to_numpy() if name in phot else np.nan
    written = {
        "labels.csv": _write_csv(labels, out_dir / "labels.csv"),
        "photometry.csv": _write_csv(photometry, out_dir / "photometry.csv"),
        "cuts.csv": _write_csv(pd.DataFrame(report, columns=["cut", "removed", "remaining"]), out_dir / "cuts.csv"),
    }
    lines = ["# spectrum files, row-aligned with labels.csv (paths relative to this folder)"]
    lines += [_relative(files[obs_id], out_dir) for obs_id in labels["rave_obs_id"]]
    written["spectra.txt"] = _write_text("\n".join(lines) + "\n", out_dir / "spectra.txt")
    return TrainingSetResult(out_dir=out_dir, cuts=report, n_stars=len(labels), files=written)


def _relative(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path.resolve())


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return _atomic(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))


def _write_text(text: str, path: Path) -> Path:
    return _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _atomic(path: Path, write: Callable[[Path], object]) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TrainingDataError(f"cannot write ({exc.strerror})", path) from None
    return path
