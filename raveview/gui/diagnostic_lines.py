"""Diagnostic lines to mark on the spectrum view.

Taken from :mod:`raveview.core.linelist` when it is available; otherwise a
short built-in list of the strongest lines of the Ca II triplet region
(air wavelengths, Å).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Elements the view offers toggles for, in display order.
ELEMENTS: tuple[str, ...] = ("Ca II", "Paschen", "Fe I", "Si I", "Mg I", "Ti I", "Al I", "Ni I")

#: Colour per element (RGB).
ELEMENT_COLOURS: dict[str, tuple[int, int, int]] = {
    "Ca II": (200, 40, 40), "Paschen": (60, 110, 200), "Fe I": (120, 120, 120),
    "Si I": (40, 150, 90), "Mg I": (170, 90, 170), "Ti I": (180, 140, 30),
    "Al I": (20, 160, 170), "Ni I": (110, 80, 40),
}

_BUILTIN: tuple[tuple[float, str, str], ...] = (
    (8498.02, "Ca II", "Ca II 8498"), (8542.09, "Ca II", "Ca II 8542"), (8662.14, "Ca II", "Ca II 8662"),
    (8467.25, "Paschen", "P17"), (8502.48, "Paschen", "P16"), (8545.38, "Paschen", "P15"),
    (8598.39, "Paschen", "P14"), (8665.02, "Paschen", "P13"), (8750.47, "Paschen", "P12"),
    (8468.41, "Fe I", "Fe I"), (8514.07, "Fe I", "Fe I"), (8611.80, "Fe I", "Fe I"),
    (8621.60, "Fe I", "Fe I"), (8674.75, "Fe I", "Fe I"), (8688.62, "Fe I", "Fe I"),
    (8556.78, "Si I", "Si I"), (8648.47, "Si I", "Si I"), (8728.01, "Si I", "Si I"),
    (8742.45, "Si I", "Si I"), (8717.83, "Mg I", "Mg I"), (8736.02, "Mg I", "Mg I"),
    (8426.50, "Ti I", "Ti I"), (8434.96, "Ti I", "Ti I"), (8518.35, "Ti I", "Ti I"),
    (8772.87, "Al I", "Al I"), (8773.90, "Al I", "Al I"),
)


@dataclass(frozen=True)
class Line:
    """One line to mark: air wavelength (Å), element group (one of :data:`ELEMENTS`), label."""

    wavelength: float
    element: str
    label: str


def _group(label: str) -> str:
    species = " ".join(label.split()[:2])
    return "Paschen" if species.startswith("H I") or label.startswith("Pa") else species


def diagnostic_lines() -> list[Line]:
    """The lines to mark, from the project's line list when present, else the built-in list."""
    try:
        from raveview.core.linelist import DIAGNOSTIC_LINES
    except Exception:  # an optional table must not break the view
        return [Line(*row) for row in _BUILTIN]
    lines = [Line(float(wave), _group(str(label)), str(label)) for label, wave in DIAGNOSTIC_LINES]
    lines = [line for line in lines if line.element in ELEMENTS]
    return lines or [Line(*row) for row in _BUILTIN]


#: Label priority per element group: the strongest lines keep their label when space runs out.
PRIORITY: dict[str, int] = {"Ca II": 0, "Paschen": 1}


def short_label(line: Line) -> str:
    """The text drawn at a line: "Ca II 8542", "Pa15", or the species and wavelength ("Fe I 8616")."""
    if line.element == "Paschen":
        return line.label.split()[0]
    return line.label


def place_labels(centres: list[float], widths: list[float], priorities: list[int], tiers: int = 3,
                 gap: float = 4.0) -> list[int | None]:
    """Stack labels in ``tiers`` rows so that none overlap; higher priority (lower number) placed first.

    Parameters
    ----------
    centres, widths
        Horizontal centre and width of each label, in pixels.
    priorities
        Lower numbers are placed first (on the top row when there is room).
    tiers
        Rows available; a label that fits in none is left out (``None``).
    gap
        Minimum free pixels between two labels of one row.

    Returns
    -------
    list
        The row (0 = top) of each label, or ``None`` when it does not fit.
    """
    rows: list[list[tuple[float, float]]] = [[] for _ in range(tiers)]
    out: list[int | None] = [None] * len(centres)
    for i in sorted(range(len(centres)), key=lambda k: (priorities[k], centres[k])):
        left, right = centres[i] - widths[i] / 2 - gap / 2, centres[i] + widths[i] / 2 + gap / 2
        for tier, placed in enumerate(rows):
            if all(right <= a or left >= b for a, b in placed):
                placed.append((left, right))
                out[i] = tier
                break
    return out
