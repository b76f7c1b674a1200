"""Session files: round trip, relative paths, old versions, newer versions, relinking moved files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from raveview.core.errors import RaveviewError
from raveview.core.session import (FORMAT_VERSION, Session, SessionError, load_session, missing_files, relink,
                                   relink_by_name, save_session)


def _project(root: Path) -> Session:
    (root / "spectra").mkdir(parents=True)
    (root / "model").mkdir()
    files = []
    for name in ("a.fits", "b.fits"):
        (root / "spectra" / name).write_bytes(b"x")
        files.append(root / "spectra" / name)
    (root / "phot.csv").write_text("rave_obs_id\n")
    (root / "results.vot").write_text("<VOTABLE/>")
    return Session(files=files, catalogs=[root / "results.vot"], model=root / "model", photometry=root / "phot.csv",
                   selection=["OBS1", "OBS2"], current="OBS2",
                   vetting={"OBS1": {"flag": "binary", "note": "double lines"}},
                   view={"native": True, "sort": ["oddity", "desc"], "x_range": [8490.5, 8560.0]})


def test_round_trip_with_relative_paths(tmp_path):
    session = _project(tmp_path / "work")
    path = save_session(tmp_path / "work" / "s.rvsession", session)
    document = json.loads(path.read_text())
    assert document["version"] == FORMAT_VERSION
    assert document["files"] == ["spectra/a.fits", "spectra/b.fits"]
    assert document["model"] == "model"
    assert load_session(path) == session

    shutil.move(tmp_path / "work", tmp_path / "moved")  # the folder moves with its session
    again = load_session(tmp_path / "moved" / "s.rvsession")
    assert again.files == [tmp_path / "moved" / "spectra" / "a.fits", tmp_path / "moved" / "spectra" / "b.fits"]
    assert missing_files(again) == []
    assert again.vetting == session.vetting and again.view == session.view


def test_version_1_fixture_still_loads(tmp_path):
    (tmp_path / "old.rvsession").write_text(json.dumps({
        "format": "raveview-session", "version": 1, "files": ["data/x.fits", "/abs/y.fits"],
        "model": "bundles/m1", "selected": ["OBS7"], "flags": {"OBS7": "emission"}}))
    session = load_session(tmp_path / "old.rvsession")
    assert session.files == [tmp_path / "data" / "x.fits", Path("/abs/y.fits")]
    assert session.model == tmp_path / "bundles" / "m1"
    assert session.selection == ["OBS7"]
    assert session.vetting == {"OBS7": {"flag": "emission", "note": ""}}
    assert session.view == {} and session.photometry is None and session.catalogs == []


@pytest.mark.parametrize("content, cause", [
    ({"format": "raveview-session", "version": FORMAT_VERSION + 1}, "newer than this raveview reads"),
    ({"format": "something-else", "version": 1}, "not a raveview session"),
    ({"format": "raveview-session"}, "no valid format version"),
    ({"format": "raveview-session", "version": 2, "files": "a.fits"}, "'files' is not a list"),
    ({"format": "raveview-session", "version": 2, "files": [3]}, "not a path"),
    ({"format": "raveview-session", "version": 2, "vetting": {"a": "b"}}, "'vetting'"),
    ([1, 2], "not a raveview session"),
])
def test_bad_sessions_are_one_line_errors(tmp_path, content, cause):
    path = tmp_path / "bad.rvsession"
    path.write_text(json.dumps(content))
    with pytest.raises(SessionError, match=cause) as info:
        load_session(path)
    assert isinstance(info.value, RaveviewError)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_garbled_missing_and_unwritable(tmp_path):
    (tmp_path / "g.rvsession").write_bytes(b"\xff\xfe{{{")
    with pytest.raises(SessionError, match="invalid JSON"):
        load_session(tmp_path / "g.rvsession")
    with pytest.raises(SessionError, match="cannot read"):
        load_session(tmp_path / "absent.rvsession")
    with pytest.raises(SessionError, match="cannot write"):
        save_session(tmp_path / "no" / "such" / "dir.rvsession", Session())
    with pytest.raises(SessionError, match="plain JSON"):
        save_session(tmp_path / "v.rvsession", Session(view={"x": float("nan")}))


def test_relink_moved_files(tmp_path):
    session = _project(tmp_path / "old")
    save_session(tmp_path / "s.rvsession", session)
    shutil.move(tmp_path / "old", tmp_path / "new")
    loaded = load_session(tmp_path / "s.rvsession")
    assert len(missing_files(loaded)) == 5
    fixed = relink(loaded, tmp_path / "old", tmp_path / "new")
    assert missing_files(fixed) == []
    assert fixed.files[1] == tmp_path / "new" / "spectra" / "b.fits"
    assert len(missing_files(loaded)) == 5  # relink returns a copy


def test_relink_by_name_searches_a_folder(tmp_path):
    session = _project(tmp_path / "old")
    shutil.rmtree(tmp_path / "old" / "spectra")
    (tmp_path / "found" / "deep").mkdir(parents=True)
    (tmp_path / "found" / "deep" / "a.fits").write_bytes(b"x")
    (tmp_path / "found" / "deep" / "deeper").mkdir()
    (tmp_path / "found" / "deep" / "deeper" / "a.fits").write_bytes(b"y")
    fixed, still = relink_by_name(session, tmp_path / "found")
    assert fixed.files[0] == tmp_path / "found" / "deep" / "a.fits"  # the shallowest match
    assert still == [tmp_path / "old" / "spectra" / "b.fits"]
    assert fixed.model == tmp_path / "old" / "model"  # present paths are kept


# --------------------------------------------------------------------------- GUI dialogs


def test_gui_save_and_open_session(tmp_path, qapp):
    import numpy as np
    from gui_helpers import write_dr6_files

    from raveview.gui.app import create_main_window
    from raveview.gui.session_actions import open_session_dialog, save_session_dialog

    (tmp_path / "data").mkdir()
    paths = write_dr6_files(tmp_path / "data", 6)
    win = create_main_window(paths, load_model=False)
    assert win.wait_idle(30) and len(win.store.frame) == 6
    win.star_list.select_positions(np.array([1, 4]))
    win.star_list.set_current(4)
    win.star_list.select_positions(np.array([1, 4]))
    win.vetting["OBS0002"] = {"flag": "binary", "note": "two sets of lines"}
    win.spectrum_view.set_native(True)
    saved = save_session_dialog(win, tmp_path / "data" / "mine")
    assert saved == tmp_path / "data" / "mine.rvsession"
    session = load_session(saved)
    assert sorted(session.selection) == ["OBS0001", "OBS0004"] and session.current == "OBS0004"
    assert len(session.files) == 6 and session.view["native"] is True
    win.close()

    shutil.move(tmp_path / "data", tmp_path / "elsewhere")  # spectra and session move together...
    (tmp_path / "elsewhere" / "star_0003.fits").rename(tmp_path / "star_0003.fits")  # ...but one wanders off
    asked = []
    again = create_main_window([], load_model=False, demo=False)
    restored = open_session_dialog(again, tmp_path / "elsewhere" / "mine.rvsession",
                                   choose_folder=lambda parent, text: asked.append(text) or str(tmp_path))
    assert asked and "1 file(s)" in asked[0] and "star_0003.fits" in asked[0]
    assert restored.files[3] == tmp_path / "star_0003.fits"
    assert again.wait_idle(30)
    for _ in range(20):
        qapp.processEvents()
    assert len(again.store.frame) == 6
    chosen = sorted(again.store.frame.iloc[p]["rave_obs_id"] for p in again.star_list.selected_positions())
    assert chosen == ["OBS0001", "OBS0004"]
    assert again.vetting["OBS0002"]["flag"] == "binary" and again.spectrum_view.native
    again.close()


def test_gui_bad_session_goes_to_messages(tmp_path, qapp):
    from raveview.gui.app import create_main_window
    from raveview.gui.session_actions import open_session_dialog

    (tmp_path / "new.rvsession").write_text('{"format": "raveview-session", "version": 99}')
    win = create_main_window([], load_model=False, demo=False)
    assert open_session_dialog(win, tmp_path / "new.rvsession") is None
    assert win.messages_log[-1].startswith(str(tmp_path / "new.rvsession")) and "newer" in win.messages_log[-1]
    win.close()
