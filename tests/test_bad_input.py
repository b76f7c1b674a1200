"""Bad input gives one line naming the file and the cause, as a raveview error type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from raveview.core.errors import RaveviewError, SpectrumDataError, SpectrumFormatError
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io import check_overlap, read_matrix, read_spectrum, write_matrix, write_rave_dr6


def _dr6(path: Path) -> Path:
    return write_rave_dr6(path, np.ones(3000), np.full(3000, 0.05), 8400.0, 0.13, "X")


def empty_file(tmp: Path) -> Path:
    (tmp / "empty.fits").write_bytes(b"")
    return tmp / "empty.fits"


def truncated_fits(tmp: Path) -> Path:
    data = _dr6(tmp / "full.fits").read_bytes()
    (tmp / "cut.fits").write_bytes(data[: len(data) - 3000])
    return tmp / "cut.fits"


def truncated_header(tmp: Path) -> Path:
    data = _dr6(tmp / "full.fits").read_bytes()
    (tmp / "cut.fits").write_bytes(data[:1000])
    return tmp / "cut.fits"


def fits_without_spectrum_hdus(tmp: Path) -> Path:
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(name="OTHER")]).writeto(tmp / "nohdu.fits")
    return tmp / "nohdu.fits"


def not_fits_bytes(tmp: Path) -> Path:
    (tmp / "fake.fits").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return tmp / "fake.fits"


def image_without_wavelength(tmp: Path) -> Path:
    fits.PrimaryHDU(np.ones(300, dtype=np.float32)).writeto(tmp / "nowcs.fits")
    return tmp / "nowcs.fits"


def wavelength_not_increasing(tmp: Path) -> Path:
    wave = np.linspace(8400, 8800, 100)
    wave[50] = 8300.0
    (tmp / "shuffled.csv").write_text("wave,flux\n" + "\n".join(f"{w},1.0" for w in wave))
    return tmp / "shuffled.csv"


def all_nan_flux(tmp: Path) -> Path:
    hdu = fits.PrimaryHDU(np.full(300, np.nan, dtype=np.float32))
    hdu.header.update(CRVAL1=8400.0, CDELT1=0.4)
    hdu.writeto(tmp / "nan.fits")
    return tmp / "nan.fits"


def wrong_unit_micron_as_angstrom(tmp: Path) -> Path:
    hdu = fits.PrimaryHDU(np.ones(300, dtype=np.float32))
    hdu.header.update(CRVAL1=0.84, CDELT1=0.0001, CUNIT1="Angstrom")
    hdu.writeto(tmp / "um.fits")
    return tmp / "um.fits"


def wrong_unit_nm_as_angstrom(tmp: Path) -> Path:
    table = Table({"wavelength": np.linspace(846, 870, 100), "flux": np.ones(100)})
    table["wavelength"].unit = "Angstrom"
    table.write(tmp / "nm.ecsv")
    return tmp / "nm.ecsv"


def csv_missing_flux(tmp: Path) -> Path:
    (tmp / "noflux.csv").write_text("wave,counts\n8400,1\n8401,2\n")
    return tmp / "noflux.csv"


def csv_missing_wave(tmp: Path) -> Path:
    (tmp / "nowave.csv").write_text("x,flux\n8400,1\n8401,2\n")
    return tmp / "nowave.csv"


def unknown_text(tmp: Path) -> Path:
    (tmp / "notes.dat").write_text("hello world\nthis is not a spectrum\n")
    return tmp / "notes.dat"


def matrix_error_shape(tmp: Path) -> Path:
    path = write_matrix(tmp / "m.fits", DEFAULT_GRID.wavelength, np.ones((3, 912)))
    with fits.open(path, mode="append") as hdul:
        hdul.append(fits.ImageHDU(np.ones((912, 2), np.float32), name="ERROR"))
    return path


def matrix_nan_spectrum(tmp: Path) -> Path:
    flux = np.ones((3, 912))
    flux[1] = np.nan
    return write_matrix(tmp / "mnan.fits", DEFAULT_GRID.wavelength, flux)


def gaia_bulk_wrong_length(tmp: Path) -> Path:
    (tmp / "bulk.csv").write_text('source_id,flux,flux_error\n1,"[1.0,1.0,1.0]","[0.1,0.1,0.1]"\n')
    return tmp / "bulk.csv"


CASES = [
    (empty_file, SpectrumFormatError, "file is empty"),
    (truncated_fits, SpectrumFormatError, "truncated FITS file"),
    (truncated_header, SpectrumFormatError, "not a readable FITS file"),
    (fits_without_spectrum_hdus, SpectrumFormatError, "FITS file holds no spectrum"),
    (not_fits_bytes, SpectrumFormatError, "not a FITS file"),
    (image_without_wavelength, SpectrumFormatError, "CRVAL1 keyword is missing"),
    (wavelength_not_increasing, SpectrumDataError, "wavelength not increasing"),
    (all_nan_flux, SpectrumDataError, "all flux values are NaN"),
    (wrong_unit_micron_as_angstrom, SpectrumDataError, "look like the wrong unit"),
    (wrong_unit_nm_as_angstrom, SpectrumDataError, "846–870 Å look like the wrong unit"),
    (csv_missing_flux, SpectrumFormatError, "no flux column"),
    (csv_missing_wave, SpectrumFormatError, "no wavelength column"),
    (unknown_text, SpectrumFormatError, "not a spectrum format raveview knows"),
    (matrix_error_shape, SpectrumFormatError, "ERROR extension has shape"),
    (matrix_nan_spectrum, SpectrumDataError, "spectrum 2: all flux values are NaN"),
    (gaia_bulk_wrong_length, SpectrumFormatError, "expected 2401"),
]


def _assert_one_line(exc: RaveviewError, path: Path, cause: str) -> None:
    text = str(exc)
    assert str(path) in text
    assert cause in text
    assert "\n" not in text
    assert text.startswith(f"{path}: ")


@pytest.mark.parametrize("make, kind, cause", CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_input_one_line_error(tmp_path, make, kind, cause):
    path = make(tmp_path)
    with pytest.raises(kind) as info:
        read_spectrum(path)
    _assert_one_line(info.value, path, cause)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(SpectrumFormatError, match="no such file"):
        read_spectrum(tmp_path / "nope.fits")
    with pytest.raises(SpectrumFormatError, match="is a folder"):
        read_spectrum(tmp_path)
    with pytest.raises(SpectrumFormatError, match="no such file"):
        read_matrix(tmp_path / "nope.fits")


def test_wavelengths_outside_the_grid(tmp_path):
    hdu = fits.PrimaryHDU(np.ones(500, dtype=np.float32))
    hdu.header.update(CRVAL1=6000.0, CDELT1=0.5)
    hdu.writeto(tmp_path / "red.fits")
    spectrum = read_spectrum(tmp_path / "red.fits")
    with pytest.raises(SpectrumDataError) as info:
        check_overlap(spectrum)
    _assert_one_line(info.value, tmp_path / "red.fits",
                     "wavelengths 6000–6249.5 Å do not overlap the Ca II triplet region 8420–8784 Å")


def test_read_matrix_on_a_non_matrix(tmp_path):
    path = not_fits_bytes(tmp_path)
    with pytest.raises(SpectrumFormatError) as info:
        read_matrix(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
