"""The training wizard, driven page by page with pytest-qt (offscreen)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from raveview.core.progress import Progress  # noqa: E402
from raveview.gui.wizard import TrainingWizard  # noqa: E402
from raveview.gui.wizard.run_page import LossCurves  # noqa: E402
from raveview.gui.wizard.settings_page import vectorized_available  # noqa: E402

TIMEOUT_MS = 300_000


@pytest.fixture
def wizard(qtbot):
    w = TrainingWizard()
    qtbot.addWidget(w)
    yield w
    w.shutdown()


def test_data_page_reports_bad_inputs(wizard, tmp_path):
    page = wizard.data_page
    page.set_source("files")
    assert page.load() is None
    assert "choose the spectra" in page.status.text()
    page.spectra.setText(str(tmp_path / "missing.fits"))
    page.labels.setText(str(tmp_path))
    assert page.problems() == [f"the spectra {tmp_path / 'missing.fits'} does not exist"]
    page.set_source("mock")
    page.snr_lo.setValue(100)
    page.snr_hi.setValue(20)
    assert page.problems() == ["the S/N range is empty (from > to)"]
    assert not page.isComplete()


def test_data_page_shows_loader_errors(wizard, qtbot, tmp_path):
    page = wizard.data_page
    page.set_source("files")
    (tmp_path / "labels.csv").write_text("rave_obs_id,TEFF\nA,5000\n")
    page.spectra.setText(str(tmp_path))
    page.labels.setText(str(tmp_path / "labels.csv"))
    job = page.load()
    qtbot.waitUntil(lambda: job.settled, timeout=30_000)
    qtbot.waitUntil(lambda: "⚠" in page.status.text(), timeout=5_000)
    assert "lacks the columns" in page.status.text()
    assert not page.isComplete()


def test_loss_curves_from_both_engines():
    curves = LossCurves()
    for epoch, (tr, va) in enumerate(((0.5, 0.4), (0.3, 0.35)), start=1):
        curves.update(Progress(0, 2, "m", payload={"kind": "photometry", "member": 0, "epoch": epoch,
                                                    "train_loss": tr, "val_loss": va}))
    curves.update(Progress(0, 2, "m", payload={"kind": "photometry", "member": 1, "epoch": 1,
                                                "train_loss": 0.6, "val_loss": 0.5}))
    assert curves.test[("photometry", 0)] == [0.4, 0.35]
    assert curves.finished == {("photometry", 0)}  # member 1 started, so member 0 is done
    vec = LossCurves()
    vec.update(Progress(2, 5, "spectroscopy: epoch 2", payload={
        "epoch": 2, "train_loss": [[1.0, 0.5], [1.0, 0.8]], "val_loss": [[0.9, 0.4], [0.9, 0.7]],
        "running": [True, False]}))
    assert vec.train[("spectroscopy", 1)] == [1.0, 0.8]
    np.testing.assert_allclose(vec.last_test_losses(), [0.7])
    assert not curves.update(Progress(1, 1, "no losses"))


@pytest.mark.slow
def test_wizard_trains_20_members_on_5000_mock_stars(wizard, qtbot, tmp_path):
    saved = []
    wizard.model_saved.connect(saved.append)
    wizard.show()
    # 1. data: a 5000-star mock survey
    data = wizard.data_page
    data.set_source("mock")
    data.mock_n.setValue(5000)
    data.mock_seed.setValue(3)
    data.load()
    qtbot.waitUntil(data.isComplete, timeout=TIMEOUT_MS)
    assert len(wizard.state.data.data.ids) == 5000
    assert "repeat observations" in data.status.text()
    usable = int(wizard.state.data.data.phot_usable.sum())  # the paper's parallax-error cut drops a few
    assert 4500 < usable < 5000 and "parallax error of 15% or more" in data.status.text()
    wizard.next()
    # 2. settings: published defaults, then small epochs for speed
    page = wizard.settings_page
    assert (page.members.value(), page.patience.value(), page.max_epochs.value()) == (100, 40, 1000)
    assert page.test_fraction.value() == pytest.approx(0.06) and page.batch_size.value() == 16
    page.members.setValue(20)
    page.max_epochs.setValue(2)
    page.patience.setValue(1)
    page.batch_size.setValue(128)
    page.engine.setCurrentText("vectorized" if vectorized_available() else "keras")
    page.folder.setText(str(tmp_path / "bundle"))
    job = page.estimate()
    qtbot.waitUntil(lambda: job.settled, timeout=TIMEOUT_MS)
    assert page.result is not None and page.result.seconds_per_epoch > 0
    assert page.result.seconds_max == pytest.approx(2 * page.result.seconds_per_epoch)
    wizard.next()
    # 3. run
    run = wizard.run_page
    qtbot.waitUntil(run.isComplete, timeout=TIMEOUT_MS)
    assert len(run.curves.test) == 20 and len(run.curves.finished) == 20
    assert all(1 <= len(v) <= 2 for v in run.curves.test.values())
    assert run.curves.last_test_losses().size == 20
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert len(manifest["ensembles"]["photometry"]["members"]) == 20
    wizard.next()
    # 4. validate
    val = wizard.validate_page
    qtbot.waitUntil(val.isComplete, timeout=TIMEOUT_MS)
    v = val.validation
    assert v.y_pred.shape == (usable, 9) and int(v.test.sum()) == int(np.ceil(0.06 * usable))
    test_stats = v.stats("test")
    sigma_teff = float(np.std(v.y_true[v.test, 0]))
    assert 0 < test_stats["teff"].sigma < 2 * sigma_teff  # a real, finite fit
    assert val.repeats["teff"].differences.size > 100  # the mock has repeats sharing source_id
    files = val.export(tmp_path / "figs") + val.export(tmp_path / "figs", suffix=".pdf")
    assert len(files) == 10 and all(f.stat().st_size > 1000 for f in files)
    assert files[-1].read_bytes()[:4] == b"%PDF"
    wizard.next()
    # 5. save
    save = wizard.save_page
    save.name.setText("wizard test model")
    save.description.setPlainText("20 members, 2 epochs, mock data")
    wizard.accept()
    assert saved == [tmp_path / "bundle"]
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["name"] == "wizard test model" and manifest["trained_on"].startswith("MOCK")


def test_validation_plots_show_plain_label_values(qtbot):
    # abundance ratios of ~0.1 dex must not be drawn as "input (x0.001)" with ticks of 100
    import pyqtgraph as pg

    from raveview.core.labels import LABEL_KEYS
    from raveview.gui.wizard.validation_plots import abundance_patterns, kiel_diagrams, one_to_one
    from raveview.ml.validation import Validation

    rng = np.random.default_rng(0)
    y = np.column_stack([rng.uniform(4000, 7000, 50), rng.uniform(1, 4.5, 50)] +
                        [rng.uniform(-0.1, 0.4, 50) for _ in LABEL_KEYS[2:]])
    v = Validation(LABEL_KEYS, y, y + rng.normal(0, 0.01, y.shape), np.full(y.shape, 0.01), None,
                   np.arange(50) % 5 == 0)
    for draw in (one_to_one, kiel_diagrams, abundance_patterns):
        layout = pg.GraphicsLayoutWidget()
        qtbot.addWidget(layout)
        draw(layout, v)
        plots = [item for item in layout.ci.items if isinstance(item, pg.PlotItem)]
        assert plots
        for plot in plots:
            for axis in ("left", "bottom"):
                assert not plot.getAxis(axis).autoSIPrefix, (draw.__name__, axis)


def test_data_page_parallax_cut_is_a_setting(wizard, qtbot):
    data = wizard.data_page
    data.set_source("mock")
    data.mock_n.setValue(300)
    data.mock_seed.setValue(5)
    assert data.parallax_cut.value() == pytest.approx(15.0)   # the paper's training cut by default
    counts = {}
    for percent in (15.0, 0.0):
        data.parallax_cut.setValue(percent)
        data.load()
        qtbot.waitUntil(data.isComplete, timeout=TIMEOUT_MS)
        counts[percent] = int(wizard.state.data.data.phot_usable.sum())
        if percent:
            assert "parallax error of 15% or more" in data.status.text()
        else:
            assert "parallax error" not in data.status.text()
    assert counts[15.0] < counts[0.0] <= 300
