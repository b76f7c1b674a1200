"""Columns of the results catalog: names, types, units and descriptions.

The first 30 columns are Table 1 of Guiglion et al. (2020), with the exact
names, in order. raveview's own columns follow them. Each column has a pandas
type (:data:`COLUMN_TYPES`, enforced by
:func:`raveview.core.catalog.enforce_schema`), label values and errors a unit
(:data:`COLUMN_UNITS`) and every schema column a one-line description
(:data:`COLUMN_DESCRIPTIONS`), which the catalog writers store in the file.
"""

from __future__ import annotations

from raveview.core.labels import LABEL_KEYS, LABELS_BY_KEY

#: Table 1: rave_obs_id, sourceid, then (value, error, boundary flag) per label, then snr.
TABLE1_COLUMNS: tuple[str, ...] = (
    ("rave_obs_id", "sourceid")
    + tuple(col for key in LABEL_KEYS for col in (key, f"e{key}", f"flag_{key}"))
    + ("snr",)
)

#: raveview's extra columns, after Table 1.
EXTRA_COLUMNS: tuple[str, ...] = (
    "source_file",       # the spectrum file the row came from
    "model_id",          # id of the model bundle used
    "ensemble",          # "photometry" or "spectroscopy" (which ensemble predicted the row)
    "photometry_used",   # bool: absolute magnitudes were fed to the network
    "phot_flags",        # text: why photometry was not used ("", "missing_band", "parallax<=0", ...)
    "masked_fraction",   # fraction of model-grid pixels filled (missing, NaN, off-coverage)
    "disagreement",      # bool: member spread beyond the usual for this model
    "quality_flags",     # text: comma-separated quality notes
)

ALL_COLUMNS: tuple[str, ...] = TABLE1_COLUMNS + EXTRA_COLUMNS


# --------------------------------------------------------------------------- types, units, descriptions

_TEXT = "str"
_ID = "Int64"
_FLOAT = "float32"
_FLAG = "int16"
_BOOL = "bool"

#: Column → pandas dtype of the catalog.
COLUMN_TYPES: dict[str, str] = {"rave_obs_id": _TEXT, "sourceid": _ID}
for _key in LABEL_KEYS:
    COLUMN_TYPES.update({_key: _FLOAT, f"e{_key}": _FLOAT, f"flag_{_key}": _FLAG})
COLUMN_TYPES["snr"] = _FLOAT
COLUMN_TYPES.update(
    {
        "source_file": _TEXT, "model_id": _TEXT, "ensemble": _TEXT, "photometry_used": _BOOL,
        "phot_flags": _TEXT, "masked_fraction": _FLOAT, "disagreement": _BOOL, "quality_flags": _TEXT,
    }
)
assert tuple(COLUMN_TYPES) == ALL_COLUMNS, "catalog types out of step with ALL_COLUMNS"

#: Column → unit string (written as FITS TUNITn, VOTable unit, ECSV/Parquet unit).
COLUMN_UNITS: dict[str, str] = {}
for _key in LABEL_KEYS:
    COLUMN_UNITS[_key] = COLUMN_UNITS[f"e{_key}"] = LABELS_BY_KEY[_key].unit

#: Column → one-line description (VOTable DESCRIPTION, FITS TCOMMn).
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "rave_obs_id": "RAVE observation id",
    "sourceid": "Gaia DR2 source id",
    "snr": "signal-to-noise ratio of the spectrum",
    "source_file": "spectrum file the row came from",
    "model_id": "id of the model bundle used",
    "ensemble": "ensemble that predicted the row (photometry or spectroscopy)",
    "photometry_used": "absolute magnitudes were fed to the network",
    "phot_flags": "why photometry was not used",
    "masked_fraction": "fraction of model-grid pixels filled",
    "disagreement": "member spread beyond the usual for this model",
    "quality_flags": "comma-separated quality notes",
}
for _key in LABEL_KEYS:
    _name = LABELS_BY_KEY[_key].display
    COLUMN_DESCRIPTIONS[_key] = f"{_name} (CNN ensemble mean)"
    COLUMN_DESCRIPTIONS[f"e{_key}"] = f"{_name} uncertainty (ensemble dispersion)"
    COLUMN_DESCRIPTIONS[f"flag_{_key}"] = f"{_name} boundary flag: 1 outside the training range"
