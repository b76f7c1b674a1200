"""Fuzzing the readers: only raveview errors escape, or a valid Spectrum comes back."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raveview.core.errors import RaveviewError
from raveview.core.grid import DEFAULT_GRID
from raveview.core.io import read_spectrum, write_matrix, write_rave_dr6
from raveview.core.spectrum import Spectrum

#: Examples per test; raise with RAVEVIEW_FUZZ_EXAMPLES=1000 for a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("RAVEVIEW_FUZZ_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SUFFIXES = [".fits", ".fit", ".fits.gz", ".csv", ".ecsv", ".txt", ".dat", ".asc", ""]


def _check_outcome(path: Path) -> None:
    """Read ``path``: a RaveviewError or valid spectra are the only allowed outcomes."""
    try:
        result = read_spectrum(path)
    except RaveviewError as exc:
        assert "\n" not in str(exc)
        return
    spectra = result if isinstance(result, list) else [result]
    assert spectra
    for spectrum in spectra:
        assert isinstance(spectrum, Spectrum)
        assert spectrum.n_pixels >= 2
        assert np.all(np.isfinite(spectrum.wavelength)) and np.all(np.diff(spectrum.wavelength) > 0)
        assert np.isfinite(spectrum.flux).any()
        if spectrum.mask is not None:
            assert spectrum.mask[~np.isfinite(spectrum.flux)].all()


def _seed_files() -> dict[str, bytes]:
    """Valid files of several layouts, as bytes."""
    seeds: dict[str, bytes] = {}
    flux = 1.0 - 0.3 * np.exp(-0.5 * ((np.arange(400) - 200) / 4.0) ** 2)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        seeds[".fits:dr6"] = write_rave_dr6(tmp / "d.fits", flux, np.full(400, 0.02), 8450.0, 0.4, "R1").read_bytes()
        hdu = fits.PrimaryHDU(flux.astype(np.float32))
        hdu.header.update(CRVAL1=8400.0, CDELT1=0.4, CRPIX1=1.0, CTYPE1="LINEAR", DC_FLAG=0)
        hdu.writeto(tmp / "i.fits")
        seeds[".fits:image"] = (tmp / "i.fits").read_bytes()
        seeds[".fits:matrix"] = write_matrix(
            tmp / "m.fits", DEFAULT_GRID.wavelength, np.ones((2, 912)), np.full((2, 912), 0.1),
            {"rave_obs_id": ["a", "b"], "source_id": [1, 2], "snr": [10.0, 20.0]},
        ).read_bytes()
        table = Table({"wave": np.linspace(8400, 8800, 50), "flux": np.ones(50), "ivar": np.full(50, 100.0)})
        table["wave"].unit = "Angstrom"
        table.write(tmp / "t.fits")
        seeds[".fits:table"] = (tmp / "t.fits").read_bytes()
        buffer = io.StringIO()
        table.write(buffer, format="ascii.ecsv")
        seeds[".ecsv:table"] = buffer.getvalue().encode()
    wave = 846.0 + 0.01 * np.arange(60)
    seeds[".csv:gaia"] = ("source_id,wavelength,flux,flux_error\n" + "\n".join(
        f"77,{w:.2f},{'' if i % 7 == 0 else '0.98'},0.01" for i, w in enumerate(wave))).encode()
    seeds[".csv:plain"] = ("wavelength,flux,error\n" + "\n".join(
        f"{8400 + 0.4 * i:.1f},{f:.4f},0.01" for i, f in enumerate(flux[:80]))).encode()
    seeds[".txt:ascii"] = ("# two columns\n" + "\n".join(
        f"{8400 + 0.4 * i:.1f} {f:.4f}" for i, f in enumerate(flux[:80]))).encode()
    return seeds


SEEDS = _seed_files()
SEED_NAMES = sorted(SEEDS)


def test_seeds_are_valid(tmp_path):
    for name in SEED_NAMES:
        path = tmp_path / ("seed" + name.split(":")[0])
        path.write_bytes(SEEDS[name])
        assert read_spectrum(path) is not None, name


@FUZZ
@given(data=st.binary(min_size=0, max_size=4000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    _check_outcome(path)


@FUZZ
@given(prefix=st.sampled_from([b"SIMPLE  =                    T", b"# %ECSV 1.0\n", b"wave,flux\n", b"8500 1.0\n"]),
       data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_after_a_plausible_start(tmp_path, prefix, data, suffix):
    path = tmp_path / f"start{suffix}"
    path.write_bytes(prefix + data)
    _check_outcome(path)


@st.composite
def mutated(draw, names: list[str]):
    name = draw(st.sampled_from(names))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    return name.split(":")[0], bytes(data if cut is None else data[:cut])


@FUZZ
@given(item=mutated([n for n in SEED_NAMES if n.startswith(".fits")]))
def test_mutated_fits(tmp_path, item):
    suffix, data = item
    path = tmp_path / f"mutated{suffix}"
    path.write_bytes(data)
    _check_outcome(path)


@st.composite
def mutated_text(draw, names: list[str]):
    name = draw(st.sampled_from(names))
    text = SEEDS[name].decode()
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.text(alphabet=",.-+eE0123456789nan \n#[]\"x", max_size=6))
        if action == "insert":
            text = text[:position] + chunk + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + len(chunk) + 1:]
        else:
            text = text[:position] + chunk + text[position + len(chunk):]
    return name.split(":")[0], text.encode()


@FUZZ
@given(item=mutated_text([n for n in SEED_NAMES if not n.startswith(".fits")]))
def test_mutated_text_tables(tmp_path, item):
    suffix, data = item
    path = tmp_path / f"mutated{suffix}"
    path.write_bytes(data)
    _check_outcome(path)


@pytest.mark.parametrize("name", [n for n in SEED_NAMES if not n.startswith(".fits")])
def test_truncations_of_text_seeds(tmp_path, name):
    data = SEEDS[name]
    suffix = name.split(":")[0]
    for cut in range(0, len(data), max(1, len(data) // 40)):
        path = tmp_path / f"cut{cut}{suffix}"
        path.write_bytes(data[:cut])
        _check_outcome(path)
