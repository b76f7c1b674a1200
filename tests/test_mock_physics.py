"""The mock spectra respond to the labels the way real Ca-triplet spectra do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raveview.core.grid import DEFAULT_GRID, WavelengthGrid
from raveview.mock import model_spectrum
from raveview.mock.diagnostics import cat_index, cat_min_depth

WIDE = WavelengthGrid(8400.2, 0.4, 1000)  # the Indo-US sampling, covers the CaT continuum bands


def _depth(flux: np.ndarray, grid: WavelengthGrid, centre: float) -> np.ndarray:
    i = int(round((centre - grid.start) / grid.step))
    return 1.0 - np.atleast_2d(flux)[:, i - 1:i + 2].min(axis=1)


def test_model_spectrum_shapes_and_inputs():
    one = model_spectrum({"teff": 5000.0, "logg": 2.5, "mh": 0.0})
    assert one.shape == (1, DEFAULT_GRID.n) and one.dtype == np.float32
    table = pd.DataFrame({"TEFF": [5000.0, 6000.0], "LOGG": [2.5, 4.3], "M_H": [0.0, -0.5]})
    two = model_spectrum(table)
    assert two.shape == (2, 912)
    np.testing.assert_allclose(two[0], one[0], atol=1e-6)
    assert np.all(two > 0.05) and np.all(two < 1.001)
    with pytest.raises(KeyError):
        model_spectrum({"teff": 5000.0})


def test_cat_stronger_in_metal_rich_and_low_gravity_stars():
    mh = np.array([-2.0, -1.0, -0.5, 0.0, 0.4])
    flux = model_spectrum({"teff": 4800.0, "logg": 2.5, "mh": mh, "alpham": np.clip(-0.3 * mh, 0, 0.3)}, WIDE)
    ews = cat_index(WIDE.wavelength, flux)
    assert np.all(np.diff(ews) > 0), ews
    logg = np.array([4.5, 3.5, 2.5, 1.5])
    flux = model_spectrum({"teff": 4800.0, "logg": logg, "mh": 0.0}, WIDE)
    ews = cat_index(WIDE.wavelength, flux)
    assert np.all(np.diff(ews) > 0), ews


def test_weak_lines_grow_as_teff_falls_and_with_abundances():
    teff = np.array([6500.0, 5800.0, 5000.0, 4400.0])
    flux = model_spectrum({"teff": teff, "logg": 2.5, "mh": 0.0}, WIDE)
    windows = ((WIDE.wavelength > 8604) & (WIDE.wavelength < 8640)) | ((WIDE.wavelength > 8676) & (WIDE.wavelength < 8735))
    weak = 1.0 - flux[:, windows].mean(axis=1)  # the mock continuum is exactly 1
    assert np.all(np.diff(weak) > 0), weak
    base = {"teff": 4800.0, "logg": 2.5, "mh": 0.0, "feh": 0.0}
    flux = model_spectrum({**base, "mgfe": np.array([-0.2, 0.3]), "alfe": np.array([-0.2, 0.3]),
                           "feh": np.array([-0.3, 0.2])}, WIDE)
    assert np.all(np.diff(_depth(flux, WIDE, 8736.0)) > 0.005)   # Mg I 8736 follows [Mg/Fe]
    assert np.all(np.diff(_depth(flux, WIDE, 8773.9)) > 0.005)   # Al I doublet follows [Al/Fe]
    assert np.all(np.diff(_depth(flux, WIDE, 8688.6)) > 0.01)    # Fe I 8688 follows [Fe/H]


def test_paschen_in_hot_stars_and_tio_in_cool_ones():
    flux = model_spectrum({"teff": np.array([5500.0, 7500.0, 9500.0]), "logg": 4.0, "mh": 0.0}, WIDE)
    paschen = _depth(flux, WIDE, 8750.47)
    assert paschen[0] < 0.05 and paschen[1] > 0.15 and paschen[2] > 0.15
    flux = model_spectrum({"teff": np.array([4500.0, 3300.0]), "logg": 1.0, "mh": 0.0}, WIDE)
    band = (WIDE.wavelength > 8433) & (WIDE.wavelength < 8460)
    mean_absorption = 1.0 - flux[:, band].mean(axis=1)
    assert mean_absorption[1] > mean_absorption[0] + 0.05


def test_broadening_to_rave_resolution():
    # a single weak Fe I line: FWHM near λ/R = 1.15 Å for a slow rotator, much wider for a fast one
    fine = WavelengthGrid(8680.0, 0.02, 1000)
    flux = model_spectrum({"teff": 5000.0, "logg": 2.5, "mh": -1.0, "vsini": np.array([1.0, 60.0]), "vmac": 1.0}, fine)
    for row, lo, hi in ((flux[0], 1.0, 1.35), (flux[1], 2.0, 4.0)):
        core = (fine.wavelength > 8684) & (fine.wavelength < 8693)
        depth = 1.0 - row[core]
        half = depth >= depth.max() / 2
        fwhm = half.sum() * fine.step
        assert lo < fwhm < hi, fwhm


def test_mock_cat_matches_real_indo_us_range(indo_us_dir):
    from astropy.io import fits

    real_ew, real_min = [], []
    for path in sorted(indo_us_dir.glob("indo-us_*.fits")):
        data = fits.getdata(path).astype(float)
        if np.ptp(data) < 1e-3:  # flat dummy
            continue
        header = fits.getheader(path)
        wave = header["CRVAL1"] + header["CDELT1"] * np.arange(data.size)
        real_ew.append(cat_index(wave, data)[0])
        real_min.append(cat_min_depth(wave, data)[0])
    real_ew, real_min = np.array(real_ew), np.array(real_min)
    fgk = {"teff": np.array([5800.0, 5950.0, 4950.0, 4600.0, 4850.0, 5200.0, 4400.0, 6300.0]),
           "logg": np.array([4.4, 4.45, 2.9, 1.3, 2.0, 3.5, 1.8, 4.2]),
           "mh": np.array([0.0, -0.1, 0.1, -2.6, -1.7, -0.5, -0.3, -1.0])}
    flux = model_spectrum(fgk, WIDE)
    mock_ew = cat_index(WIDE.wavelength, flux)
    mock_min = cat_min_depth(WIDE.wavelength, flux)
    lo, hi = real_ew.min(), real_ew.max()
    assert np.all((mock_ew > lo) & (mock_ew < hi)), (mock_ew, lo, hi)
    assert np.all((mock_min > real_min.min() - 0.05) & (mock_min < real_min.max() + 0.05))
    # a solar-type dwarf is close to HD 39587 (G0 V) and a K0 giant close to HD 19476
    assert 5.5 < mock_ew[1] < 9.0 and 7.0 < mock_ew[2] < 11.0


def test_core_fill_and_turbulence_change_the_cat_at_fixed_labels():
    # chromospheric fill-in raises the CaT cores; more macroturbulence widens and shallows them
    base = {"teff": 4800.0, "logg": 2.5, "mh": 0.0}
    filled = model_spectrum({**base, "core_fill": np.array([0.0, 0.15])}, WIDE)
    depth = _depth(filled, WIDE, 8542.09)
    assert depth[0] - depth[1] > 0.05, depth
    far = np.all([np.abs(WIDE.wavelength - c) > 3.0 for c in (8498.02, 8542.09, 8662.14)], axis=0)
    np.testing.assert_allclose(filled[0, far], filled[1, far], atol=1e-4)  # only the CaT cores change
    wide = model_spectrum({**base, "vmac": np.array([2.0, 8.0])}, WIDE)
    assert _depth(wide, WIDE, 8688.6)[1] < _depth(wide, WIDE, 8688.6)[0] - 0.01


def test_survey_draws_per_star_nuisances_and_per_spectrum_resolution():
    from raveview.mock import observe
    from raveview.mock.labels_input import default_macroturbulence
    from raveview.mock.population import draw_population

    stars = draw_population(np.random.default_rng(3), 4000)
    ratio = stars["vmac"] / default_macroturbulence(stars["teff"].to_numpy(), stars["logg"].to_numpy())
    assert 0.18 < np.std(np.log(ratio)) < 0.32
    assert (stars["core_fill"] >= 0).all() and 0.01 < stars["core_fill"].median() < 0.04
    cool_dwarf = (stars["teff"] < 4800) & (stars["logg"] > 4.2)
    giants = stars["logg"] < 3.0
    assert stars.loc[cool_dwarf, "core_fill"].mean() > 1.5 * stars.loc[giants, "core_fill"].mean()
    r = observe.draw_resolving_power(np.random.default_rng(4), 5000)
    assert r.min() >= 6500 and r.max() <= 8500 and 7400 < r.mean() < 7600 and r.std() > 300


def test_unlabelled_element_offsets_move_only_their_lines():
    # Ti I 8434.96 follows a star's own [Ti/α] offset; the Fe I 8688.6 line does not
    flux = model_spectrum({"teff": 4800.0, "logg": 2.5, "mh": 0.0, "dx_Ti": np.array([0.0, 0.3])}, WIDE)
    assert _depth(flux, WIDE, 8434.96)[1] > _depth(flux, WIDE, 8434.96)[0] + 0.03
    assert abs(_depth(flux, WIDE, 8688.6)[1] - _depth(flux, WIDE, 8688.6)[0]) < 1e-4
