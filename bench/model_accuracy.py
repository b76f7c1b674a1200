"""Accuracy of a model bundle on a held-out labelled set; writes a Markdown table.

For each ensemble of the bundle (with photometry, spectroscopy only) it
predicts every star of the held-out set and reports the bias and 1-sigma
scatter per label, the photometry gain (how much the scatter shrinks when the
absolute magnitudes are used), and the fraction of residuals within 1 sigma of
the raw ensemble spread and of the calibrated uncertainty.

Held-out stars with a relative parallax error of ``--max-parallax-error`` (default
20 %, the paper's quality criterion) or more are left out; 0 keeps them all.
When ``--out`` exists, everything after its line ``<!-- notes -->`` is kept
below the regenerated tables.

Usage (the figures in docs/model_accuracy.md)::

    raveview simulate --n 3000 --seed 2 --out mock_heldout --format matrix
    python bench/model_accuracy.py --bundle raveview/resources/models/demo \\
        --spectra mock_heldout/spectra.fits --labels mock_heldout/labels.csv \\
        --photometry mock_heldout/photometry.csv --out docs/model_accuracy.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np


NOTES_MARK = "<!-- notes -->"


def _drain(gen):
    last = None
    for step in gen:
        if step.payload is not None:
            last = step.payload
    return last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--spectra", type=Path, required=True, help="matrix FITS or folder of spectra")
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--photometry", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="Markdown file to write (default: print)")
    parser.add_argument("--max-parallax-error", type=float, default=0.2,
                        help="leave out stars with a larger relative parallax error (default %(default)s; 0: none)")
    args = parser.parse_args(argv)

    from raveview.core.labels import LABELS_BY_KEY
    from raveview.ml.bundle import ModelBundle
    from raveview.ml.training_data import load_training_set
    from raveview.ml.validation import validate_bundle

    bundle = ModelBundle.load(args.bundle)
    cut = args.max_parallax_error if args.max_parallax_error > 0 else None
    data = _drain(load_training_set(args.spectra, args.labels, args.photometry, grid=bundle.grid,
                                    max_parallax_error=cut))
    usable = data.phot_usable if data.phot_usable is not None else np.zeros(len(data.ids), bool)
    rows = np.flatnonzero(usable)  # compare both ensembles on the same stars
    results = {}
    for kind in bundle.kinds:
        x_phot = data.x_phot[rows] if kind == "photometry" else None
        results[kind] = validate_bundle(bundle, data.x_spec[rows], x_phot, data.y[rows], kind=kind,
                                        test=np.ones(len(rows), bool))

    lines = [
        f"# Accuracy of the model bundle `{bundle.name}` (id {bundle.id})",
        "",
        f"Trained on: {bundle.trained_on}",
        "",
        f"Held-out set: {len(rows)} stars with usable photometry"
        + (f" and a parallax error below {cut:.0%}" if cut else "")
        + f", never seen in training (`{args.spectra.name}`, `{args.labels.name}`).",
        "",
        "Made with:",
        "",
        "    python bench/model_accuracy.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        "",
        "## Bias and 1σ scatter (prediction − true label)",
        "",
    ]
    kinds = list(results)
    header = "| label | " + " | ".join(f"{k}: bias | {k}: σ" for k in kinds)
    if set(kinds) == {"photometry", "spectroscopy"}:
        header += " | σ reduction with photometry"
    lines += [header + " |", "|" + "---|" * (1 + 2 * len(kinds) + (len(kinds) == 2)) ]
    for key in bundle.label_order:
        label = LABELS_BY_KEY[key]
        cells = []
        for kind in kinds:
            stat = results[kind].stats("test")[key]
            cells += [f"{stat.bias:+.3g}", f"{stat.sigma:.3g}"]
        row = f"| {label.display} [{label.unit}] | " + " | ".join(cells)
        if len(kinds) == 2:
            s_phot = results["photometry"].stats("test")[key].sigma
            s_spec = results["spectroscopy"].stats("test")[key].sigma
            row += f" | {100 * (1 - s_phot / s_spec):.0f} %"
        lines.append(row + " |")
    lines += ["", "## Uncertainty coverage: fraction of residuals within ±1σ (Gaussian: 68 %)", ""]
    lines += ["| label | " + " | ".join(f"{k}: raw spread | {k}: calibrated" for k in kinds) + " |",
              "|" + "---|" * (1 + 2 * len(kinds))]
    k1 = np.array([1.0])
    for key in bundle.label_order:
        cells = []
        for kind in kinds:
            v = results[kind]
            j = v.column(key)
            raw = v.coverage(False, "test", k1)[0, j]
            cal = v.coverage(True, "test", k1)[0, j] if v.sigma_cal is not None else float("nan")
            cells += [f"{100 * raw:.0f} %", f"{100 * cal:.0f} %"]
        lines.append(f"| {LABELS_BY_KEY[key].display} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if args.out and args.out.exists() and NOTES_MARK in (old := args.out.read_text(encoding="utf-8")):
        text += "\n" + NOTES_MARK + old.split(NOTES_MARK, 1)[1]
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
