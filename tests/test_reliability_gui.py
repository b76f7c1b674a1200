"""The malformed-input corpus opened in the window: one message per bad file, good stars kept, window usable."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from reliability_corpus import PHOTOMETRY, SPECTRA, good_dr6  # noqa: E402

from raveview.gui.app import create_main_window  # noqa: E402


def test_window_reports_each_bad_file_and_keeps_the_good_ones(tmp_path, qapp):
    bad = []
    for item in SPECTRA:
        sub = tmp_path / item.name
        sub.mkdir()
        bad.append(item.make(sub))
    goods = [good_dr6(tmp_path / f"good{i}.fits", f"GOOD{i:04d}") for i in range(2)]
    win = create_main_window([goods[0], *bad, goods[1]], load_model=False)
    try:
        assert win.wait_idle(60)
        # a readable spectrum of the wrong band is shown (it is a spectrum); the model reports it at prediction
        shown = {str(p) for p in win.store.frame["source_file"]}
        assert shown == {str(goods[0]), str(goods[1]), str(tmp_path / "wrong_band" / "blue_band.csv")}
        for path in bad:
            if path.name == "blue_band.csv":
                continue
            hits = [m for m in win.messages_log if str(path) in m]
            assert len(hits) == 1 and "\n" not in hits[0] and "Traceback" not in hits[0], path
        assert win.messages.count() == len(win.messages_log) >= len(bad) - 1
        # still usable: stepping through the stars and opening more files works
        win.star_list.set_current(1)
        assert win.star_list.current == 1
        win.open_paths([good_dr6(tmp_path / "late.fits", "LATE0001")])
        assert win.wait_idle(30) and "LATE0001" in set(win.store.frame["rave_obs_id"])
    finally:
        win.close()


@pytest.mark.parametrize("bad", [b for b in PHOTOMETRY if b.name in ("phot_wrong_columns", "phot_empty")],
                         ids=lambda b: b.name)
def test_bad_photometry_is_a_message(tmp_path, qapp, bad):
    win = create_main_window([good_dr6(tmp_path / "g.fits")], load_model=False)
    try:
        assert win.wait_idle(30)
        path = bad.make(tmp_path)
        assert win.load_photometry(path) is False
        assert str(path) in win.messages_log[-1] and len(win.store.frame) == 1
    finally:
        win.close()
