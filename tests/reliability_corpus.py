"""A corpus of malformed inputs, generated on demand, for the reliability tests.

Each entry is a :class:`Bad` whose ``make(folder)`` writes one bad input and
returns its path. ``role`` says where it goes: ``"spectrum"`` (a file given to
``raveview info``/``predict`` and opened in the window), ``"photometry"``
(``predict --photometry``) or ``"bundle"`` (``predict --model``; the path is a
copied, damaged demo bundle folder). ``cause`` is a regular expression the
one-line error must match (case-insensitive).
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from raveview.core.io import write_rave_dr6


@dataclass(frozen=True)
class Bad:
    name: str
    role: str
    make: Callable[[Path], Path]
    cause: str = ""


def good_dr6(path: Path, obs_id: str = "GOOD0001", shift: float = 0.0) -> Path:
    """A valid Ca-triplet spectrum in the RAVE DR6 layout."""
    start, step, npix = 8410.0 + shift, 0.35, 1100
    wave = start + step * np.arange(npix)
    flux = np.ones(npix)
    for centre, depth in zip((8498.02, 8542.09, 8662.14), (0.5, 0.65, 0.6)):
        flux -= depth * np.exp(-0.5 * ((wave - centre) / 1.2) ** 2)
    return write_rave_dr6(path, flux, np.full(npix, 0.02), start, step, obs_id, {"SNR": 60.0})


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _csv(path: Path, wave, flux, header: str = "wave,flux") -> Path:
    return _write(path, header + "\n" + "\n".join(f"{w},{f}" for w, f in zip(wave, flux)) + "\n")


_WAVE = np.linspace(8420.0, 8780.0, 600)


# --------------------------------------------------------------------------- spectra


def empty_fits(d: Path) -> Path:
    return _write(d / "empty.fits", b"")


def empty_csv(d: Path) -> Path:
    return _write(d / "empty.csv", b"")


def header_only_csv(d: Path) -> Path:
    return _write(d / "header_only.csv", "wave,flux\n")


def truncated_fits(d: Path) -> Path:
    data = good_dr6(d / "_full1.fits").read_bytes()
    (d / "_full1.fits").unlink()
    return _write(d / "truncated.fits", data[: len(data) - 3000])


def truncated_header(d: Path) -> Path:
    data = good_dr6(d / "_full2.fits").read_bytes()
    (d / "_full2.fits").unlink()
    return _write(d / "cut_header.fits", data[:1000])


def garbled_fits(d: Path) -> Path:
    data = bytearray(good_dr6(d / "_full3.fits").read_bytes())
    (d / "_full3.fits").unlink()
    rng = np.random.default_rng(3)
    data[:2880] = rng.integers(0, 256, 2880, dtype=np.uint8).tobytes()
    return _write(d / "garbled.fits", bytes(data))


def png_named_fits(d: Path) -> Path:
    return _write(d / "picture.fits", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)


def html_named_fits(d: Path) -> Path:
    return _write(d / "error_page.fits", "<!DOCTYPE html><html><body>404 Not Found</body></html>\n")


def gzip_garbage(d: Path) -> Path:
    return _write(d / "broken.fits.gz", gzip.compress(b"SIMPLE  =  nonsense" * 10)[:-20])


def no_spectrum_hdus(d: Path) -> Path:
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(name="OTHER")]).writeto(d / "no_hdus.fits")
    return d / "no_hdus.fits"


def image_without_wavelength(d: Path) -> Path:
    fits.PrimaryHDU(np.ones(300, dtype=np.float32)).writeto(d / "no_wcs.fits")
    return d / "no_wcs.fits"


def huge_header(d: Path) -> Path:
    # built in one go: assigning 20 000 HIERARCH cards one by one is quadratic in astropy
    header = fits.Header([fits.Card(f"HIERARCH JUNK{i:05d}", "x" * 30) for i in range(20000)])
    fits.PrimaryHDU(header=header).writeto(d / "huge_header.fits")
    return d / "huge_header.fits"


def text_flux_table(d: Path) -> Path:
    cols = [fits.Column("WAVE", "D", array=_WAVE), fits.Column("FLUX", "8A", array=np.array(["abc"] * len(_WAVE)))]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(d / "text_flux.fits")
    return d / "text_flux.fits"


def not_increasing(d: Path) -> Path:
    wave = _WAVE.copy()
    wave[300] = 8300.0
    return _csv(d / "shuffled.csv", wave, np.ones_like(wave))


def all_nan_flux(d: Path) -> Path:
    return _csv(d / "nan_flux.csv", _WAVE, ["nan"] * len(_WAVE))


def inf_flux(d: Path) -> Path:
    return _csv(d / "inf_flux.csv", _WAVE, ["inf"] * len(_WAVE))


def constant_wavelength(d: Path) -> Path:
    return _csv(d / "constant_wave.csv", np.full(600, 8500.0), np.ones(600))


def negative_wavelength(d: Path) -> Path:
    return _csv(d / "negative_wave.csv", -_WAVE[::-1], np.ones(600))


def wrong_band(d: Path) -> Path:
    wave = np.linspace(4000.0, 4500.0, 600)
    return _csv(d / "blue_band.csv", wave, np.ones(600))


def wrong_columns(d: Path) -> Path:
    return _write(d / "wrong_columns.csv", "ra,dec,mag\n10,20,12.5\n11,21,13.0\n")


def text_in_csv(d: Path) -> Path:
    return _csv(d / "text_values.csv", ["a"] * 20, ["b"] * 20)


def binary_csv(d: Path) -> Path:
    return _write(d / "binary.csv", bytes(np.random.default_rng(4).integers(0, 256, 4000, dtype=np.uint8)))


def single_pixel(d: Path) -> Path:
    return _csv(d / "one_pixel.csv", [8500.0], [1.0])


def unknown_text(d: Path) -> Path:
    return _write(d / "notes.dat", "hello world\nthis is not a spectrum\n")


# --------------------------------------------------------------------------- photometry


def phot_wrong_columns(d: Path) -> Path:
    return _write(d / "phot_wrong.csv", "name,colour\nGOOD0001,blue\n")


def phot_empty(d: Path) -> Path:
    return _write(d / "phot_empty.csv", b"")


def _phot(path: Path, rows: list[str]) -> Path:
    demo = Path(__file__).resolve().parents[1] / "raveview" / "resources" / "demo" / "photometry.csv"
    header = demo.read_text().splitlines()[0]
    return _write(path, header + "\n" + "\n".join(rows) + "\n")


def phot_bad_parallax(d: Path) -> Path:
    demo = Path(__file__).resolve().parents[1] / "raveview" / "resources" / "demo" / "photometry.csv"
    lines = demo.read_text().splitlines()
    cols = lines[0].split(",")
    first = lines[1].split(",")
    first[cols.index("rave_obs_id")] = "GOOD0001"
    for name in cols:
        if "parallax" in name and "error" not in name:
            first[cols.index(name)] = "-1.5"
    second = list(first)
    second[cols.index("rave_obs_id")] = "GOOD0002"
    for name in cols:
        if "parallax" in name and "error" not in name:
            second[cols.index(name)] = "0"
    return _phot(d / "phot_parallax.csv", [",".join(first), ",".join(second)])


def phot_duplicated_ids(d: Path) -> Path:
    demo = Path(__file__).resolve().parents[1] / "raveview" / "resources" / "demo" / "photometry.csv"
    lines = demo.read_text().splitlines()
    return _phot(d / "phot_dupes.csv", [lines[1], lines[1], lines[2]])


# --------------------------------------------------------------------------- bundles


def _bundle_copy(d: Path, name: str) -> Path:
    from raveview.ml.bundle import demo_bundle_path

    target = d / name
    shutil.copytree(demo_bundle_path(), target)
    return target


def bundle_tampered_member(d: Path) -> Path:
    bundle = _bundle_copy(d, "tampered_bundle")
    member = sorted((bundle / "members").glob("*.keras"))[0]
    data = bytearray(member.read_bytes())
    data[len(data) // 2] ^= 0xFF
    member.write_bytes(bytes(data))
    return bundle


def bundle_newer_format(d: Path) -> Path:
    bundle = _bundle_copy(d, "future_bundle")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["format_version"] = int(manifest["format_version"]) + 1
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    return bundle


def bundle_bad_json(d: Path) -> Path:
    bundle = _bundle_copy(d, "garbled_bundle")
    (bundle / "manifest.json").write_text("{ this is not json")
    return bundle


def bundle_missing_member(d: Path) -> Path:
    bundle = _bundle_copy(d, "incomplete_bundle")
    sorted((bundle / "members").glob("*.keras"))[-1].unlink()
    return bundle


def bundle_absent(d: Path) -> Path:
    return d / "no_such_bundle"


SPECTRA = [
    Bad("empty_fits", "spectrum", empty_fits),
    Bad("empty_csv", "spectrum", empty_csv),
    Bad("header_only_csv", "spectrum", header_only_csv),
    Bad("truncated_fits", "spectrum", truncated_fits),
    Bad("truncated_header", "spectrum", truncated_header),
    Bad("garbled_fits", "spectrum", garbled_fits),
    Bad("png_named_fits", "spectrum", png_named_fits),
    Bad("html_named_fits", "spectrum", html_named_fits),
    Bad("gzip_garbage", "spectrum", gzip_garbage),
    Bad("no_spectrum_hdus", "spectrum", no_spectrum_hdus),
    Bad("image_without_wavelength", "spectrum", image_without_wavelength),
    Bad("huge_header", "spectrum", huge_header),
    Bad("text_flux_table", "spectrum", text_flux_table),
    Bad("not_increasing", "spectrum", not_increasing),
    Bad("all_nan_flux", "spectrum", all_nan_flux),
    Bad("inf_flux", "spectrum", inf_flux),
    Bad("constant_wavelength", "spectrum", constant_wavelength),
    Bad("negative_wavelength", "spectrum", negative_wavelength),
    Bad("wrong_band", "spectrum", wrong_band),
    Bad("wrong_columns", "spectrum", wrong_columns),
    Bad("text_in_csv", "spectrum", text_in_csv),
    Bad("binary_csv", "spectrum", binary_csv),
    Bad("single_pixel", "spectrum", single_pixel),
    Bad("unknown_text", "spectrum", unknown_text),
]
PHOTOMETRY = [
    Bad("phot_wrong_columns", "photometry", phot_wrong_columns),
    Bad("phot_empty", "photometry", phot_empty),
    Bad("phot_bad_parallax", "photometry", phot_bad_parallax),
    Bad("phot_duplicated_ids", "photometry", phot_duplicated_ids),
]
BUNDLES = [
    Bad("bundle_tampered_member", "bundle", bundle_tampered_member, "checksum"),
    Bad("bundle_newer_format", "bundle", bundle_newer_format, "newer"),
    Bad("bundle_bad_json", "bundle", bundle_bad_json, "json"),
    Bad("bundle_missing_member", "bundle", bundle_missing_member, "missing"),
    Bad("bundle_absent", "bundle", bundle_absent, "no such"),
]
CORPUS = SPECTRA + PHOTOMETRY + BUNDLES

#: Expected cause of each spectrum's one-line error (regular expression).
CAUSES = {
    "empty_fits": "empty", "empty_csv": "empty", "header_only_csv": "0 pixel", "truncated_fits": "truncated",
    "truncated_header": "not a readable FITS", "garbled_fits": "not a FITS file", "png_named_fits": "not a FITS file",
    "html_named_fits": "not a FITS file", "gzip_garbage": "not a readable FITS", "no_spectrum_hdus": "no spectrum",
    "image_without_wavelength": "no wavelength solution", "huge_header": "no spectrum",
    "text_flux_table": "cannot read", "not_increasing": "not increasing", "all_nan_flux": "NaN",
    "inf_flux": "NaN", "constant_wavelength": "not increasing", "negative_wavelength": "wrong unit",
    "wrong_band": "do not overlap", "wrong_columns": "no wavelength column", "text_in_csv": "cannot read",
    "binary_csv": "not a spectrum format", "single_pixel": "1 pixel", "unknown_text": "not a spectrum format",
}
SPECTRA = [Bad(b.name, b.role, b.make, CAUSES[b.name]) for b in SPECTRA]
CORPUS = SPECTRA + PHOTOMETRY + BUNDLES
