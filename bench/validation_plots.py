"""Render the training wizard's validation page for a bundle on a labelled set; export its plots.

Writes ``docs/validation_{one_to_one,kiel,abundances,coverage,repeats}.png``
(and PDFs): trained vs input labels with bias and sigma (the paper's Fig. 6),
Kiel diagrams of input vs predicted labels (Fig. 7), abundance patterns
(Fig. 8), uncertainty coverage before and after calibration, and the precision
on repeat observations with a two-Gaussian fit (Fig. 19).

Usage (the figures in docs/)::

    raveview simulate --n 3000 --seed 2 --out mock_heldout --format matrix
    python bench/validation_plots.py --bundle raveview/resources/models/demo \\
        --spectra mock_heldout/spectra.fits --labels mock_heldout/labels.csv \\
        --photometry mock_heldout/photometry.csv --out docs
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--spectra", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True, help="labels with repeats (same source_id)")
    parser.add_argument("--photometry", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from raveview.gui.wizard import TrainingWizard
    from raveview.gui.wizard.data_sources import WizardData, from_files
    from raveview.gui.wizard.validate_page import compute_validation

    data = None
    for step in from_files(str(args.spectra), str(args.labels), str(args.photometry)):
        if isinstance(step.payload, WizardData):
            data = step.payload
    wizard = TrainingWizard()
    try:
        wizard.state.data = data
        wizard.state.variants = ("photometry",)
        rows = wizard.state.training_rows(("photometry",), mask=True)
        result = compute_validation(args.bundle, data.data.subset(rows), np.asarray(data.source_ids)[rows],
                                    ("photometry",))
        page = wizard.validate_page
        wizard.resize(1400, 1000)
        wizard.show()
        page.show_validation(result)
        app.processEvents()
        print(page.status.text())
        for key, rep in result[1].items():
            print(f"repeat precision {key}: {rep.fit.precision:.4g} from {rep.differences.size} pairs")
        args.out.mkdir(parents=True, exist_ok=True)
        for path in page.export(str(args.out)):
            print("wrote", path)
    finally:
        wizard.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
