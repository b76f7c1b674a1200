"""The abundance diagram: [α/M] vs [M/H], or [X/Fe] vs [Fe/H] for Mg, Si, Al, Ni."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from raveview.gui.scatter_diagram import ScatterDiagram

#: (title, x key, y key) choices.
CHOICES: tuple[tuple[str, str, str], ...] = (
    ("[α/M] vs [M/H]", "mh", "alpham"),
    ("[Mg/Fe] vs [Fe/H]", "feh", "mgfe"),
    ("[Si/Fe] vs [Fe/H]", "feh", "sife"),
    ("[Al/Fe] vs [Fe/H]", "feh", "alfe"),
    ("[Ni/Fe] vs [Fe/H]", "feh", "nife"),
)


class AbundanceDiagram(ScatterDiagram):
    """An abundance ratio against metallicity, coloured by log g (giants yellow, dwarfs purple)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("mh", "alpham", "logg", colour_range=(0.5, 4.8), parent=parent)
        self.choice = QComboBox()
        for title, _, _ in CHOICES:
            self.choice.addItem(title)
        self.choice.setToolTip("Which abundance ratio to plot")
        self.choice.currentIndexChanged.connect(self.choose)
        self.toolbar.insertWidget(1, self.choice)

    def choose(self, index: int) -> None:
        """Plot choice ``index`` of :data:`CHOICES`."""
        _, x, y = CHOICES[index]
        if self.choice.currentIndex() != index:
            self.choice.setCurrentIndex(index)
        self.set_axes(x, y)
