"""User vetting flags (binary, emission, bad normalisation, peculiar, OK) with notes.

The flags are kept in a small JSON sidecar beside the results
(``<results>.vetting.json`` or ``raveview_vetting.json`` in the spectra's
folder), keyed by the star's RAVE obs id (else source file), and exported as
the ``user_flag`` / ``user_note`` columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout,
                               QWidget)

from raveview.core.errors import CatalogError

USER_FLAGS: tuple[str, ...] = ("binary", "emission", "bad normalisation", "peculiar", "OK")
SIDECAR_NAME = "raveview_vetting.json"


def star_key(record: pd.Series) -> str:
    """The key a star's vetting is stored under: its obs id, else its file, else its name."""
    for col in ("rave_obs_id", "source_file", "name"):
        value = str(record.get(col, "") or "")
        if value:
            return value
    return ""


def load_vetting(path: Path) -> dict[str, dict[str, str]]:
    """Read a sidecar: key → ``{"flag": ..., "note": ...}`` (empty when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"vetting file is not readable JSON ({exc})", path) from None
    stars = data.get("stars", {}) if isinstance(data, dict) else {}
    return {str(k): {"flag": str(v.get("flag", "")), "note": str(v.get("note", ""))}
            for k, v in stars.items() if isinstance(v, dict)}


def save_vetting(path: Path, entries: dict[str, dict[str, str]]) -> Path:
    """Write the sidecar atomically (a temporary file renamed over the old one)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    payload = {"format": "raveview-vetting", "version": 1, "flags": list(USER_FLAGS),
               "stars": {k: v for k, v in sorted(entries.items()) if v.get("flag") or v.get("note")}}
    try:
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise CatalogError(f"cannot write vetting file ({exc.strerror or exc})", path) from None
    return path


def apply_vetting(frame: pd.DataFrame, entries: dict[str, dict[str, str]]) -> None:
    """Fill the ``user_flag`` and ``user_note`` columns of ``frame`` from sidecar entries."""
    keys = [star_key(rec) for _, rec in frame[["rave_obs_id", "source_file", "name"]].iterrows()]
    frame["user_flag"] = [entries.get(k, {}).get("flag", "") for k in keys]
    frame["user_note"] = [entries.get(k, {}).get("note", "") for k in keys]


class VettingPanel(QWidget):
    """Buttons for the user flags, a note field, and previous/next (K/J) navigation.

    Signals
    -------
    flag_set(str, str)
        The user chose a flag (``""`` clears) and note for the current star.
    step(int)
        Go to the previous (-1) or next (+1) star.
    """

    flag_set = Signal(str, str)
    step = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        hint = QLabel("Vetting — J / K: next / previous star; 1–5: set a flag")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        row = QGridLayout()  # three per row, so the panel fits a side dock
        self.group = QButtonGroup(self)
        self.group.setExclusive(False)
        self.buttons: dict[str, QPushButton] = {}
        for i, flag in enumerate(USER_FLAGS, start=1):
            button = QPushButton(f"{i} {flag}")
            button.setCheckable(True)
            button.clicked.connect(lambda checked, f=flag: self._choose(f if checked else ""))
            self.buttons[flag] = button
            row.addWidget(button, (i - 1) // 3, (i - 1) % 3)
        layout.addLayout(row)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note on this star (saved with the flag)")
        self.note.editingFinished.connect(lambda: self.flag_set.emit(self.current_flag(), self.note.text()))
        layout.addWidget(self.note)
        nav = QHBoxLayout()
        prev_button, next_button = QPushButton("◀ Previous (K)"), QPushButton("Next (J) ▶")
        prev_button.clicked.connect(lambda: self.step.emit(-1))
        next_button.clicked.connect(lambda: self.step.emit(1))
        nav.addWidget(prev_button)
        nav.addWidget(next_button)
        layout.addLayout(nav)

    def current_flag(self) -> str:
        """The checked flag, or ``""``."""
        return next((f for f, b in self.buttons.items() if b.isChecked()), "")

    def show_star(self, flag: str, note: str) -> None:
        """Display the stored flag and note of the current star."""
        for f, button in self.buttons.items():
            button.setChecked(f == flag)
        self.note.setText(note)

    def _choose(self, flag: str) -> None:
        for f, button in self.buttons.items():
            button.setChecked(f == flag)
        self.flag_set.emit(flag, self.note.text())

    def choose(self, flag: str) -> None:
        """Set ``flag`` on the current star (as clicking its button does)."""
        self._choose(flag)
