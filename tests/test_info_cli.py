"""``raveview info``: real Indo-US spectra, a synthetic DR6 file, a Gaia RVS CSV, bad files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from raveview.cli.main import main
from raveview.core.airvac import vacuum_to_air
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io import write_matrix, write_rave_dr6


def _gaia_csv(path: Path, source_id: int) -> Path:
    rng = np.random.default_rng(3)
    wave = 846.0 + 0.01 * np.arange(2401)
    flux = 1.0 + 0.02 * rng.standard_normal(wave.size)
    rows = [f"{source_id},{w:.2f},{'' if i < 24 else f'{f:.5f}'},0.02" for i, (w, f) in enumerate(zip(wave, flux))]
    path.write_text("source_id,wavelength,flux,flux_error\n" + "\n".join(rows) + "\n")
    return path


def _field(block: str, name: str) -> str:
    match = re.search(rf"^  {name}\s+(.*)$", block, flags=re.M)
    assert match, f"no {name!r} line in {block!r}"
    return match.group(1)


def test_info_dr6_and_gaia(tmp_path, capsys):
    dr6 = write_rave_dr6(tmp_path / "rave.fits", np.ones(1000), np.full(1000, 0.02), 8410.0, 0.4,
                         "20121220_0752m38_089", header={"SNR": 55.5, "SOURCEID": 6045678901234567890})
    gaia = _gaia_csv(tmp_path / "gaia_rvs.csv", 4295806720)
    assert main(["info", str(dr6), str(gaia)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rave_block, gaia_block = out.strip().split("\n" + str(gaia) + "\n")
    assert rave_block.startswith(str(dr6))
    assert _field(rave_block, "format") == "rave-dr6"
    assert _field(rave_block, "ids") == "rave_obs_id 20121220_0752m38_089, source_id 6045678901234567890"
    assert _field(rave_block, "pixels") == "1000, 8410.00–8809.60 Å, step 0.4 Å"
    assert _field(rave_block, "model grid").startswith("100.0% of 8420.00–8784.40 Å")
    assert _field(rave_block, "S/N") == "55.5"
    assert _field(gaia_block, "format") == "gaia-rvs"
    assert _field(gaia_block, "ids") == "rave_obs_id –, source_id 4295806720"
    lo, hi = float(vacuum_to_air(8460.0)), float(vacuum_to_air(8700.0))
    assert _field(gaia_block, "pixels").startswith(f"2401, {lo:.2f}–{hi:.2f} Å")
    coverage = float(_field(gaia_block, "model grid").split("%")[0])
    assert coverage == pytest.approx(100 * (hi - lo) / (DEFAULT_GRID.end - DEFAULT_GRID.start), abs=1.0)
    snr = _field(gaia_block, "S/N")
    assert snr.endswith("(est.)") and 35 < float(snr.split()[0]) < 65  # 2 % noise → S/N ≈ 50
    assert _field(gaia_block, "bad pixels") == "1.00%"  # 24 of 2401 bins empty


def test_info_real_indo_us(indo_us_dir, capsys):
    files = sorted(str(p) for p in indo_us_dir.glob("*.fits"))
    assert main(["info", *files]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("  format      fits-image") == len(files)
    assert out.count("100.0% of 8420.00–8784.40 Å covered") == len(files)
    assert out.count("S/N         n/a (est.)") == 2  # the two flat dummies
    assert len(re.findall(r"S/N\s+\d+\.\d \(est\.\)", out)) == len(files) - 2
    titles = [line for line in out.splitlines() if not line.startswith("  ")]
    assert titles == files


def test_info_table_folder_and_multi_spectrum(tmp_path, capsys):
    write_matrix(tmp_path / "m.fits", DEFAULT_GRID.wavelength, np.ones((3, 912)),
                 ids={"rave_obs_id": ["A", "B", "C"], "source_id": [1, 2, 3], "snr": [10.0, 20.0, 30.0]})
    assert main(["info", "--table", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t")[:3] == ["file", "#", "format"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[1] for r in rows] == ["1", "2", "3"]
    assert [r[3] for r in rows] == ["A", "B", "C"]
    assert [r[10] for r in rows] == ["10.0", "20.0", "30.0"]
    assert all(r[9] == "100.0%" for r in rows)


def test_info_goes_on_after_bad_files(tmp_path, capsys):
    (tmp_path / "empty.fits").write_bytes(b"")
    good = write_rave_dr6(tmp_path / "good.fits", np.ones(100), np.full(100, 0.1), 8500.0, 0.4, "G")
    far = tmp_path / "far.txt"
    np.savetxt(far, np.column_stack([np.linspace(5000, 5100, 50), np.ones(50)]))
    code = main(["info", str(tmp_path / "empty.fits"), str(good), str(far), str(tmp_path / "missing.fits")])
    assert code == 1
    out, err = capsys.readouterr()
    assert "rave_obs_id G" in out and str(far) in out
    assert err.splitlines() == [
        f"raveview: error: {tmp_path / 'empty.fits'}: file is empty",
        f"raveview: error: {far}: wavelengths 5000–5100 Å do not overlap the Ca II triplet region 8420–8784 Å",
        f"raveview: error: {tmp_path / 'missing.fits'}: no such file",
    ]
