"""The line list of the Ca II triplet region (8400–8800 Å) shipped with raveview.

The data file ``raveview/resources/linelist.csv`` holds real transitions with
air wavelengths, lower-level excitation potentials and log gf values; its
header names the source of every number. The mock survey builds its spectra
from it, and the GUI marks :data:`DIAGNOSTIC_LINES` on plots.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

#: Roman numerals of ionisation stages used in species names ("Fe I" → ion 0).
_ROMAN = {"I": 0, "II": 1, "III": 2}

#: Species the GUI marks by default, in display order.
DIAGNOSTIC_SPECIES: tuple[str, ...] = ("Ca II", "H I", "Fe I", "Si I", "Mg I", "Ti I", "Al I", "Ni I")


def _read_csv() -> pd.DataFrame:
    text = resources.files("raveview.resources").joinpath("linelist.csv")
    with text.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, comment="#")
    return table


def _label(species: str, wave: float, kind: str) -> str:
    if kind != "atomic":
        return f"{species} head {wave:.0f}"
    if species == "H I":  # Paschen line: upper level from the Rydberg formula (air ≈ vacuum here)
        upper = round((1.0 / 9.0 - 1.0 / (1.0967758e-3 * wave * 1.00024)) ** -0.5)
        return f"Pa{upper} {wave:.0f}"
    return f"{species} {wave:.0f}"


@lru_cache(maxsize=1)
def _linelist() -> pd.DataFrame:
    table = _read_csv()
    parts = table["species"].str.split(" ", n=1, expand=True)
    table["element"] = parts[0]
    table["ion"] = parts[1].map(_ROMAN).fillna(0).astype(int) if parts.shape[1] > 1 else 0
    table["label"] = [_label(species, wave, kind) for species, wave, kind in
                      zip(table["species"], table["wavelength_air"], table["kind"])]
    table = table.sort_values("wavelength_air", kind="stable").reset_index(drop=True)
    return table[["wavelength_air", "species", "element", "ion", "excitation_ev", "loggf", "kind", "label", "source"]]


def load_linelist(kind: str | None = None) -> pd.DataFrame:
    """The shipped line list, sorted by wavelength.

    Parameters
    ----------
    kind
        ``"atomic"`` for atomic transitions only, ``"band_head"`` for molecular
        band heads only, ``None`` for both.

    Returns
    -------
    pandas.DataFrame
        Columns ``wavelength_air`` (Å), ``species`` ("Fe I"), ``element`` ("Fe"),
        ``ion`` (0 neutral, 1 singly ionised), ``excitation_ev``, ``loggf``,
        ``kind``, ``label`` (for display, e.g. "Ca II 8542") and ``source``.
    """
    table = _linelist().copy()
    if kind is not None:
        table = table[table["kind"] == kind].reset_index(drop=True)
    return table


def _diagnostic_lines() -> tuple[tuple[str, float], ...]:
    table = load_linelist("atomic")
    keep = table[table["species"].isin(DIAGNOSTIC_SPECIES)]
    # the strongest few per species keep plots readable
    rows: list[tuple[str, float]] = []
    for species in DIAGNOSTIC_SPECIES:
        sub = keep[keep["species"] == species].sort_values("loggf", ascending=False).head(8)
        rows.extend((label, float(wave)) for label, wave in zip(sub["label"], sub["wavelength_air"]))
    return tuple(sorted(rows, key=lambda row: row[1]))


#: (display label, air wavelength in Å) of the lines the GUI marks: Ca II triplet,
#: Paschen, and the strongest Fe I, Si I, Mg I, Ti I, Al I and Ni I lines.
DIAGNOSTIC_LINES: tuple[tuple[str, float], ...] = _diagnostic_lines()
