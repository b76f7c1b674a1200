"""SAMP on loopback: a private astropy hub, raveview's SampLink and a second client acting as TOPCAT."""

from __future__ import annotations

import threading
import warnings
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pandas as pd
import pytest

from raveview.core.spectrum import Spectrum
from raveview.interop.samp import SELECT, HIGHLIGHT, SampError, SampLink

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from astropy.samp import SAMPIntegratedClient
    from astropy.samp.lockfile_helpers import check_running_hub

WAIT = 30.0  # generous: CI machines can be loaded


class FakeTopcat:
    """A second SAMP client that loads the tables it is sent, like TOPCAT."""

    def __init__(self, lockfile) -> None:
        self.loaded: dict[str, object] = {}
        self.params: dict[str, dict] = {}
        self.got = threading.Event()
        self.client = SAMPIntegratedClient(name="fake-topcat")
        running, params = check_running_hub(str(lockfile))
        assert running
        self.client.connect(hub_params=params)
        for mtype in ("table.load.votable", "spectrum.load.ssa-generic"):
            self.client.bind_receive_notification(mtype, self._load)

    def _load(self, private_key, sender_id, mtype, params, extra) -> None:
        from astropy.table import Table

        path = url2pathname(urlparse(params["url"]).path)
        key = params.get("table-id") or params.get("spectrum-id")
        self.loaded[key] = Table.read(path, format="votable")
        self.params[key] = dict(params, mtype=mtype)
        self.got.set()

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def link(tmp_path):
    events: dict[str, list] = {"highlight": [], "select": []}
    done = threading.Event()

    def on_highlight(name, label):
        events["highlight"].append((name, label))
        done.set()

    def on_select(name, labels):
        events["select"].append((name, labels))
        done.set()

    link = SampLink(on_highlight, on_select, lockfile=tmp_path / "samp-hub.lock", timeout=WAIT)
    link.connect(start_hub_if_missing=True)
    link.events, link.done = events, done
    yield link
    link.disconnect()


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame({"rave_obs_id": [f"OBS{i}" for i in range(5)], "teff": np.linspace(4000, 6000, 5),
                          "logg": np.linspace(1, 4.5, 5)})
    frame.index = [10, 11, 12, 13, 14]  # raveview's row ids, not positions
    return frame


def test_no_hub_is_a_one_line_error(tmp_path):
    link = SampLink(lockfile=tmp_path / "none.lock")
    assert not link.hub_running()
    with pytest.raises(SampError, match="no SAMP hub is running"):
        link.connect(start_hub_if_missing=False)
    with pytest.raises(SampError, match="not connected"):
        link.send_table(_frame(), "x")


def test_table_goes_to_topcat_and_selection_comes_back(link, tmp_path):
    assert link.hub_running() and link.connected
    topcat = FakeTopcat(tmp_path / "samp-hub.lock")
    try:
        assert "fake-topcat" in link.clients().values()
        table_id = link.send_table(_frame(), "my results")
        assert topcat.got.wait(WAIT)
        table = topcat.loaded[table_id]
        assert list(table["rave_obs_id"]) == [f"OBS{i}" for i in range(5)]
        np.testing.assert_allclose(table["teff"], np.linspace(4000, 6000, 5), rtol=1e-6)
        assert topcat.params[table_id]["name"] == "my results"

        raveview_id = next(cid for cid in topcat.client.get_registered_clients()
                               if topcat.client.get_metadata(cid).get("samp.name") == "raveview")
        topcat.client.notify(raveview_id, {"samp.mtype": SELECT,
                                           "samp.params": {"table-id": table_id, "row-list": ["1", "3", "4"]}})
        assert link.done.wait(WAIT)
        assert link.events["select"] == [("my results", [11, 13, 14])]

        link.done.clear()  # TOPCAT sends highlights as calls: raveview replies samp.ok
        reply = topcat.client.ecall_and_wait(raveview_id, HIGHLIGHT, str(int(WAIT)),
                                             **{"table-id": table_id, "row": "2"})
        assert reply["samp.status"] == "samp.ok"
        assert link.events["highlight"] == [("my results", 12)]

        reply = topcat.client.ecall_and_wait(raveview_id, HIGHLIGHT, str(int(WAIT)),
                                             **{"table-id": "someone-else", "row": "2"})
        assert reply["samp.status"] == "samp.warning"
        assert len(link.events["highlight"]) == 1
    finally:
        topcat.close()


def test_spectrum_goes_out_with_wavelength_flux_error(link, tmp_path):
    topcat = FakeTopcat(tmp_path / "samp-hub.lock")
    try:
        wave = np.linspace(8420, 8780, 400)
        spectrum = Spectrum(wave, 1 - 0.5 * np.exp(-0.5 * ((wave - 8542) / 1.5) ** 2), np.full(400, 0.02),
                            rave_obs_id="OBS42")
        spectrum_id = link.send_spectrum(spectrum)
        assert topcat.got.wait(WAIT)
        table = topcat.loaded[spectrum_id]
        assert topcat.params[spectrum_id]["mtype"] == "spectrum.load.ssa-generic"
        assert topcat.params[spectrum_id]["name"] == "OBS42"
        assert table.colnames == ["wavelength", "flux", "error"]
        assert str(table["wavelength"].unit) == "Angstrom"
        np.testing.assert_allclose(table["flux"], spectrum.flux)
        np.testing.assert_allclose(table["error"], 0.02)
    finally:
        topcat.close()


def test_handle_ignores_malformed_messages(link):
    link.tables.clear()
    assert not link.handle(SELECT, {"table-id": "nope", "row-list": ["1"]})
    table_id = "t"
    from raveview.interop.samp import SentTable

    link.tables[table_id] = SentTable(table_id, "n", "file:///x.vot", (5, 6))
    assert not link.handle(HIGHLIGHT, {"table-id": "t", "row": "not a number"})
    assert not link.handle(HIGHLIGHT, {"table-id": "t", "row": "7"})
    assert link.handle(SELECT, {"url": "file:///x.vot", "row-list": ["1", "9"]})
    assert link.events["select"][-1] == ("n", [6])


def test_qt_bridge_selects_stars_in_the_window(tmp_path, qapp):
    import time

    from gui_helpers import write_dr6_files

    from raveview.gui.app import create_main_window
    from raveview.gui.samp_bridge import attach, send_current_results

    (tmp_path / "d").mkdir()
    win = create_main_window(write_dr6_files(tmp_path / "d", 5), load_model=False)
    assert win.wait_idle(30)
    asked = []
    bridge = attach(win, lockfile=tmp_path / "hub.lock", ask=lambda parent: asked.append(parent) or True)
    topcat = None
    try:
        table_id = send_current_results(win, bridge)
        assert asked == [win] and table_id is not None  # no hub ran: the user agreed to start one
        topcat = FakeTopcat(tmp_path / "hub.lock")
        raveview_id = next(cid for cid in topcat.client.get_registered_clients()
                           if topcat.client.get_metadata(cid).get("samp.name") == "raveview")
        topcat.client.notify(raveview_id, {"samp.mtype": SELECT,
                                           "samp.params": {"table-id": table_id, "row-list": ["0", "2"]}})
        end = time.perf_counter() + WAIT
        while time.perf_counter() < end and len(win.star_list.selected_positions()) != 2:
            qapp.processEvents()
            time.sleep(0.01)
        assert sorted(win.star_list.selected_positions().tolist()) == [0, 2]
    finally:
        if topcat is not None:
            topcat.close()
        bridge.close()
        win.close()
