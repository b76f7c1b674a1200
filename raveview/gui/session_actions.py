"""File ▸ Save session… / Open session…: the dialogs around :mod:`raveview.core.session`.

Uses only the main window's public attributes and methods: ``store``,
``star_list``, ``spectrum_view``, ``service``, ``vetting``, ``photometry_path``
(when present), ``opened_catalogs`` (when present), ``open_paths``,
``load_photometry``, ``add_results``, ``report_error``, ``statusBar``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from raveview.core.errors import RaveviewError
from raveview.core.session import SUFFIX, Session, load_session, missing_files, relink_by_name, save_session

FILTER = f"raveview sessions (*{SUFFIX});;All files (*)"


def _key(record) -> str:
    from raveview.gui.vetting import star_key

    return star_key(record)


def session_from_window(window) -> Session:
    """The window's state as a :class:`Session`."""
    from raveview.ml.bundle import demo_bundle_path

    frame = window.store.frame
    files = sorted({Path(s.source_file) for s in window.store.spectra.values() if s.source_file is not None})
    bundle = getattr(window.service, "bundle", None)
    model = Path(bundle.path) if bundle is not None else None
    if model is not None and model.resolve() == Path(demo_bundle_path()).resolve():
        model = None
    selection = [_key(frame.iloc[int(p)]) for p in window.star_list.selected_positions()]
    current = window.star_list.current  # a property
    view = {"native": bool(window.spectrum_view.native),
            "x_range": [float(x) for x in window.spectrum_view.plot.viewRange()[0]],
            "filter": window.star_list.filter_edit.text()}
    return Session(files=files, catalogs=list(getattr(window, "opened_catalogs", [])), model=model,
                   photometry=getattr(window, "photometry_path", None), selection=[k for k in selection if k],
                   current=_key(frame.iloc[int(current)]) if current is not None else None,
                   vetting={k: dict(v) for k, v in window.vetting.items()}, view=view)


def apply_session(window, session: Session) -> None:
    """Open the session's files in ``window``; selection and view follow once the files are read."""
    from raveview.core.catalog import read_catalog
    from raveview.gui.vetting import apply_vetting

    if session.model is not None:
        window.service.load_model(session.model)
    if session.photometry is not None:
        window.load_photometry(session.photometry)
    for path in session.catalogs:
        try:
            window.add_results(read_catalog(path)[0])
        except RaveviewError as exc:
            window.report_error(str(exc))
    job = window.open_paths([p for p in session.files if p.exists()])
    window.vetting.update({k: dict(v) for k, v in session.vetting.items()})
    apply_vetting(window.store.frame, window.vetting)
    if "native" in session.view:
        window.spectrum_view.set_native(bool(session.view["native"]))
    if session.view.get("filter"):
        window.star_list.filter_edit.setText(str(session.view["filter"]))
    if job is None:
        restore_selection(window, session)
    else:
        job.finished.connect(lambda: QTimer.singleShot(0, lambda: restore_selection(window, session)))


def restore_selection(window, session: Session) -> int:
    """Select the session's stars and show its current star; returns the number selected."""
    import numpy as np

    frame = window.store.frame
    keys = [_key(frame.iloc[i]) for i in range(len(frame))]
    where = {k: i for i, k in enumerate(keys) if k}
    if session.current in where:  # first: making a star current selects it alone
        window.star_list.set_current(where[session.current])
    count = window.star_list.select_positions(np.array([where[k] for k in session.selection if k in where]))
    x_range = session.view.get("x_range")
    if isinstance(x_range, list) and len(x_range) == 2:
        window.spectrum_view.plot.setXRange(float(x_range[0]), float(x_range[1]), padding=0)
    return count


def relink_missing(window, session: Session,
                   choose_folder: Callable[[QWidget, str], str] | None = None) -> Session:
    """Ask for a folder to search for moved files, by name, until all are found or the user gives up."""
    choose_folder = choose_folder or (lambda parent, text: QFileDialog.getExistingDirectory(parent, text))
    missing = missing_files(session)
    while missing:
        names = ", ".join(p.name for p in missing[:5]) + (" …" if len(missing) > 5 else "")
        folder = choose_folder(window, f"{len(missing)} file(s) of the session moved ({names}): where are they?")
        if not folder:
            for path in missing:
                window.report_error(f"{path}: not found; left out of the session")
            break
        session, still = relink_by_name(session, folder)
        if len(still) == len(missing):
            window.report_error(f"{folder}: none of the missing files is there")
        missing = still
    return session


def save_session_dialog(window, path: str | Path | None = None) -> Path | None:
    """File ▸ Save session…: write the window's state; returns the file (``None`` when cancelled)."""
    if path is None:
        path, _ = QFileDialog.getSaveFileName(window, "Save session", "", FILTER)
        if not path:
            return None
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(SUFFIX)
    try:
        save_session(path, session_from_window(window))
    except RaveviewError as exc:
        QMessageBox.warning(window, "Save session", str(exc))
        return None
    window.statusBar().showMessage(f"Session saved to {path.name}", 8000)
    return path


def open_session_dialog(window, path: str | Path | None = None,
                        choose_folder: Callable[[QWidget, str], str] | None = None) -> Session | None:
    """File ▸ Open session…: read a session, relink moved files, open them; returns it (``None``: cancelled)."""
    if path is None:
        path, _ = QFileDialog.getOpenFileName(window, "Open session", "", FILTER)
        if not path:
            return None
    try:
        session = load_session(path)
    except RaveviewError as exc:
        window.report_error(str(exc))
        return None
    session = relink_missing(window, session, choose_folder)
    apply_session(window, session)
    return session
