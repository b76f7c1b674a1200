"""File ▸ Open recent: the last opened paths, kept in QSettings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

MAX_RECENT = 10


class RecentFiles:
    """Keeps the recent paths in ``settings`` and lists them in ``menu``; choosing one calls ``open_path``."""

    def __init__(self, settings: QSettings, menu: QMenu, open_path: Callable[[Path], object]) -> None:
        self.settings, self.menu, self.open_path = settings, menu, open_path
        self.update_menu()

    def paths(self) -> list[str]:
        """Recent paths, newest first."""
        recent = self.settings.value("recent", []) or []
        return [recent] if isinstance(recent, str) else list(recent)

    def last_dir(self) -> str:
        """The folder of the last opened path (for file dialogs)."""
        return str(self.settings.value("last_dir", str(Path.home())))

    def remember(self, path: Path) -> None:
        """Put ``path`` first in the list."""
        recent = [p for p in self.paths() if p != str(path)]
        self.settings.setValue("recent", [str(path)] + recent[: MAX_RECENT - 1])
        self.settings.setValue("last_dir", str(path if path.is_dir() else path.parent))
        self.update_menu()

    def update_menu(self) -> None:
        """Rebuild the menu from the settings."""
        self.menu.clear()
        for path in self.paths():
            action = self.menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(Path(p)))
        self.menu.setEnabled(bool(self.paths()))
