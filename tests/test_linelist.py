"""The shipped Ca II triplet line list."""

from __future__ import annotations

import numpy as np

from raveview.core.linelist import DIAGNOSTIC_LINES, load_linelist


def test_linelist_has_real_transitions_with_sources():
    table = load_linelist()
    assert {"wavelength_air", "species", "element", "ion", "excitation_ev", "loggf", "label", "source"} <= set(table.columns)
    assert table["wavelength_air"].between(8400, 8800).all()
    assert (np.diff(table["wavelength_air"]) >= 0).all()
    assert table["source"].notna().all()
    atomic = load_linelist("atomic")
    assert atomic["loggf"].notna().all() and atomic["excitation_ev"].notna().all()
    ca2 = atomic[atomic["species"] == "Ca II"]
    assert np.allclose(sorted(ca2["wavelength_air"]), [8498.02, 8542.09, 8662.14], atol=0.01)
    # 8542 is the strongest, 8498 the weakest of the triplet (NIST log gf)
    gf = dict(zip(ca2["wavelength_air"].round(0), ca2["loggf"]))
    assert gf[8542.0] > gf[8662.0] > gf[8498.0]
    paschen = atomic[atomic["species"] == "H I"]
    assert "Pa12 8750" in set(paschen["label"]) and len(paschen) >= 6
    for species in ("Fe I", "Si I", "Mg I", "Ti I", "Al I", "Ni I"):
        assert (atomic["species"] == species).any(), species
    assert atomic.loc[atomic["species"] == "Fe I", "ion"].eq(0).all()
    assert atomic.loc[atomic["species"] == "Ca II", "ion"].eq(1).all()
    heads = load_linelist("band_head")
    assert set(heads["species"]) == {"TiO"}


def test_diagnostic_lines_cover_the_triplet():
    waves = [w for _, w in DIAGNOSTIC_LINES]
    labels = [label for label, _ in DIAGNOSTIC_LINES]
    assert waves == sorted(waves)
    for centre in (8498.02, 8542.09, 8662.14):
        assert min(abs(w - centre) for w in waves) < 0.01
    assert any(label.startswith("Pa") for label in labels)
    assert any(label.startswith("Mg I") for label in labels)
