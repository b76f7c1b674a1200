"""SAMP link with TOPCAT, Aladin and SPLAT (Qt-free; :mod:`astropy.samp`).

:class:`SampLink` registers raveview with a SAMP hub (an existing one, or one
it starts), sends the results catalog as a VOTable (``table.load.votable``)
and a spectrum as a VOTable with wavelength/flux/error columns
(``spectrum.load.ssa-generic``, or ``table.load.votable`` for tools that only
read tables), and listens for ``table.highlight.row`` and
``table.select.rowList`` about the tables it sent: the callbacks get the
*index labels* of the frame that was sent, so a selection in TOPCAT maps
straight back to raveview's rows.

The callbacks run on astropy's SAMP server thread; a GUI must hand them over
to its own thread (``raveview.gui.samp_bridge`` does that with Qt signals).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raveview.core.errors import RaveviewError
from raveview.core.spectrum import Spectrum

__all__ = ["SampError", "SampLink", "SentTable", "spectrum_table", "HIGHLIGHT", "SELECT"]

HIGHLIGHT = "table.highlight.row"
SELECT = "table.select.rowList"
LOAD_TABLE = "table.load.votable"
LOAD_SPECTRUM = "spectrum.load.ssa-generic"
#: Seconds to wait for a hub to answer.
TIMEOUT_S = 5.0

HighlightCallback = Callable[[str, Hashable], None]
SelectCallback = Callable[[str, list], None]


class SampError(RaveviewError):
    """No SAMP hub, a hub that does not answer, or a message that cannot be sent."""


def _samp():
    """The :mod:`astropy.samp` module, without its deprecation warning (astropy ≥ 8)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from astropy import samp

    return samp


@dataclass(frozen=True)
class SentTable:
    """A table sent to the hub: its id, name, file URL and the index labels of its rows."""

    table_id: str
    name: str
    url: str
    index: tuple


def spectrum_table(spectrum: Spectrum):
    """An :class:`astropy.table.Table` of ``spectrum`` (wavelength Å, flux, error) with SSA-like metadata."""
    from astropy.table import Table

    wave = np.asarray(spectrum.wavelength, dtype=np.float64)
    flux = np.asarray(spectrum.flux, dtype=np.float64)
    error = np.full_like(flux, np.nan) if spectrum.sigma is None else np.asarray(spectrum.sigma, dtype=np.float64)
    table = Table([wave, flux, error], names=("wavelength", "flux", "error"))
    table["wavelength"].unit = "Angstrom"
    table["wavelength"].description = "wavelength"
    table["flux"].description = "normalised flux"
    table["error"].description = "flux uncertainty"
    table.meta["name"] = spectrum.rave_obs_id or (spectrum.source_file.name if spectrum.source_file else "spectrum")
    return table


class SampLink:
    """raveview as a SAMP client.

    Parameters
    ----------
    on_highlight
        Called with ``(table name, index label)`` when a tool highlights a row
        of a table raveview sent.
    on_select
        Called with ``(table name, [index labels])`` when a tool selects rows.
    lockfile
        Hub lock file to use (a private hub); default: the standard one
        (``$SAMP_HUB`` or ``~/.samp``).
    name
        The name raveview registers with.
    timeout
        Seconds to wait for the hub.
    """

    def __init__(self, on_highlight: HighlightCallback | None = None, on_select: SelectCallback | None = None,
                 lockfile: str | PathLike[str] | None = None, name: str = "raveview",
                 timeout: float = TIMEOUT_S) -> None:
        self.on_highlight = on_highlight
        self.on_select = on_select
        self.lockfile = Path(lockfile) if lockfile is not None else None
        self.name = name
        self.timeout = timeout
        self.tables: dict[str, SentTable] = {}
        self._client = None
        self._hub = None
        self._folder = Path(tempfile.mkdtemp(prefix="raveview-samp-"))
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    # -- hub --------------------------------------------------------------------------------
    def _hub_params(self) -> dict | None:
        samp = _samp()
        from astropy.samp.lockfile_helpers import check_running_hub, get_main_running_hub

        if self.lockfile is not None:
            running, params = check_running_hub(str(self.lockfile))
            return params if running else None
        try:
            return get_main_running_hub()
        except samp.SAMPHubError:
            return None

    def hub_running(self) -> bool:
        """Whether a hub answers at the lock file."""
        return self._hub_params() is not None

    def start_hub(self) -> None:
        """Start a hub in this process (no Web Profile), at :attr:`lockfile` or the standard place."""
        samp = _samp()
        kwargs: dict[str, Any] = {"web_profile": False, "label": "raveview", "mode": "single"}
        if self.lockfile is not None:
            kwargs["lockfile"] = str(self.lockfile)
        try:
            hub = samp.SAMPHubServer(**kwargs)
            hub.start(wait=False)
        except (samp.SAMPHubError, OSError) as exc:
            raise SampError(f"cannot start a SAMP hub ({exc})", self.lockfile) from None
        self._hub = hub

    @property
    def connected(self) -> bool:
        """Whether raveview is registered with a hub."""
        return self._client is not None and self._client.is_connected

    def connect(self, start_hub_if_missing: bool = False) -> None:
        """Register with the running hub (or start one first when allowed).

        Raises
        ------
        SampError
            No hub runs and ``start_hub_if_missing`` is false, or the hub does not answer.
        """
        samp = _samp()
        params = self._hub_params()
        if params is None:
            if not start_hub_if_missing:
                raise SampError("no SAMP hub is running (start TOPCAT, or let raveview start a hub)", self.lockfile)
            self.start_hub()
            params = self._hub_params()
            if params is None:
                raise SampError("the SAMP hub started but does not answer", self.lockfile)
        client = samp.SAMPIntegratedClient(name=self.name, description="raveview: CNN parameters of RAVE spectra",
                                           metadata={"samp.icon.url": "", "author.name": "raveview"})
        try:
            client.connect(hub_params=params)
        except (samp.SAMPHubError, samp.SAMPProxyError, OSError) as exc:
            raise SampError(f"cannot register with the SAMP hub ({exc})", self.lockfile) from None
        for mtype in (HIGHLIGHT, SELECT):
            client.bind_receive_notification(mtype, self._receive_notification)
            client.bind_receive_call(mtype, self._receive_call)
        self._client = client

    def disconnect(self) -> None:
        """Unregister, stop the hub raveview started, and remove the files it sent."""
        if self._client is not None:
            try:
                if self._client.is_connected:
                    self._client.disconnect()
            except Exception:  # a hub that went away first
                pass
            self._client = None
        if self._hub is not None:
            self._hub.stop()
            self._hub = None
        shutil.rmtree(self._folder, ignore_errors=True)

    def clients(self) -> dict[str, str]:
        """Other registered clients: id → name."""
        client = self._require()
        names = {}
        for cid in client.get_registered_clients():
            meta = client.get_metadata(cid)
            names[cid] = str(meta.get("samp.name", cid))
        return names

    # -- sending ----------------------------------------------------------------------------
    def _require(self):
        if not self.connected:
            raise SampError("not connected to a SAMP hub")
        return self._client

    def _notify(self, mtype: str, params: dict, recipient: str | None) -> None:
        samp = _samp()
        client = self._require()
        message = {"samp.mtype": mtype, "samp.params": params}
        try:
            if recipient is None:
                client.notify_all(message)
            else:
                client.notify(recipient, message)
        except (samp.SAMPProxyError, samp.SAMPHubError, OSError) as exc:
            raise SampError(f"cannot send {mtype} ({exc})") from None

    def send_table(self, frame: pd.DataFrame, name: str = "raveview results", recipient: str | None = None) -> str:
        """Send a results catalog as a VOTable (``table.load.votable``); returns its table id."""
        from raveview.core.catalog import default_provenance, write_catalog

        number = next(self._counter)
        table_id = f"raveview-table-{number}"
        path = self._folder / f"{table_id}.vot"
        write_catalog(frame, path, format="votable", provenance=default_provenance(samp_table=name))
        url = path.resolve().as_uri()
        with self._lock:
            self.tables[table_id] = SentTable(table_id, name, url, tuple(frame.index))
        self._notify(LOAD_TABLE, {"url": url, "table-id": table_id, "name": name}, recipient)
        return table_id

    def send_spectrum(self, spectrum: Spectrum, recipient: str | None = None, as_table: bool = False) -> str:
        """Send a spectrum (``spectrum.load.ssa-generic``, or ``table.load.votable``); returns its id."""
        table = spectrum_table(spectrum)
        number = next(self._counter)
        spectrum_id = f"raveview-spectrum-{number}"
        path = self._folder / f"{spectrum_id}.vot"
        with warnings.catch_warnings():  # "Angstrom" is what SPLAT and TOPCAT read, not "0.1nm"
            warnings.simplefilter("ignore")
            table.write(path, format="votable", overwrite=True)
        url = path.resolve().as_uri()
        name = str(table.meta["name"])
        if as_table:
            with self._lock:
                self.tables[spectrum_id] = SentTable(spectrum_id, name, url, tuple(range(len(table))))
            self._notify(LOAD_TABLE, {"url": url, "table-id": spectrum_id, "name": name}, recipient)
        else:
            meta = {"Access.Reference": url, "Access.Format": "application/x-votable+xml",
                    "Target.Name": name, "vox:spectrum_units": "Angstrom"}
            self._notify(LOAD_SPECTRUM, {"url": url, "spectrum-id": spectrum_id, "name": name, "meta": meta},
                         recipient)
        return spectrum_id

    # -- receiving --------------------------------------------------------------------------
    def _table_for(self, params: dict) -> SentTable | None:
        with self._lock:
            table_id, url = params.get("table-id"), params.get("url")
            if table_id in self.tables:
                return self.tables[table_id]
            return next((t for t in self.tables.values() if url and t.url == url), None)

    def handle(self, mtype: str, params: dict) -> bool:
        """Dispatch one received message to the callbacks; returns whether it was about a table sent."""
        table = self._table_for(params)
        if table is None:
            return False
        try:
            if mtype == HIGHLIGHT:
                row = int(params["row"])
                if not 0 <= row < len(table.index):
                    return False
                if self.on_highlight is not None:
                    self.on_highlight(table.name, table.index[row])
            elif mtype == SELECT:
                rows = [int(r) for r in params.get("row-list", [])]
                labels = [table.index[r] for r in rows if 0 <= r < len(table.index)]
                if self.on_select is not None:
                    self.on_select(table.name, labels)
            else:
                return False
        except (KeyError, TypeError, ValueError):  # a malformed message from another tool
            return False
        return True

    def _receive_notification(self, private_key, sender_id, mtype, params, extra) -> None:
        self.handle(mtype, params)

    def _receive_call(self, private_key, sender_id, msg_id, mtype, params, extra) -> None:
        ok = self.handle(mtype, params)
        status = {"samp.status": "samp.ok" if ok else "samp.warning", "samp.result": {}}
        if not ok:
            status["samp.error"] = {"samp.errortxt": "not a table raveview sent"}
        try:
            self._client.reply(msg_id, status)
        except Exception:  # the sender went away
            pass

    def __enter__(self) -> "SampLink":
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()
