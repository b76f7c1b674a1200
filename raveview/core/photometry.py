"""Photometry catalogs and the network's photometric inputs.

A photometry catalog (CSV, FITS or VOTable) is read with astropy/pandas and its
columns are mapped, case-insensitively, to the standard names
:data:`STANDARD_COLUMNS` (``rave_obs_id``, ``source_id``, ``parallax``,
``parallax_error``, the bands of :data:`raveview.core.labels.BANDS`, ``A_V``).
:func:`absolute_magnitudes` turns them into the nine photometric inputs
(M_G … M_W2, A_V) with per-star flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from raveview.core.errors import PhotometryError
from raveview.core.labels import BANDS, PHOTOMETRIC_INPUTS

#: Standard column → accepted names (compared case-insensitively). The standard name is accepted too.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "rave_obs_id": ("rave_obs_id", "obs_id", "raveid", "roi"),
    "source_id": (
        "source_id", "sourceid", "gaia_dr2_source_id", "dr2_source_id",
        "gaiadr2_source_id", "gaia_source_id",
    ),
    "parallax": ("parallax", "plx"),
    "parallax_error": ("parallax_error", "e_parallax", "e_plx"),
    "G": ("phot_g_mean_mag", "gmag"),
    "BP": ("phot_bp_mean_mag", "bpmag"),
    "RP": ("phot_rp_mean_mag", "rpmag"),
    "J": ("j_m", "jmag", "jmag_2mass"),
    "H": ("h_m", "hmag", "hmag_2mass"),
    "Ks": ("ks_m", "kmag", "ksmag", "kmag_2mass", "ksmag_2mass"),
    "W1": ("w1mpro", "wise1", "w1mag"),
    "W2": ("w2mpro", "wise2", "w2mag"),
    "A_V": ("av50", "a_v", "av"),
}
#: Standard column names in output order.
STANDARD_COLUMNS: tuple[str, ...] = tuple(COLUMN_ALIASES)
ID_COLUMNS: tuple[str, ...] = ("rave_obs_id", "source_id")

#: Published code: parallax clipped to >= 0.1 mas (1e-4 arcsec) before the distance modulus.
MIN_PARALLAX_MAS = 0.1
#: Relative parallax error above which a star is flagged (still usable).
MAX_RELATIVE_PARALLAX_ERROR = 0.20
#: The paper's training cut on the relative parallax error (Guiglion et al. 2020, Sect. 2).
TRAINING_MAX_PARALLAX_ERROR = 0.15
#: Magnitudes outside this range are sentinels for "missing" (99.99, -9999, ...).
MAGNITUDE_RANGE = (-50.0, 50.0)


@dataclass(frozen=True, eq=False)
class PhotometryInputs:
    """The nine photometric inputs of the network, per star.

    Parameters
    ----------
    values
        Shape ``(N, 9)`` float64 in :data:`PHOTOMETRIC_INPUTS` order; NaN where missing.
    usable
        Shape ``(N,)``: all eight bands and A_V present and parallax > 0.
    flags
        Per star, comma-joined reasons (``missing_band:W2``, ``missing_parallax``,
        ``parallax<=0``, ``parallax_clipped``, ``parallax_error>20%``, ``missing_A_V``);
        empty when clean.
    """

    values: np.ndarray
    usable: np.ndarray
    flags: list[str]

    columns: tuple[str, ...] = PHOTOMETRIC_INPUTS

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """The inputs as a DataFrame with ``usable`` and ``phot_flags`` columns."""
        frame = pd.DataFrame(self.values, columns=list(self.columns))
        frame["usable"] = self.usable
        frame["phot_flags"] = self.flags
        return frame


# --------------------------------------------------------------------------- reading


def _column_map(columns: Sequence[str]) -> dict[str, str]:
    """Original column → standard name, first alias match wins per standard name."""
    lower = {str(col).strip().lower(): col for col in columns}
    mapping: dict[str, str] = {}
    for standard, aliases in COLUMN_ALIASES.items():
        for alias in (standard.lower(),) + aliases:
            if alias in lower and lower[alias] not in mapping:
                mapping[lower[alias]] = standard
                break
    return mapping


def to_int64_ids(values: pd.Series) -> pd.Series:
    """Gaia ids as nullable Int64, exactly (no float round trip)."""
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("Int64")
    out = []
    for value in values:
        if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
            out.append(pd.NA)
            continue
        text = str(value).strip()
        if text in ("", "--", "nan", "NaN", "None", "<NA>"):
            out.append(pd.NA)
        else:
            out.append(int(float(text)) if ("e" in text.lower() or "." in text) else int(text))
    return pd.Series(pd.array(out, dtype="Int64"), index=values.index)


def _id_text(value: object) -> str | None:
    """A RAVE obs id as stripped text (bytes decoded), None when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    text = str(value).strip()
    return text or None


def standardise_columns(frame: pd.DataFrame, source: str | PathLike[str] | None = None) -> pd.DataFrame:
    """Map a table's columns to the standard names and types.

    Parameters
    ----------
    frame
        Any table with photometry columns (Gaia, 2MASS, ALLWISE, StarHorse names).
    source
        The file it came from (for error messages).

    Returns
    -------
    pandas.DataFrame
        Only the recognised columns, renamed to :data:`STANDARD_COLUMNS` (in that
        order): ``rave_obs_id`` as str, ``source_id`` as nullable Int64, the rest
        float64 (NaN where missing or a sentinel).

    Raises
    ------
    PhotometryError
        When none of the magnitude columns is present.
    """
    mapping = _column_map(list(frame.columns))
    found = set(mapping.values())
    if not found & set(BANDS):
        raise PhotometryError(
            "no magnitude columns found (need " + ", ".join(BANDS) + "; e.g. phot_g_mean_mag, j_m, w1mpro)",
            source,
        )
    out = pd.DataFrame(index=frame.index)
    for original, standard in mapping.items():
        column = frame[original]
        if standard == "rave_obs_id":
            out[standard] = column.map(_id_text).astype(object)
        elif standard == "source_id":
            try:
                out[standard] = to_int64_ids(column)
            except (TypeError, ValueError):
                raise PhotometryError(f"column {original!r} holds non-integer Gaia source ids", source) from None
        else:
            values = pd.to_numeric(column, errors="coerce").astype(np.float64)
            if standard in BANDS:
                lo, hi = MAGNITUDE_RANGE
                values = values.where((values > lo) & (values < hi))
            out[standard] = values
    return out[[c for c in STANDARD_COLUMNS if c in out.columns]].reset_index(drop=True)


def _read_table(path: Path) -> pd.DataFrame:
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    if suffix in (".csv", ".txt", ".dat", ".csv.gz", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        header = pd.read_csv(path, nrows=0, skipinitialspace=True, sep=sep, comment="#")
        id_like = {c: str for c, s in _column_map(list(header.columns)).items() if s in ID_COLUMNS}
        return pd.read_csv(path, skipinitialspace=True, dtype=id_like, comment="#", sep=sep)
    from astropy.table import Table

    table = Table.read(path, format="votable" if suffix in (".vot", ".xml", ".votable") else None)
    for name in table.colnames:
        if getattr(table[name], "ndim", 1) > 1:
            table.remove_column(name)
    table.convert_bytestring_to_unicode()
    return table.to_pandas()


def read_photometry(
    path: str | PathLike[str],
    ids: pd.DataFrame | str | PathLike[str] | None = None,
) -> pd.DataFrame:
    """Read a photometry catalog (CSV, FITS, VOTable) into standard columns.

    Parameters
    ----------
    path
        The catalog file.
    ids
        Optional table (or CSV file) row-aligned with the catalog whose
        ``rave_obs_id`` / ``source_id`` columns are attached, for catalogs
        without ids (e.g. the published ``training_sample_parameters.csv``,
        aligned with ``training_sample_labels.csv``).

    Returns
    -------
    pandas.DataFrame
        See :func:`standardise_columns`.

    Raises
    ------
    PhotometryError
        When the file cannot be read, has no magnitude columns, or ``ids`` has
        another number of rows.
    """
    path = Path(path)
    if not path.is_file():
        raise PhotometryError("no such file", path)
    try:
        frame = _read_table(path)
    except PhotometryError:
        raise
    except Exception as exc:
        raise PhotometryError(f"cannot read as a table ({' '.join(str(exc).split())[:150]})", path) from None
    table = standardise_columns(frame, path)
    if ids is not None:
        id_frame = ids if isinstance(ids, pd.DataFrame) else pd.read_csv(ids, dtype=str, skipinitialspace=True)
        if len(id_frame) != len(table):
            raise PhotometryError(f"has {len(table)} rows but the id table has {len(id_frame)}", path)
        mapping = {o: s for o, s in _column_map(list(id_frame.columns)).items() if s in ID_COLUMNS}
        if not mapping:
            raise PhotometryError("the id table has no rave_obs_id or source_id column", path)
        for original, standard in mapping.items():
            column = id_frame[original].reset_index(drop=True)
            table[standard] = to_int64_ids(column) if standard == "source_id" else column.map(_id_text)
        table = table[[c for c in STANDARD_COLUMNS if c in table.columns]]
    return table


# --------------------------------------------------------------------------- inputs


def relative_parallax_error(table: pd.DataFrame) -> np.ndarray:
    """``parallax_error / parallax`` per row; NaN where either is missing or the parallax is not positive."""
    n = len(table)
    parallax = table["parallax"].to_numpy(np.float64) if "parallax" in table else np.full(n, np.nan)
    error = table["parallax_error"].to_numpy(np.float64) if "parallax_error" in table else np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(parallax > 0, error / parallax, np.nan)


def absolute_magnitudes(table: pd.DataFrame, clip_parallax: bool = True) -> PhotometryInputs:
    """The nine photometric network inputs with per-star flags.

    ``M = m + 5 (log10(parallax_mas / 1000) + 1)`` for G, BP, RP, J, H, Ks, W1, W2;
    A_V is passed through (not applied to the magnitudes), as in the published code.

    Parameters
    ----------
    table
        Standardised photometry (:func:`read_photometry`); other column names are
        standardised first.
    clip_parallax
        Clip the parallax to >= 0.1 mas as the published code does (flagged
        ``parallax_clipped``); when False, stars with parallax <= 0 get NaN.

    Returns
    -------
    PhotometryInputs
    """
    if not set(BANDS) & set(table.columns) or "parallax" not in table.columns:
        table = standardise_columns(table)
    n = len(table)
    nan = np.full(n, np.nan)
    parallax = table["parallax"].to_numpy(np.float64) if "parallax" in table else nan
    reasons: list[list[str]] = [[] for _ in range(n)]

    missing_plx = ~np.isfinite(parallax)
    nonpositive = np.isfinite(parallax) & (parallax <= 0)
    clipped = np.isfinite(parallax) & (parallax < MIN_PARALLAX_MAS)
    with np.errstate(invalid="ignore", divide="ignore"):
        large_error = relative_parallax_error(table) > MAX_RELATIVE_PARALLAX_ERROR
        used_plx = np.maximum(parallax, MIN_PARALLAX_MAS) if clip_parallax else np.where(parallax > 0, parallax, np.nan)
        modulus = 5.0 * (np.log10(used_plx / 1000.0) + 1.0)

    values = np.full((n, len(PHOTOMETRIC_INPUTS)), np.nan)
    present = np.ones(n, dtype=bool)
    for k, band in enumerate(BANDS):
        mags = table[band].to_numpy(np.float64) if band in table else nan
        values[:, k] = mags + modulus
        missing = ~np.isfinite(mags)
        present &= ~missing
        for i in np.nonzero(missing)[0]:
            reasons[i].append(f"missing_band:{band}")
    av = table["A_V"].to_numpy(np.float64) if "A_V" in table else nan
    values[:, -1] = av
    missing_av = ~np.isfinite(av)
    for flag, rows in (
        ("missing_A_V", missing_av),
        ("missing_parallax", missing_plx),
        ("parallax<=0", nonpositive),
        ("parallax_clipped", clipped & clip_parallax),
        ("parallax_error>20%", large_error),
    ):
        for i in np.nonzero(rows)[0]:
            reasons[i].append(flag)
    usable = present & ~missing_av & np.isfinite(parallax) & (parallax > 0)
    return PhotometryInputs(values=values, usable=usable, flags=[",".join(r) for r in reasons])


class PhotometryIndex:
    """A photometry table with its id lookups built once, for many joins.

    A survey run joins every chunk of spectra to the same table; building the
    lookups (drop missing ids and duplicates, hash the ids) once instead of per
    chunk keeps the join's cost proportional to the chunk, not to the table.

    Parameters
    ----------
    photometry
        Standardised photometry (:func:`read_photometry`). Not copied: do not modify it afterwards.
    """

    def __init__(self, photometry: pd.DataFrame) -> None:
        self.table = photometry
        self.data_columns = [c for c in photometry.columns if c not in ID_COLUMNS]
        self._lookups: dict[str, tuple[pd.Index, np.ndarray]] = {}
        for key in ID_COLUMNS:
            if key in photometry:
                right = photometry.dropna(subset=[key]).drop_duplicates(subset=[key], keep="first")
                self._lookups[key] = (pd.Index(right[key]), right[self.data_columns].to_numpy(np.float64))

    def __len__(self) -> int:
        return len(self.table)

    def join(self, ids_table: pd.DataFrame) -> pd.DataFrame:
        """See :func:`join_photometry`."""
        id_map = {o: s for o, s in _column_map(list(ids_table.columns)).items() if s in ID_COLUMNS}
        left = pd.DataFrame(index=range(len(ids_table)))
        for original, standard in id_map.items():
            column = ids_table[original].reset_index(drop=True)
            left[standard] = to_int64_ids(column) if standard == "source_id" else column.map(_id_text)
        values = np.full((len(left), len(self.data_columns)), np.nan)
        how = np.full(len(left), "", dtype=object)
        matched = np.zeros(len(left), dtype=bool)
        for key in ID_COLUMNS:
            if key not in left or key not in self._lookups:
                continue
            index, data = self._lookups[key]
            keys = left[key]
            todo = np.nonzero(~matched & keys.notna().to_numpy())[0]
            if not len(todo):
                continue
            position = index.get_indexer(keys.iloc[todo])
            found = position >= 0
            rows = todo[found]
            values[rows] = data[position[found]]
            how[rows] = key
            matched[rows] = True
        result = left.copy()
        result[self.data_columns] = values
        result["phot_match"] = how.astype(str)
        return result


def join_photometry(ids_table: pd.DataFrame, photometry: pd.DataFrame | PhotometryIndex) -> pd.DataFrame:
    """Attach photometry to a table of stars, by RAVE obs id, else by Gaia source id.

    Parameters
    ----------
    ids_table
        One row per star with ``rave_obs_id`` and/or ``source_id`` (any accepted alias).
    photometry
        Standardised photometry (:func:`read_photometry`), or a :class:`PhotometryIndex`
        of it (faster when the same table is joined many times).

    Returns
    -------
    pandas.DataFrame
        Row-aligned with ``ids_table`` (same length and order): its id columns,
        the photometry columns (NaN where no match) and ``phot_match``
        (``"rave_obs_id"``, ``"source_id"`` or ``""``).
    """
    index = photometry if isinstance(photometry, PhotometryIndex) else PhotometryIndex(photometry)
    return index.join(ids_table)
