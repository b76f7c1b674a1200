"""The Kiel diagram: log g against Teff, both axes inverted, coloured by [M/H]."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from raveview.gui.scatter_diagram import ScatterDiagram


class KielDiagram(ScatterDiagram):
    """Teff (x, decreasing to the right) vs log g (y, increasing downwards), colour [M/H]."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("teff", "logg", "mh", invert_x=True, invert_y=True, colour_range=(-1.5, 0.5),
                         parent=parent)
