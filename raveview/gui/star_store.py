"""The table of open stars behind the list and the diagrams (Qt-free).

One row per opened spectrum (or per catalog row), in the order they were
opened; a row's position in :attr:`StarStore.frame` is its id everywhere in the
GUI. Label columns stay NaN until a prediction fills them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from raveview.core.catalog_schema import ALL_COLUMNS
from raveview.core.labels import LABEL_KEYS
from raveview.core.spectrum import Spectrum

#: Columns the GUI adds to the catalog columns.
GUI_COLUMNS: tuple[str, ...] = ("name", "n_obs", "residual", "oddity", "user_flag", "user_note")
TEXT_COLUMNS = {"rave_obs_id", "source_file", "model_id", "ensemble", "phot_flags", "quality_flags",
                "name", "user_flag", "user_note"}
INT_FLAG_COLUMNS = tuple(f"flag_{key}" for key in LABEL_KEYS)


def empty_frame(n: int = 0) -> pd.DataFrame:
    """A frame of ``n`` rows with every catalog and GUI column, labels NaN."""
    data: dict[str, object] = {}
    for col in ALL_COLUMNS + GUI_COLUMNS:
        if col in TEXT_COLUMNS:
            data[col] = np.full(n, "", dtype=object)
        elif col == "sourceid":
            data[col] = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64"); data[col][:] = pd.NA
        elif col in INT_FLAG_COLUMNS:
            data[col] = np.zeros(n, dtype=np.int8)
        elif col in ("photometry_used", "disagreement"):
            data[col] = np.zeros(n, dtype=bool)
        elif col == "n_obs":
            data[col] = np.ones(n, dtype=np.int32)
        else:
            data[col] = np.full(n, np.nan)
    return pd.DataFrame(data)


def rows_from_spectra(spectra: Sequence[Spectrum]) -> pd.DataFrame:
    """Catalog rows (labels NaN) describing ``spectra``."""
    frame = empty_frame(len(spectra))
    frame["name"] = [s.name for s in spectra]
    frame["rave_obs_id"] = [s.rave_obs_id or "" for s in spectra]
    frame["sourceid"] = pd.array([s.source_id for s in spectra], dtype="Int64")
    frame["snr"] = [np.nan if s.snr is None else float(s.snr) for s in spectra]
    frame["source_file"] = ["" if s.source_file is None else str(s.source_file) for s in spectra]
    return frame


def normalise_catalog(table: pd.DataFrame) -> pd.DataFrame:
    """A results table from a catalog file or a prediction, completed with every column."""
    frame = empty_frame(len(table))
    for col in table.columns:
        if col in frame.columns:
            if col == "sourceid":
                frame[col] = pd.array(pd.to_numeric(table[col], errors="coerce"), dtype="Int64")
            elif col in TEXT_COLUMNS:
                frame[col] = table[col].fillna("").astype(str).to_numpy(dtype=object)
            else:
                frame[col] = table[col].to_numpy()
    if "name" not in table.columns:
        names = frame["rave_obs_id"].to_numpy(dtype=object).copy()
        missing = names == ""
        names[missing] = [f"row {i}" for i in np.flatnonzero(missing)]
        frame["name"] = names
    return frame


class StarStore:
    """Rows of open stars plus the spectra that were opened for them.

    Attributes
    ----------
    frame
        One row per star (catalog + GUI columns); the position is the row id.
    spectra
        Row id → the spectrum read for that row (absent for catalog-only rows).
    """

    def __init__(self) -> None:
        self.frame = empty_frame()
        self.spectra: dict[int, Spectrum] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def add_spectra(self, spectra: Sequence[Spectrum]) -> np.ndarray:
        """Append rows for ``spectra``; returns their row ids."""
        return self.add_rows(rows_from_spectra(spectra), spectra)

    def add_rows(self, rows: pd.DataFrame, spectra: Sequence[Spectrum] | None = None) -> np.ndarray:
        """Append catalog rows (and their spectra, if any); returns their row ids."""
        start = len(self.frame)
        rows = normalise_catalog(rows) if list(rows.columns) != list(self.frame.columns) else rows
        self.frame = rows.reset_index(drop=True) if start == 0 else pd.concat(
            [self.frame, rows], ignore_index=True)
        ids = np.arange(start, start + len(rows))
        for row, spectrum in zip(ids, spectra or ()):
            self.spectra[int(row)] = spectrum
        self.update_groups()
        return ids

    def set_results(self, row_ids: Iterable[int], results: pd.DataFrame) -> None:
        """Write predicted catalog columns of ``results`` into rows ``row_ids`` (same order)."""
        row_ids = np.asarray(list(row_ids), dtype=np.int64)
        skip = {"name", "source_file", "rave_obs_id", "sourceid"}  # ids come from the opened file
        for col in results.columns:
            if col not in self.frame.columns or col in skip:
                continue
            values = results[col]
            if col in TEXT_COLUMNS:
                values = values.fillna("").astype(str).to_numpy(dtype=object)
            elif col in INT_FLAG_COLUMNS:
                values = np.nan_to_num(pd.to_numeric(values, errors="coerce").to_numpy(float)).astype(np.int8)
            elif self.frame[col].dtype == bool:
                values = values.fillna(False).astype(bool).to_numpy()
            else:
                values = pd.to_numeric(values, errors="coerce").to_numpy(float)
            column = self.frame[col].to_numpy().copy()
            column[row_ids] = values
            self.frame[col] = column
        self.update_groups()

    def update_groups(self) -> None:
        """Recount ``n_obs``: rows sharing a Gaia source id are repeat observations of one star."""
        ids = self.frame["sourceid"]
        counts = ids.map(ids.value_counts()).fillna(1).to_numpy(dtype=np.int32)
        self.frame["n_obs"] = counts

    def repeats_of(self, row: int) -> np.ndarray:
        """Row ids of every observation of the star in ``row`` (itself included)."""
        sid = self.frame["sourceid"].iloc[row]
        if pd.isna(sid):
            return np.array([row])
        return np.flatnonzero((self.frame["sourceid"] == sid).fillna(False).to_numpy())

    def label_spread(self, row: int) -> dict[str, float]:
        """Standard deviation of each label over the repeat observations of ``row``'s star."""
        rows = self.repeats_of(row)
        if rows.size < 2:
            return {}
        sub = self.frame.iloc[rows]
        return {key: float(np.nanstd(sub[key].to_numpy(dtype=float))) for key in LABEL_KEYS
                if np.isfinite(sub[key].to_numpy(dtype=float)).sum() >= 2}

    def labels_of(self, row: int) -> dict[str, float]:
        """Predicted label values of ``row`` (NaN before prediction)."""
        rec = self.frame.iloc[row]
        return {key: float(rec[key]) for key in LABEL_KEYS}

    def has_labels(self) -> np.ndarray:
        """Boolean per row: the row has predicted labels."""
        return np.isfinite(self.frame["teff"].to_numpy(dtype=float))
