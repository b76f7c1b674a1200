"""Spectrum readers: real Indo-US files, synthetic files of every supported layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from raveview.core.airvac import air_to_vacuum, vacuum_to_air
from raveview.core.errors import SpectrumDataError
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io import (
    check_overlap,
    expand_inputs,
    iter_spectra,
    read_matrix,
    read_spectrum,
    write_matrix,
    write_rave_dr6,
)
from raveview.core.io.gaia_rvs import RVS_N, rvs_grid_vacuum_angstrom

RNG = np.random.default_rng(7)


def _flux(n: int) -> np.ndarray:
    return (1.0 - 0.5 * np.exp(-0.5 * ((np.arange(n) - n / 2) / 3.0) ** 2) + 0.01 * RNG.standard_normal(n)).astype(
        np.float32
    )


def _image(path: Path, data: np.ndarray, **keys) -> Path:
    hdu = fits.PrimaryHDU(np.asarray(data, dtype=np.float32))
    for key, value in keys.items():
        hdu.header[key.replace("_", "-") if key == "DC_FLAG" else key] = value
    hdu.writeto(path)
    return path


# --- vacuum / air ---------------------------------------------------------------


def test_vacuum_to_air_ca_triplet():
    air = vacuum_to_air([8500.36, 8544.44, 8664.52])
    np.testing.assert_allclose(air, [8498.02, 8542.09, 8662.14], atol=0.02)


def test_air_to_vacuum_inverts_and_keeps_short_wavelengths():
    wave = np.linspace(3000.0, 10000.0, 50)
    np.testing.assert_allclose(vacuum_to_air(air_to_vacuum(wave)), wave, atol=1e-8)
    assert float(vacuum_to_air(1500.0)) == 1500.0
    assert float(air_to_vacuum(8542.09)) == pytest.approx(8544.44, abs=0.02)


# --- real files -------------------------------------------------------------------


def test_real_indo_us_templates_all_read(indo_us_dir):
    files = sorted(indo_us_dir.glob("*.fits"))
    assert len(files) >= 33
    for path in files:
        spectrum = read_spectrum(path)
        assert spectrum.meta["reader"] == "fits-image"
        assert spectrum.source_file == path
        assert np.all(np.diff(spectrum.wavelength) > 0)
        if path.name.startswith("indo-us_"):
            assert spectrum.n_pixels == 1250
            assert spectrum.wavelength[0] == pytest.approx(8400.2)
            assert spectrum.wavelength[-1] == pytest.approx(8899.8, abs=1e-6)
        else:  # IRAF t*_*.fits: 8300-8900 Å in 0.29311 Å pixels
            assert spectrum.n_pixels == 2048
            assert spectrum.wavelength[1] - spectrum.wavelength[0] == pytest.approx(0.29311187103078)
            assert spectrum.wavelength[-1] == pytest.approx(8900.0, abs=1e-6)
        assert check_overlap(spectrum) is spectrum
    flat = read_spectrum(indo_us_dir / "tk.fits")
    assert np.all(flat.flux == 1.0)
    hd = read_spectrum(indo_us_dir / "indo-us_HD122563.fits")
    # Ca II 8542 is the deepest line of the real spectrum
    assert abs(hd.wavelength[np.argmin(hd.flux)] - 8542.1) < 1.0


# --- RAVE DR6 ------------------------------------------------------------------------


def test_rave_dr6_round_trip(tmp_path):
    flux = _flux(1000)
    rel = np.full(1000, 0.02, dtype=np.float32)
    path = write_rave_dr6(tmp_path / "s.fits", flux, rel, 8410.0, 0.38, "20121220_0752m38_089",
                          header={"SNR": 55.5, "SOURCEID": 123456789012345678})
    spectrum = read_spectrum(path)
    assert spectrum.meta["reader"] == "rave-dr6"
    assert spectrum.rave_obs_id == "20121220_0752m38_089"
    assert spectrum.source_id == 123456789012345678
    assert spectrum.snr == 55.5
    np.testing.assert_allclose(spectrum.wavelength[[0, -1]], [8410.0, 8410.0 + 0.38 * 999], rtol=1e-12)
    np.testing.assert_allclose(spectrum.sigma, np.abs(flux) * 0.02, rtol=1e-6)


# --- generic FITS images ----------------------------------------------------------------


def test_fits_image_cd1_1_and_nm_unit(tmp_path):
    path = _image(tmp_path / "nm.fits", _flux(500), CRVAL1=841.0, CD1_1=0.08, CRPIX1=1.0, CUNIT1="nm")
    spectrum = read_spectrum(path)
    np.testing.assert_allclose(spectrum.wavelength[[0, 1]], [8410.0, 8410.8])


def test_fits_image_log_linear_dc_flag_and_crpix(tmp_path):
    path = _image(tmp_path / "log.fits", _flux(400), CRVAL1=np.log10(8500.0), CDELT1=2e-5, CRPIX1=11.0, DC_FLAG=1)
    spectrum = read_spectrum(path)
    assert spectrum.wavelength[10] == pytest.approx(8500.0)
    assert spectrum.wavelength[11] == pytest.approx(8500.0 * 10**2e-5)
    assert spectrum.meta["dispersion"] == "log10"


def test_fits_image_wave_log_paper_iii(tmp_path):
    path = _image(tmp_path / "wl.fits", _flux(300), CRVAL1=8500.0, CDELT1=0.4, CRPIX1=1.0, CTYPE1="WAVE-LOG")
    spectrum = read_spectrum(path)
    assert spectrum.wavelength[0] == pytest.approx(8500.0)
    assert spectrum.wavelength[100] == pytest.approx(8500.0 * np.exp(40.0 / 8500.0))


def test_fits_image_wat_units_negative_step_and_one_row(tmp_path):
    flux = _flux(300)
    path = _image(tmp_path / "row.fits", flux[np.newaxis, :], CRVAL1=8780.0, CDELT1=-0.5, CRPIX1=1.0,
                  WAT1_001="wtype=linear label=Wavelength units=angstroms")
    spectrum = read_spectrum(path)
    assert spectrum.wavelength[0] == pytest.approx(8780.0 - 0.5 * 299)
    np.testing.assert_allclose(spectrum.flux, flux[::-1])


def test_fits_image_iraf_bands_and_multispec(tmp_path):
    bands = np.stack([_flux(200)[np.newaxis, :], np.zeros((1, 200), np.float32)])  # (bands, aps, pix)
    spectrum = read_spectrum(_image(tmp_path / "bands.fits", bands, CRVAL1=8450.0, CDELT1=1.0))
    np.testing.assert_allclose(spectrum.flux, bands[0, 0], rtol=1e-6)
    assert spectrum.meta["iraf_band"] == 1

    hdu = fits.PrimaryHDU(np.stack([_flux(100), _flux(100)]))
    hdu.header["CTYPE1"] = "MULTISPE"
    hdu.header["WAT0_001"] = "system=multispec"
    hdu.header["WAT1_001"] = "wtype=multispec label=Wavelength units=angstroms"
    hdu.header["WAT2_001"] = 'wtype=multispec spec1 = "1 1 0 8500. 0.5 100 0. 1. 2." spec2 = "2 2 1 3.93'
    hdu.header["WAT2_002"] = ' 1.0E-5 100 0. 3. 4."'
    hdu.writeto(tmp_path / "ms.fits")
    first, second = read_spectrum(tmp_path / "ms.fits")
    assert first.wavelength[2] == pytest.approx(8501.0)
    assert second.wavelength[0] == pytest.approx(10**3.93)
    assert second.meta["row"] == 1


def test_fits_image_sdss_coefficients(tmp_path):
    spectrum = read_spectrum(_image(tmp_path / "c.fits", _flux(100), COEFF0=3.9, COEFF1=1e-4))
    assert spectrum.wavelength[1] == pytest.approx(10 ** 3.9001)


# --- tables ---------------------------------------------------------------------------------


def test_fits_binary_table_with_units_and_ivar(tmp_path):
    wave = np.linspace(842.0, 878.0, 600)
    flux = _flux(600)
    ivar = np.full(600, 2500.0)
    ivar[5] = 0.0
    table = Table({"WAVE": wave, "FLUX": flux, "IVAR": ivar})
    table["WAVE"].unit = "nm"
    table.write(tmp_path / "t.fits")
    spectrum = read_spectrum(tmp_path / "t.fits")
    assert spectrum.meta["reader"] == "table"
    np.testing.assert_allclose(spectrum.wavelength, wave * 10)
    assert spectrum.sigma[0] == pytest.approx(0.02)
    assert np.isnan(spectrum.sigma[5])


def test_ecsv_with_angstrom_unit_and_error_column(tmp_path):
    table = Table({"Wavelength": np.linspace(8400, 8800, 300), "flux_norm": _flux(300), "err": np.full(300, 0.01)})
    table["Wavelength"].unit = "Angstrom"
    table.write(tmp_path / "s.ecsv")
    spectrum = read_spectrum(tmp_path / "s.ecsv")
    assert spectrum.wavelength[0] == 8400.0
    np.testing.assert_allclose(spectrum.sigma, 0.01)


@pytest.mark.parametrize("scale, expected_first", [(1.0, 8400.0), (0.1, 8400.0)])
def test_plain_csv_unitless_rule(tmp_path, scale, expected_first):
    wave = np.linspace(8400, 8800, 200) * scale  # Å, or nm (< 2000 → nm)
    lines = ["lambda,f"] + [f"{w:.5f},{f:.5f}" for w, f in zip(wave, _flux(200))]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    spectrum = read_spectrum(tmp_path / "s.csv")
    assert spectrum.wavelength[0] == pytest.approx(expected_first)
    assert spectrum.sigma is None


def test_csv_loglam_and_one_row_array_table(tmp_path):
    lines = ["loglam,flux"] + [f"{3.925 + 1e-5 * i:.6f},1.0" for i in range(100)]
    (tmp_path / "l.csv").write_text("\n".join(lines))
    assert read_spectrum(tmp_path / "l.csv").wavelength[0] == pytest.approx(10**3.925)
    Table({"wave": [np.linspace(8400, 8800, 50)], "flux": [np.ones(50)]}).write(tmp_path / "row.fits")
    assert read_spectrum(tmp_path / "row.fits").n_pixels == 50


# --- Gaia RVS ----------------------------------------------------------------------------------


def _gaia_datalink_csv(path: Path, source_id: int, empty: tuple[int, ...] = ()) -> Path:
    wave = 846.0 + 0.01 * np.arange(RVS_N)
    lines = ["source_id,wavelength,flux,flux_error"]
    for i, w in enumerate(wave):
        flux = "" if i in empty else f"{1.0 - 0.4 * np.exp(-0.5 * ((w - 854.444) / 0.05) ** 2):.5f}"
        lines.append(f"{source_id},{w:.2f},{flux},0.01")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_gaia_datalink_csv_vacuum_to_air_and_mask(tmp_path):
    path = _gaia_datalink_csv(tmp_path / "rvs.csv", 4295806720, empty=(0, 1, 2))
    spectrum = read_spectrum(path)
    assert spectrum.meta["reader"] == "gaia-rvs"
    assert spectrum.source_id == 4295806720
    assert spectrum.n_pixels == RVS_N
    np.testing.assert_allclose(spectrum.wavelength, vacuum_to_air(rvs_grid_vacuum_angstrom()), atol=1e-9)
    assert spectrum.mask[:3].all() and not spectrum.mask[3:].any()
    # the line at 854.444 nm vacuum (Ca II 8544.44 Å) lands within a 0.1 Å pixel of 8542.09 Å air
    assert spectrum.wavelength[np.nanargmin(spectrum.flux)] == pytest.approx(8542.09, abs=0.06)


def test_gaia_datalink_ecsv_two_sources(tmp_path):
    wave = np.tile(846.0 + 0.01 * np.arange(100), 2)
    table = Table({"source_id": np.repeat([1, 2], 100), "wavelength": wave, "flux": np.ones(200),
                   "flux_error": np.full(200, 0.02)})
    table["wavelength"].unit = "nm"
    table.write(tmp_path / "two.ecsv")
    spectra = read_spectrum(tmp_path / "two.ecsv")
    assert [s.source_id for s in spectra] == [1, 2]
    assert spectra[0].wavelength[0] == pytest.approx(float(vacuum_to_air(8460.0)))


def test_gaia_bulk_csv_strings_and_ecsv_arrays(tmp_path):
    flux = np.ones((2, RVS_N))
    flux[0, :10] = np.nan
    lines = ["solution_id,source_id,ra,dec,flux,flux_error"]
    for k, sid in enumerate((11, 22)):
        cells = ",".join("null" if np.isnan(v) else f"{v:.3f}" for v in flux[k])
        lines.append(f'1,{sid},10.0,20.0,"[{cells}]","[{",".join(["0.01"] * RVS_N)}]"')
    (tmp_path / "RvsMeanSpectrum_000.csv").write_text("\n".join(lines) + "\n")
    spectra = read_spectrum(tmp_path / "RvsMeanSpectrum_000.csv")
    assert [s.source_id for s in spectra] == [11, 22]
    assert spectra[0].meta["reader"] == "gaia-rvs-bulk"
    assert spectra[0].mask[:10].all() and spectra[1].mask is None
    np.testing.assert_allclose(spectra[1].sigma, 0.01)

    Table({"source_id": [5, 6], "flux": flux, "flux_error": np.full((2, RVS_N), 0.02)}).write(tmp_path / "b.ecsv")
    bulk = read_spectrum(tmp_path / "b.ecsv")
    assert [s.source_id for s in bulk] == [5, 6] and bulk[0].n_pixels == RVS_N


# --- plain ASCII --------------------------------------------------------------------------------


def test_ascii_two_and_three_columns(tmp_path):
    wave = np.linspace(8400, 8800, 100)
    np.savetxt(tmp_path / "two.txt", np.column_stack([wave, np.ones(100)]), header="my spectrum")
    np.savetxt(tmp_path / "three.dat", np.column_stack([wave / 10, np.ones(100), np.full(100, 0.05)]))
    two, three = read_spectrum(tmp_path / "two.txt"), read_spectrum(tmp_path / "three.dat")
    assert two.meta["reader"] == "ascii-columns" and two.sigma is None
    np.testing.assert_allclose(three.wavelength, wave)  # nm → Å by the unitless rule
    np.testing.assert_allclose(three.sigma, 0.05)
    (tmp_path / "named.asc").write_text("flux wave\n" + "\n".join(f"1.0 {w}" for w in wave))
    assert read_spectrum(tmp_path / "named.asc").wavelength[0] == 8400.0


# --- matrix files ------------------------------------------------------------------------------


def test_matrix_round_trip_fast_path_and_spectra(tmp_path):
    wave = DEFAULT_GRID.wavelength
    flux = RNG.normal(1.0, 0.01, (5, wave.size)).astype(np.float32)
    rel = np.full_like(flux, 0.03)
    ids = {"rave_obs_id": ["a", "b", "", "d", "e"], "source_id": [1, 2, 3, -1, 5], "snr": [10, 20, 30, 40, np.nan]}
    path = write_matrix(tmp_path / "m.fits", wave, flux, rel, ids)
    raw = fits.getdata(path)
    assert raw.shape == (912, 5)  # pixels × spectra, as in the published training layout
    matrix = read_matrix(path)
    np.testing.assert_array_equal(matrix.flux, flux)
    np.testing.assert_allclose(matrix.wavelength, wave, atol=1e-9)
    assert matrix.rave_obs_id == ["a", "b", None, "d", "e"]
    np.testing.assert_array_equal(matrix.source_id, [1, 2, 3, -1, 5])
    spectra = read_spectrum(path)
    assert len(spectra) == 5 and spectra[0].meta["reader"] == "matrix"
    assert spectra[2].rave_obs_id is None and spectra[3].source_id is None and spectra[4].snr is None
    np.testing.assert_allclose(spectra[1].sigma, np.abs(flux[1]) * 0.03, rtol=1e-6)


def test_matrix_without_wavelength_keywords_assumes_default_grid(tmp_path):
    fits.PrimaryHDU(np.ones((912, 3), dtype=np.float32)).writeto(tmp_path / "train.fits")
    matrix = read_matrix(tmp_path / "train.fits")
    np.testing.assert_allclose(matrix.wavelength, DEFAULT_GRID.wavelength)
    assert "default grid" in matrix.meta["wavelength_assumed"]
    spectra = read_spectrum(tmp_path / "train.fits")
    assert len(spectra) == 3 and "wavelength_assumed" in spectra[0].meta


def test_write_matrix_rejects_nonlinear_grid(tmp_path):
    with pytest.raises(ValueError):
        write_matrix(tmp_path / "x.fits", np.geomspace(8400, 8800, 10), np.ones((2, 10)))


# --- inputs ------------------------------------------------------------------------------------


def test_expand_inputs_folders_globs_lists(tmp_path):
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("a/one.fits", "a/b/two.csv", ".hidden/three.fits", "a/.four.fits", "a/notes.md"):
        (tmp_path / name).write_bytes(b"x")
    found = expand_inputs(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/one.fits", "a/b/two.csv"]
    assert expand_inputs(str(tmp_path / "a" / "*.fits")) == [tmp_path / "a" / "one.fits"]
    (tmp_path / "list.txt").write_text("# my files\na/one.fits\na/b\nmissing.fits\n")
    assert expand_inputs(tmp_path / "list.txt") == [tmp_path / "a/one.fits", tmp_path / "a/b/two.csv",
                                                    tmp_path / "missing.fits"]


def test_iter_spectra_expands_multi_files_and_reports_errors(tmp_path):
    write_matrix(tmp_path / "m.fits", DEFAULT_GRID.wavelength, np.ones((3, 912)))
    write_rave_dr6(tmp_path / "s.fits", np.ones(100), np.full(100, 0.1), 8450.0, 0.4, "X")
    (tmp_path / "bad.fits").write_bytes(b"not fits at all")
    items = list(iter_spectra([tmp_path]))
    assert [p.name for p, _, _ in items] == ["bad.fits", "m.fits", "m.fits", "m.fits", "s.fits"]
    assert items[0][1] is None and "not a FITS file" in str(items[0][2])
    assert all(s is not None and e is None for _, s, e in items[1:])


def test_check_overlap_rejects_far_spectra(tmp_path):
    np.savetxt(tmp_path / "blue.txt", np.column_stack([np.linspace(5000, 5500, 50), np.ones(50)]))
    spectrum = read_spectrum(tmp_path / "blue.txt")  # opening it is fine
    with pytest.raises(SpectrumDataError, match="do not overlap the Ca II triplet region"):
        check_overlap(spectrum)


def test_gzipped_gaia_bulk_csv(tmp_path):
    import gzip

    row = '1,{sid},"[{flux}]","[{err}]"'
    lines = ["solution_id,source_id,flux,flux_error"] + [
        row.format(sid=sid, flux=",".join(["0.9"] * RVS_N), err=",".join(["0.1"] * RVS_N)) for sid in (8, 9)
    ]
    with gzip.open(tmp_path / "RvsMeanSpectrum_1.csv.gz", "wt") as handle:
        handle.write("\n".join(lines))
    spectra = read_spectrum(tmp_path / "RvsMeanSpectrum_1.csv.gz")
    assert [s.source_id for s in spectra] == [8, 9]
    np.testing.assert_allclose(spectra[1].flux, 0.9)
