"""A per-star oddity score that brings exotic or badly fitted stars to the top (Qt-free).

The score adds three non-negative terms:

* the number of boundary flags raised (each label outside the training range counts 1);
* 1 when the ensemble members disagree beyond the model's usual spread;
* the spectral residual against the comparison overlay, as the RMS of
  (data − model) in units of its typical value (``residual / RESIDUAL_SCALE``),
  when the overlay was computed.

So 0 is an ordinary star; above about 1 a star deserves a look.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raveview.core.labels import LABEL_KEYS

#: RMS residual (normalised flux) of a typical well-fitted RAVE spectrum at S/N ~ 40.
RESIDUAL_SCALE = 0.03


def residual_rms(residual: np.ndarray | None) -> float:
    """RMS of the finite residual pixels (NaN when there are none)."""
    if residual is None:
        return float("nan")
    r = np.asarray(residual, dtype=float)
    r = r[np.isfinite(r)]
    return float(np.sqrt(np.mean(r * r))) if r.size else float("nan")


def oddity_score(frame: pd.DataFrame) -> np.ndarray:
    """Oddity of each row of a results frame (NaN for rows without labels)."""
    n = len(frame)
    flags = np.zeros(n)
    for key in LABEL_KEYS:
        col = f"flag_{key}"
        if col in frame:
            flags += np.nan_to_num(frame[col].to_numpy(dtype=float))
    disagree = frame["disagreement"].to_numpy(dtype=float) if "disagreement" in frame else np.zeros(n)
    resid = frame["residual"].to_numpy(dtype=float) if "residual" in frame else np.full(n, np.nan)
    score = flags + np.nan_to_num(disagree) + np.nan_to_num(resid / RESIDUAL_SCALE)
    has_labels = np.isfinite(frame["teff"].to_numpy(dtype=float)) if "teff" in frame else np.ones(n, bool)
    return np.where(has_labels, score, np.nan)
