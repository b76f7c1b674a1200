"""Guards against Qt-binding bugs that crash the app (see the PySide6 pin in pyproject.toml)."""

import gc
import sys

import pytest


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_plot_widgets_do_not_over_release_none(qapp):
    """PySide6 6.12.0 with pyqtgraph drops ~530 references to None per PlotWidget.

    None's reference count then reaches zero after a few windows and the
    interpreter aborts ("deallocating None"). The count must not shrink.
    """
    import pyqtgraph as pg

    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(5):
        widget = pg.PlotWidget()
        widget.show()
        qapp.processEvents()
        widget.close()
        del widget
        gc.collect()
        qapp.processEvents()
    assert sys.getrefcount(None) >= before - 50
