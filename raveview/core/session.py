"""Sessions: the open files, active model, selection, vetting flags and view state in a small JSON file.

Paths are stored relative to the session file (absolute when they lie on
another drive), so a folder moved with its session keeps working. When files
have moved on their own, :func:`missing_files` lists them and
:func:`relink` / :func:`relink_by_name` point them at their new place.

Format history
--------------
1. ``{"format": "raveview-session", "version": 1, "files", "model", "selected", "flags"}``
   (``flags``: star key → flag text; no notes, no view state, no photometry).
2. Adds ``photometry``, ``catalogs``, ``current``, ``vetting`` (key → ``{"flag", "note"}``)
   and ``view``; ``selected`` became ``selection``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from raveview.core.errors import RaveviewError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "SUFFIX", "Session", "SessionError", "save_session", "load_session",
           "missing_files", "relink", "relink_by_name"]

FORMAT_NAME = "raveview-session"
FORMAT_VERSION = 2
SUFFIX = ".rvsession"


class SessionError(RaveviewError):
    """A session file cannot be read or written (malformed, newer format, unwritable)."""


@dataclass
class Session:
    """What a session restores.

    Attributes
    ----------
    files
        Spectrum files and folders that were open (absolute paths in memory).
    catalogs
        Results catalogs that were open.
    model
        The active model bundle folder (``None``: the demo bundle).
    photometry
        The photometry catalog in use.
    selection
        Star keys (``rave_obs_id``, else the file) of the selected stars.
    current
        Star key of the star on display.
    vetting
        Star key → ``{"flag": ..., "note": ...}``.
    view
        View state: plain JSON values (e.g. ``{"native": true, "sort": ["oddity", "desc"]}``).
    """

    files: list[Path] = field(default_factory=list)
    catalogs: list[Path] = field(default_factory=list)
    model: Path | None = None
    photometry: Path | None = None
    selection: list[str] = field(default_factory=list)
    current: str | None = None
    vetting: dict[str, dict[str, str]] = field(default_factory=dict)
    view: dict[str, Any] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        """Every file the session refers to (files, catalogs, model, photometry)."""
        extra = [p for p in (self.model, self.photometry) if p is not None]
        return [*self.files, *self.catalogs, *extra]


# --------------------------------------------------------------------------- paths


def _to_text(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    path = Path(path).absolute()
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive (Windows)
        return str(path)


def _from_text(text: Any, base: Path, where: Path, key: str) -> Path | None:
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise SessionError(f"'{key}' holds {type(text).__name__}, not a path", where)
    path = Path(text)
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


# --------------------------------------------------------------------------- writing


def save_session(path: str | PathLike[str], session: Session) -> Path:
    """Write ``session`` to ``path`` (JSON, paths relative to its folder), atomically.

    Raises
    ------
    SessionError
        The file cannot be written, or the view state is not plain JSON.
    """
    path = Path(path)
    base = path.absolute().parent
    document = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "files": [_to_text(p, base) for p in session.files],
        "catalogs": [_to_text(p, base) for p in session.catalogs],
        "model": _to_text(session.model, base),
        "photometry": _to_text(session.photometry, base),
        "selection": [str(k) for k in session.selection],
        "current": session.current,
        "vetting": {str(k): {"flag": str(v.get("flag", "")), "note": str(v.get("note", ""))}
                    for k, v in session.vetting.items()},
        "view": session.view,
    }
    try:
        text = json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SessionError(f"the view state is not plain JSON ({exc})", path) from None
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise SessionError(f"cannot write the session ({exc.strerror or exc})", path) from None
    return path


# --------------------------------------------------------------------------- reading


def _list(document: dict, key: str, where: Path) -> list:
    value = document.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise SessionError(f"'{key}' is not a list", where)
    return value


def _upgrade_v1(document: dict) -> dict:
    """Version 1 → version 2: ``selected`` → ``selection``, ``flags`` → ``vetting``."""
    flags = document.get("flags") or {}
    if not isinstance(flags, dict):
        flags = {}
    return {
        "files": document.get("files", []),
        "model": document.get("model"),
        "selection": document.get("selected", []),
        "vetting": {str(k): {"flag": str(v), "note": ""} for k, v in flags.items()},
    }


def load_session(path: str | PathLike[str]) -> Session:
    """Read a session file (any format version up to :data:`FORMAT_VERSION`).

    Raises
    ------
    SessionError
        Missing, unreadable or malformed file, or a newer format version.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SessionError(f"cannot read the session ({exc.strerror or exc})", path) from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionError(f"not a session file: invalid JSON ({exc})", path) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise SessionError("not a raveview session file", path)
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SessionError("the session has no valid format version", path)
    if version > FORMAT_VERSION:
        raise SessionError(f"session format {version} is newer than this raveview reads ({FORMAT_VERSION}); "
                           "upgrade raveview", path)
    if version == 1:
        document = _upgrade_v1(document)
    base = path.absolute().parent
    vetting = document.get("vetting") or {}
    view = document.get("view") or {}
    if not isinstance(vetting, dict) or not all(isinstance(v, dict) for v in vetting.values()):
        raise SessionError("'vetting' is not a mapping of star → {flag, note}", path)
    if not isinstance(view, dict):
        raise SessionError("'view' is not a mapping", path)
    current = document.get("current")
    return Session(
        files=[_from_text(p, base, path, "files") for p in _list(document, "files", path) if p],
        catalogs=[_from_text(p, base, path, "catalogs") for p in _list(document, "catalogs", path) if p],
        model=_from_text(document.get("model"), base, path, "model"),
        photometry=_from_text(document.get("photometry"), base, path, "photometry"),
        selection=[str(k) for k in _list(document, "selection", path)],
        current=None if current is None else str(current),
        vetting={str(k): {"flag": str(v.get("flag", "")), "note": str(v.get("note", ""))} for k, v in vetting.items()},
        view=view,
    )


# --------------------------------------------------------------------------- relinking


def missing_files(session: Session) -> list[Path]:
    """The files and folders of ``session`` that do not exist (in the order of :meth:`Session.paths`)."""
    return [p for p in session.paths() if not p.exists()]


def _map(session: Session, change) -> Session:
    def one(p: Path | None) -> Path | None:
        return None if p is None else change(p)

    return Session(files=[one(p) for p in session.files], catalogs=[one(p) for p in session.catalogs],
                   model=one(session.model), photometry=one(session.photometry),
                   selection=list(session.selection), current=session.current,
                   vetting={k: dict(v) for k, v in session.vetting.items()}, view=dict(session.view))


def relink(session: Session, old_root: str | PathLike[str], new_root: str | PathLike[str]) -> Session:
    """A copy of ``session`` with every path under ``old_root`` moved under ``new_root``."""
    old, new = Path(os.path.normpath(Path(old_root).absolute())), Path(new_root).absolute()

    def change(p: Path) -> Path:
        try:
            return Path(os.path.normpath(new / Path(p).relative_to(old)))
        except ValueError:
            return p

    return _map(session, change)


def relink_by_name(session: Session, folder: str | PathLike[str], max_files: int = 200_000) -> tuple[Session, list[Path]]:
    """Look for each missing file by its name under ``folder``.

    Returns
    -------
    (Session, list of Path)
        A copy with the files found relinked, and the paths still missing. A
        name found more than once is taken from the shallowest match.
    """
    wanted = {p.name for p in missing_files(session)}
    found: dict[str, Path] = {}
    if wanted:
        for count, candidate in enumerate(sorted(Path(folder).rglob("*"), key=lambda q: (len(q.parts), str(q)))):
            if count >= max_files:
                break
            if candidate.name in wanted and candidate.name not in found:
                found[candidate.name] = candidate.absolute()

    def change(p: Path) -> Path:
        return found.get(p.name, p) if not p.exists() else p

    relinked = _map(session, change)
    return relinked, missing_files(relinked)
