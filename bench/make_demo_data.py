"""Regenerate the demo data shipped under raveview/resources/demo/.

Usage: python bench/make_demo_data.py

Simulates a mock survey and keeps 36 varied observations in the RAVE DR6 layout: dwarfs,
giants, metal-poor stars, warm stars and three of each exotic class, plus their
``photometry.csv`` and ``labels.csv``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from raveview.mock import EXOTIC_CLASSES, simulate_survey, write_survey

OUT = Path(__file__).resolve().parents[1] / "raveview" / "resources" / "demo"
SEED = 2020


def choose(labels) -> list[int]:
    """Row numbers of a varied selection (each source appears once)."""
    first = ~labels["source_id"].duplicated()
    normal = (labels["EXOTIC_CLASS"] == "normal") & first
    groups = [
        normal & (labels["LOGG"] > 3.8) & (labels["TEFF"] < 6300) & (labels["M_H"] > -0.7),   # dwarfs
        normal & (labels["LOGG"] < 3.2) & (labels["M_H"] > -0.7),                           # giants
        normal & (labels["M_H"] < -1.0),                                                      # metal-poor
        normal & (labels["TEFF"] > 6300),                                                     # warm
        normal & labels["LOGG"].between(3.2, 3.8),                                            # subgiants
    ]
    rows: list[int] = []
    for mask, count in zip(groups, (4, 4, 4, 2, 1)):
        rows += [int(i) for i in np.flatnonzero(mask.to_numpy()) if i not in rows][:count]
    for kind in EXOTIC_CLASSES:
        rows += [int(i) for i in np.flatnonzero(((labels["EXOTIC_CLASS"] == kind) & first).to_numpy())[:3]]
    return rows


def main() -> None:
    survey = simulate_survey(1500, seed=SEED, snr_range=(20.0, 150.0), exotic_fraction=0.15)
    demo = survey.subset(choose(survey.labels))
    if OUT.exists():
        shutil.rmtree(OUT)
    write_survey(demo, OUT)
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(demo)} spectra to {OUT} ({size / 1e6:.2f} MB)")
    print(demo.labels["EXOTIC_CLASS"].value_counts().to_string())


if __name__ == "__main__":
    main()
