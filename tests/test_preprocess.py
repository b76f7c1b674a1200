"""Resampling onto the model grid, coverage, NaN filling, RV shift and DER_SNR."""

from __future__ import annotations

import numpy as np
import pytest

from raveview.core.errors import SpectrumDataError
from raveview.core.grid import DEFAULT_GRID, WavelengthGrid
from raveview.core.preprocess import (
    C_KMS,
    estimate_snr,
    grid_coverage,
    pixel_edges,
    prepare_batch,
    resample,
    resampling_matrix,
    spectrum_snr,
)
from raveview.core.spectrum import Spectrum

CA_8542 = 8542.09


def gaussian_line(wave, centre=CA_8542, depth=0.6, width=0.8):
    return 1.0 - depth * np.exp(-0.5 * ((wave - centre) / width) ** 2)


def native(start=8405.3, step=0.37, n=1100, **kwargs):
    wave = start + step * np.arange(n)
    return Spectrum(wave, gaussian_line(wave), **kwargs)


@pytest.mark.parametrize("method", ["flux", "linear"])
def test_resampling_onto_itself_is_identity(method):
    wave = DEFAULT_GRID.wavelength
    rng = np.random.default_rng(1)
    flux = gaussian_line(wave) + rng.normal(0, 0.01, wave.size)
    sigma = np.full(wave.size, 0.01)
    result = resample(Spectrum(wave, flux, sigma=sigma), method=method)
    np.testing.assert_allclose(result.flux, flux, rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.sigma, sigma, rtol=1e-9)
    assert result.filled_fraction == 0.0
    assert result.coverage == pytest.approx(1.0)


def test_flux_conserving_preserves_integrated_flux():
    rng = np.random.default_rng(2)
    spec = native()
    spec = spec.replace(flux=spec.flux + rng.normal(0, 0.05, spec.n_pixels))
    result = resample(spec)
    integral_out = np.sum(result.flux * DEFAULT_GRID.step)
    # the native flux integrated over exactly the grid's range
    edges = pixel_edges(spec.wavelength)
    g_lo = DEFAULT_GRID.start - DEFAULT_GRID.step / 2
    g_hi = DEFAULT_GRID.end + DEFAULT_GRID.step / 2
    overlap = np.clip(np.minimum(edges[1:], g_hi) - np.maximum(edges[:-1], g_lo), 0, None)
    integral_in = np.sum(spec.flux * overlap)
    assert integral_out == pytest.approx(integral_in, rel=1e-12)


@pytest.mark.parametrize("method", ["flux", "linear"])
def test_gaussian_line_keeps_equivalent_width(method):
    spec = native(step=0.3, n=1400)
    true_ew = 0.6 * 0.8 * np.sqrt(2 * np.pi)
    result = resample(spec, method=method)
    ew = np.sum(1.0 - result.flux) * DEFAULT_GRID.step
    assert ew == pytest.approx(true_ew, rel=0.01)


@pytest.mark.parametrize("method", ["flux", "linear"])
def test_sigma_propagation_matches_monte_carlo(method):
    rng = np.random.default_rng(3)
    wave = 8405.0 + 0.23 * np.arange(1700)
    sigma = 0.02 + 0.01 * np.sin(wave / 7.0) ** 2  # varying white noise
    propagated = resample(Spectrum(wave, np.ones_like(wave), sigma=sigma), method=method).sigma
    matrix = resampling_matrix(wave, DEFAULT_GRID, method)
    draws = 1.0 + rng.normal(size=(4000, wave.size)) * sigma
    resampled = (matrix @ draws.T).T / np.asarray(matrix.sum(axis=1)).ravel()
    mc = resampled.std(axis=0)
    # 4000 draws: the std is known to ~1.1 %; compare pixel by pixel and on average
    np.testing.assert_allclose(mc, propagated, rtol=0.06)
    assert np.mean(mc / propagated) == pytest.approx(1.0, abs=0.005)


def test_der_snr_recovers_known_snr():
    rng = np.random.default_rng(4)
    wave = 8400.0 + 0.4 * np.arange(1000)
    for snr in (20.0, 50.0, 120.0):
        flux = gaussian_line(wave, depth=0.3, width=1.0) + rng.normal(0, 1.0 / snr, wave.size)
        estimate = estimate_snr(Spectrum(wave, flux))
        assert estimate == pytest.approx(snr, rel=0.10)


def test_spectrum_snr_prefers_the_known_value():
    wave = 8400.0 + 0.4 * np.arange(100)
    assert spectrum_snr(Spectrum(wave, np.ones(100), snr=42.0)) == 42.0
    assert np.isnan(spectrum_snr(Spectrum(wave, np.ones(100))))  # no noise at all


def test_rv_shift_moves_ca_8542_to_the_right_pixel():
    rv = 87.0
    factor = np.sqrt((1 + rv / C_KMS) / (1 - rv / C_KMS))
    wave = 8400.0 + 0.25 * np.arange(1700)
    observed = Spectrum(wave, gaussian_line(wave, centre=CA_8542 * factor, width=0.5))
    shifted = resample(observed, rv_kms=rv)
    unshifted = resample(observed)
    expected_pixel = int(round((CA_8542 - DEFAULT_GRID.start) / DEFAULT_GRID.step))
    assert int(np.argmin(shifted.flux)) == expected_pixel
    assert int(np.argmin(unshifted.flux)) == expected_pixel + 6  # 87 km/s ≈ 2.48 Å ≈ 6 pixels


def test_nan_and_masked_pixels_are_filled_and_counted():
    wave = DEFAULT_GRID.wavelength.copy()
    flux = gaussian_line(wave)
    flux[100:110] = np.nan
    flux[200] = np.inf
    mask = np.zeros(wave.size, bool)
    mask[300:320] = True
    result = resample(Spectrum(wave, flux, mask=mask))
    assert np.all(result.flux[100:110] == 1.0)
    assert result.flux[200] == 1.0
    assert np.all(result.flux[300:320] == 1.0)
    assert result.filled.sum() == 31
    assert result.filled_fraction == pytest.approx(31 / 912)
    assert np.all(np.isfinite(result.flux))
    good = ~result.filled
    np.testing.assert_allclose(result.flux[good], flux[good], atol=1e-10)


def test_partial_coverage_is_filled_and_reported():
    wave = 8500.0 + 0.4 * np.arange(800)  # starts 80 Å into the grid
    result = resample(Spectrum(wave, np.full(800, 0.9)))
    assert result.coverage == pytest.approx((8784.6 - 8499.8) / 364.8, rel=1e-9)
    assert np.all(result.flux[:200] == 1.0) and np.all(result.flux[200:] == pytest.approx(0.9))
    assert result.filled_fraction == pytest.approx(200 / 912)


def test_low_coverage_raises_naming_the_file(tmp_path):
    wave = 8700.0 + 0.4 * np.arange(500)
    spec = Spectrum(wave, np.ones(500), source_file=tmp_path / "far_red.fits")
    assert grid_coverage(spec) == pytest.approx((8784.6 - 8699.8) / 364.8)
    with pytest.raises(SpectrumDataError) as info:
        resample(spec)
    message = str(info.value)
    assert "far_red.fits" in message and "covers only 23% of the model grid 8420–8784 Å" in message
    assert resample(spec, min_coverage=0.2).filled_fraction > 0.7
    with pytest.raises(SpectrumDataError, match="far_red.fits"):
        prepare_batch([native(), spec])


def test_bad_wavelengths_raise():
    with pytest.raises(SpectrumDataError, match="not strictly increasing"):
        resample(Spectrum(np.array([8500.0, 8400.0, 8600.0]), np.ones(3)))


def test_prepare_batch_flux_equals_the_resampling_matrix_for_any_sampling():
    # prepare_batch integrates cumulatively instead of building the sparse matrix: same numbers, same fills
    from raveview.core.preprocess import _apply, _apply_flux_cumulative

    rng = np.random.default_rng(11)
    for trial in range(40):
        n = int(rng.integers(40, 1400))
        wave = rng.uniform(8380, 8520) + np.cumsum(rng.uniform(0.1, 0.8, n))  # irregular steps
        flux = rng.normal(1.0, 0.1, (3, n))
        good = rng.random((3, n)) > 0.1
        if trial % 4 == 0:
            good[:, : n // 2] = False  # a long masked stretch: grid pixels become filled
        want, _, want_filled = _apply(resampling_matrix(wave, DEFAULT_GRID, "flux"), flux, good, DEFAULT_GRID.step)
        got, got_filled = _apply_flux_cumulative(wave, DEFAULT_GRID, flux, good)
        np.testing.assert_array_equal(got_filled, want_filled)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
        assert got_filled.any() or trial % 4 != 0


@pytest.mark.parametrize("method", ["flux", "linear"])
def test_prepare_batch_matches_resample(method):
    rng = np.random.default_rng(5)
    spectra = []
    for k in range(30):
        spec = native(start=8405.3 + 0.1 * (k % 3), step=0.37 + 0.01 * (k % 2), n=1100)
        flux = spec.flux + rng.normal(0, 0.02, spec.n_pixels)
        flux[rng.integers(0, spec.n_pixels, 5)] = np.nan
        spectra.append(spec.replace(flux=flux))
    rv = rng.uniform(-50, 50, len(spectra)).tolist()
    batch, filled = prepare_batch(spectra, method=method, rv_kms=rv)
    assert batch.shape == (30, 912) and batch.dtype == np.float32
    for k, spec in enumerate(spectra):
        one = resample(spec, method=method, rv_kms=rv[k])
        np.testing.assert_allclose(batch[k], one.flux, atol=1e-6)
        assert filled[k] == one.filled_fraction


def test_other_grids_work():
    grid = WavelengthGrid(8450.0, 0.2, 1000)
    result = resample(native(), grid=grid)
    assert result.flux.shape == (1000,)
    depth = 1.0 - result.flux
    centroid = np.sum(depth * grid.wavelength) / np.sum(depth)
    assert centroid == pytest.approx(CA_8542, abs=0.01)
