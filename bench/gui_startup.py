"""Cold start-up time of the desktop window, measured from a fresh subprocess.

Usage: ``python bench/gui_startup.py [--repeat N] [--sync]``. For each run,
prints the seconds from launching ``python`` to

* **painted**: the first paint of the main window (what the user sees appear),
* **ready**: the docks, menus and panels exist (the demo spectra then open and
  the demo model loads in the background).

The window is started as ``raveview`` starts it (``create_main_window(staged=True)``:
a light window first, the panels built right after its first paint); ``--sync``
builds everything before showing, as scripts and tests do. Offscreen unless
QT_QPA_PLATFORM says otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import sys
from PySide6.QtCore import QEvent, QObject, QTimer
from raveview.gui.app import application, create_main_window
staged = sys.argv[1] == "staged"
app = application()

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Paint and not getattr(self, "seen", False) and obj.isWidgetType() \
                and obj.window() is win:
            self.seen = True
            sys.stdout.write("painted\n"); sys.stdout.flush()
        return False

def ready():
    if getattr(win, "ready", True):
        sys.stdout.write("ready\n"); sys.stdout.flush()
        QTimer.singleShot(100, app.quit)
    else:
        QTimer.singleShot(5, ready)

spy = FirstPaint()
app.installEventFilter(spy)
win = create_main_window(staged=True) if staged else create_main_window()
win.show()
QTimer.singleShot(0, ready)
app.exec()
"""


def measure_once(staged: bool) -> tuple[float, float]:
    """Seconds from spawning a new Python process until its window is first painted, and until it is built."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="raveview-bench-"))  # a first start: no saved layout
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, "staged" if staged else "sync"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    seen: dict[str, float] = {}
    for line in proc.stdout:
        seen[line.strip()] = time.perf_counter() - t0
        if "painted" in seen and "ready" in seen:
            break
    proc.kill()
    proc.wait(timeout=120)
    if "painted" not in seen:
        raise SystemExit("the window was never painted")
    return seen["painted"], seen.get("ready", float("nan"))


def main() -> int:
    parser = argparse.ArgumentParser(description="Cold start-up time of the raveview window")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sync", action="store_true", help="build every panel before showing the window")
    args = parser.parse_args()
    runs = [measure_once(not args.sync) for _ in range(args.repeat)]
    painted, ready = [r[0] for r in runs], [r[1] for r in runs]
    mode = "sync" if args.sync else "staged"
    print(f"[{mode}] window painted {statistics.median(painted):.2f} s after launch "
          f"(median of {len(runs)}: {', '.join(f'{t:.2f}' for t in painted)}); "
          f"panels ready {statistics.median(ready):.2f} s ({', '.join(f'{t:.2f}' for t in ready)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
