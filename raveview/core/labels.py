"""Names, units and orders of the stellar labels and photometric inputs.

The catalog (Table 1 of Guiglion et al. 2020) uses lower-case keys: ``teff``,
``logg``, ``mh``, ``feh``, ``alpham``, ``sife``, ``mgfe``, ``alfe``, ``nife``.
The published network emits them in a different order (Al before Mg), so every
model manifest records its own order as a list of these keys.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    """One stellar label.

    Parameters
    ----------
    key
        Catalog column name (Table 1), e.g. ``"teff"``.
    display
        Human-readable name, e.g. ``"Teff"`` or ``"[M/H]"``.
    unit
        Unit string for display (``"K"``, ``"dex"``).
    apogee
        The column name in APOGEE DR16 allStar.
    """

    key: str
    display: str
    unit: str
    apogee: str


#: The nine labels in the order of the catalog (Table 1).
LABELS: tuple[Label, ...] = (
    Label("teff", "Teff", "K", "TEFF"),
    Label("logg", "log g", "dex", "LOGG"),
    Label("mh", "[M/H]", "dex", "M_H"),
    Label("feh", "[Fe/H]", "dex", "FE_H"),
    Label("alpham", "[α/M]", "dex", "ALPHA_M"),
    Label("sife", "[Si/Fe]", "dex", "SI_FE"),
    Label("mgfe", "[Mg/Fe]", "dex", "MG_FE"),
    Label("alfe", "[Al/Fe]", "dex", "AL_FE"),
    Label("nife", "[Ni/Fe]", "dex", "NI_FE"),
)
LABEL_KEYS: tuple[str, ...] = tuple(label.key for label in LABELS)
LABELS_BY_KEY: dict[str, Label] = {label.key: label for label in LABELS}

#: Output order of the published network (Al/Fe before Mg/Fe).
PUBLISHED_LABEL_ORDER: tuple[str, ...] = (
    "teff", "logg", "mh", "feh", "alpham", "sife", "alfe", "mgfe", "nife",
)

#: Column names used by the published code's label files, by key.
PUBLISHED_LABEL_COLUMNS: dict[str, str] = {
    "teff": "Teff", "logg": "logg", "mh": "MH", "feh": "FeH", "alpham": "AlphaM",
    "sife": "SiFe", "alfe": "AlFe", "mgfe": "MgFe", "nife": "NiFe",
}

#: Photometric network inputs, in the published order.
PHOTOMETRIC_INPUTS: tuple[str, ...] = (
    "M_G", "M_BP", "M_RP", "M_J", "M_H", "M_Ks", "M_W1", "M_W2", "A_V",
)
#: The eight photometric bands behind the absolute magnitudes, in input order.
BANDS: tuple[str, ...] = ("G", "BP", "RP", "J", "H", "Ks", "W1", "W2")
