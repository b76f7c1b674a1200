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


def test_cyclic_garbage_is_collected_on_the_gui_thread_only(qapp):
    """The app collects reference cycles from a GUI-thread timer, never from a worker thread.

    A worker thread that triggers a collection would free closed windows there, which can
    deadlock PySide6 (a Qt mutex against the GIL).
    """
    import threading
    import weakref

    from raveview.gui.main_thread_gc import MainThreadGarbageCollector

    class Node:
        pass

    was_enabled = gc.isenabled()
    gc.enable()
    collector = MainThreadGarbageCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        node = Node()
        node.self = node  # a cycle: only the cyclic collector frees it
        alive = weakref.ref(node)
        del node
        junk = []

        def allocate() -> None:  # a worker crossing every threshold many times over
            for _ in range(200_000):
                junk.append(((), ()))
                junk.pop()
                [[] for _ in range(3)]

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert alive() is not None  # the worker's allocations collected nothing
        keep = [Node() for _ in range(2 * gc.get_threshold()[0])]  # generation 0 over its threshold
        collector.check()  # what the timer does on the GUI thread
        assert alive() is None
        del keep
    finally:
        collector.stop()
    assert gc.isenabled()  # stop() gives collection back to the interpreter
    if not was_enabled:
        gc.disable()
