"""Pan/zoom frame time of the Kiel diagram with the full RAVE DR6 size (420 165 stars, density mode).

Usage: ``python bench/gui_diagram_speed.py [--rows N] [--frames N]``. Sets a
synthetic results table of ``--rows`` stars on a :class:`~raveview.gui.kiel_diagram.KielDiagram`
(900 × 500 px, offscreen unless QT_QPA_PLATFORM says otherwise), then times
``--frames`` programmatic range changes (half zooms, half pans), each followed
by a full repaint (``setRange`` + ``processEvents`` + ``grab``). Prints the median
and 95th percentile milliseconds per frame; the target is ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_MS = 100.0


def survey_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` stars spread like a survey: a dwarf main sequence and a red-giant branch."""
    rng = np.random.default_rng(seed)
    giant = rng.random(n) < 0.45
    teff = np.where(giant, rng.normal(4750, 300, n), rng.normal(5800, 500, n))
    logg = np.where(giant, 2.5 + 0.0012 * (teff - 4750) + rng.normal(0, 0.4, n), rng.normal(4.2, 0.25, n))
    return pd.DataFrame({"teff": teff, "logg": logg, "mh": rng.normal(-0.2, 0.3, n),
                         "eteff": np.full(n, 90.0), "elogg": np.full(n, 0.15)})


def main() -> int:
    parser = argparse.ArgumentParser(description="Kiel diagram pan/zoom frame time")
    parser.add_argument("--rows", type=int, default=420_165)
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from raveview.gui.kiel_diagram import KielDiagram

    app = QApplication.instance() or QApplication(sys.argv[:1])
    diagram = KielDiagram()
    diagram.resize(900, 500)
    diagram.show()
    frame = survey_frame(args.rows)
    start = time.perf_counter()
    diagram.set_frame(frame)
    diagram.set_current(0)
    app.processEvents()
    diagram.grab()
    set_ms = 1000 * (time.perf_counter() - start)
    view = diagram.plot.getViewBox()
    (x0, x1), (y0, y1) = view.viewRange()
    times = []
    for i in range(args.frames):
        if i % 2 == 0:  # zoom in and out around the giant branch
            f = 0.3 + 0.6 * (i % 10) / 10
            cx, cy, w, h = 4750, 2.5, f * (x1 - x0), f * (y1 - y0)
        else:  # pan across
            cx, cy = x0 + (x1 - x0) * (0.3 + 0.04 * (i % 10)), y0 + (y1 - y0) * 0.5
            w, h = 0.5 * (x1 - x0), 0.5 * (y1 - y0)
        t = time.perf_counter()
        view.setRange(xRange=(cx - w / 2, cx + w / 2), yRange=(cy - h / 2, cy + h / 2), padding=0)
        app.processEvents()
        diagram.grab()
        times.append(1000 * (time.perf_counter() - t))
    median, p95 = float(np.median(times)), float(np.percentile(times, 95))
    verdict = "within" if median <= TARGET_MS else "SLOWER than"
    print(f"{args.rows} stars ({'density' if diagram.uses_density else 'points'}): set_frame {set_ms:.0f} ms; "
          f"pan/zoom {median:.1f} ms/frame median, {p95:.1f} ms p95 over {args.frames} frames "
          f"({verdict} the {TARGET_MS:.0f} ms target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
