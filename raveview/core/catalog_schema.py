"""Column names of the results catalog.

The first 30 columns are Table 1 of Guiglion et al. (2020), with the exact
names, in order. raveview's own columns follow them.
"""

from __future__ import annotations

from raveview.core.labels import LABEL_KEYS

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
