"""Turn label tables of any usual spelling into the arrays the synthesis needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from raveview.core.labels import LABEL_KEYS, LABELS, PUBLISHED_LABEL_COLUMNS

#: Accepted spellings of each label key (catalog key, APOGEE name, published-code name).
_ALIASES: dict[str, tuple[str, ...]] = {
    label.key: (label.key, label.apogee, PUBLISHED_LABEL_COLUMNS[label.key]) for label in LABELS
}
#: Optional extra inputs and their defaults (None: computed from the labels).
EXTRAS: dict[str, float | None] = {"vsini": None, "vmac": None, "vmic": None, "cfe": 0.0, "core_fill": 0.0}


def label_arrays(labels: Mapping[str, Any] | pd.DataFrame) -> dict[str, np.ndarray]:
    """Arrays of shape (n,) for the nine labels plus ``vsini``, ``vmac``, ``vmic``, ``cfe``, ``core_fill``
    and any ``dx_<element>`` offsets given (see :func:`raveview.mock.lte.element_abundances`).

    Parameters
    ----------
    labels
        A dict of scalars or arrays, or a DataFrame (one row per star), using catalog keys
        (``teff``), APOGEE names (``TEFF``) or the published code's names (``Teff``).
        Missing abundance ratios default to 0 ([Fe/H] defaults to [M/H]).

    Raises
    ------
    KeyError
        When Teff, log g or [M/H] is missing.
    """
    if isinstance(labels, pd.DataFrame):
        source = {col: labels[col].to_numpy() for col in labels.columns}
    else:
        source = dict(labels)
    out: dict[str, np.ndarray] = {}
    for key in LABEL_KEYS:
        for name in _ALIASES[key]:
            if name in source:
                out[key] = np.atleast_1d(np.asarray(source[name], dtype=np.float64))
                break
    for key in ("teff", "logg", "mh"):
        if key not in out:
            raise KeyError(f"labels lack {key!r} (also accepted: {', '.join(_ALIASES[key][1:])})")
    for key in EXTRAS:
        if key in source or key.upper() in source:
            out[key] = np.atleast_1d(np.asarray(source.get(key, source.get(key.upper())), dtype=np.float64))
    for key in (name for name in source if str(name).startswith("dx_")):  # unlabelled element offsets
        out[key] = np.atleast_1d(np.asarray(source[key], dtype=np.float64))
    n = max(value.size for value in out.values())
    out.setdefault("feh", out["mh"])
    for key in LABEL_KEYS:
        out.setdefault(key, np.zeros(n))
    out = {key: np.broadcast_to(value, (n,)).astype(np.float64) for key, value in out.items()}
    for key, default in EXTRAS.items():
        if default is not None:
            out.setdefault(key, np.full(n, default))
    out.setdefault("vmic", default_microturbulence(out["teff"], out["logg"]))
    out.setdefault("vmac", default_macroturbulence(out["teff"], out["logg"]))
    out.setdefault("vsini", default_vsini(out["teff"], out["logg"]))
    return out


def default_microturbulence(teff: np.ndarray, logg: np.ndarray) -> np.ndarray:
    """Microturbulence (km/s), rising toward low gravity (cf. APOGEE DR16's relation)."""
    return np.clip(1.0 + 0.3 * (4.4 - logg) + 0.0003 * (teff - 5500.0), 0.6, 3.5)


def default_macroturbulence(teff: np.ndarray, logg: np.ndarray) -> np.ndarray:
    """Macroturbulence (km/s), larger in hotter and lower-gravity stars (Gray 2005 ch. 17)."""
    return np.clip(3.0 + 0.0015 * (teff - 5000.0) + 0.8 * (3.5 - logg), 1.5, 12.0)


def default_vsini(teff: np.ndarray, logg: np.ndarray) -> np.ndarray:
    """Typical projected rotation (km/s): slow below the Kraft break (~6200 K), fast above it."""
    hot = np.clip((teff - 6000.0) / 1500.0, 0.0, None)
    return np.clip(2.0 + 60.0 * hot**1.5 * (logg > 3.5), 1.0, 250.0)
