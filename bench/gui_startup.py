"""Cold start-up time of the desktop window, measured from a fresh subprocess.

Usage: ``python bench/gui_startup.py [--repeat N]``. Prints the seconds from
launching ``python`` to the window being shown and the event loop running
(offscreen unless QT_QPA_PLATFORM says otherwise), with the demo spectra opening
and the demo model loading in the background.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import sys
from PySide6.QtCore import QTimer
from raveview.gui.app import application, create_main_window
app = application()
win = create_main_window()
win.show()
def shown():
    sys.stdout.write("shown\n"); sys.stdout.flush()
    QTimer.singleShot(200, app.quit)
QTimer.singleShot(0, shown)
app.exec()
"""


def measure_once() -> float:
    """Seconds from spawning a new Python process until its window is shown."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "shown":
            elapsed = time.perf_counter() - t0
            break
    else:
        raise SystemExit("the window never appeared")
    proc.wait(timeout=120)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description="Cold start-up time of the raveview window")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = [measure_once() for _ in range(args.repeat)]
    print(f"window shown {statistics.median(times):.2f} s after launch (median of {len(times)}: "
          f"{', '.join(f'{t:.2f}' for t in times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
