"""Plot mock spectra next to real Indo-US stars of similar type; write docs/mock_vs_real.png.

Usage: python bench/compare_mock_real.py [--indo-us DIR] [--out docs/mock_vs_real.png]

The real spectra are the Indo-US coudé library templates shipped with measure_CaT
(../shared/real/indo_us_cat/templates by default); each is divided by a straight
pseudo-continuum through the Cenarro et al. (2001) continuum bands. The mock spectra are
:func:`raveview.mock.model_spectrum` for literature labels of each star, with noise at S/N 80.
The CaT index (sum of the three Cenarro-band equivalent widths) of both is printed and shown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from raveview.core.grid import WavelengthGrid
from raveview.mock import model_spectrum
from raveview.mock.diagnostics import cat_index, pseudo_continuum

REPO = Path(__file__).resolve().parents[1]
#: Indo-US star, description, and literature-like labels (Teff, log g, [Fe/H], [α/Fe]) adopted for the mock.
STARS = (
    ("HD19476", "metal-rich K0 III giant", (4980.0, 2.9, 0.10, 0.0)),
    ("HD122563", "metal-poor giant, [Fe/H] ≈ −2.6", (4600.0, 1.4, -2.6, 0.35)),
    ("HD39587", "solar-type G0 V dwarf (χ¹ Ori)", (5950.0, 4.45, -0.05, 0.0)),
    ("G48-29", "warm metal-poor star with Paschen lines", (6500.0, 4.0, -2.2, 0.3)),
)
GRID = WavelengthGrid(8400.2, 0.4, 1000)


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.io import fits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indo-us", type=Path, default=REPO.parent / "shared" / "real" / "indo_us_cat" / "templates")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "mock_vs_real.png")
    args = parser.parse_args()

    labels = np.array([s[2] for s in STARS])
    mock = model_spectrum({"teff": labels[:, 0], "logg": labels[:, 1], "mh": labels[:, 2] + 0.2 * labels[:, 3],
                           "feh": labels[:, 2], "alpham": labels[:, 3], "mgfe": labels[:, 3],
                           "sife": labels[:, 3]}, GRID)
    rng = np.random.default_rng(0)
    mock_noisy = mock + rng.normal(0.0, 1.0 / 80.0, mock.shape) * np.sqrt(mock)
    mock_ew = cat_index(GRID.wavelength, mock)

    fig, axes = plt.subplots(len(STARS), 1, figsize=(12, 2.6 * len(STARS)), sharex=True)
    print(f"{'star':10s} {'type':42s} {'CaT real':>9s} {'CaT mock':>9s}  (Å, Cenarro et al. 2001 bands)")
    for ax, (name, kind, lab), flux, ew in zip(axes, STARS, mock_noisy, mock_ew):
        path = args.indo_us / f"indo-us_{name}.fits"
        data = fits.getdata(path).astype(float)
        header = fits.getheader(path)
        wave = header["CRVAL1"] + header["CDELT1"] * (np.arange(data.size) + 1 - header.get("CRPIX1", 1))
        real = data / pseudo_continuum(wave, data)[0]
        real_ew = cat_index(wave, data)[0]
        print(f"{name:10s} {kind:42s} {real_ew:9.2f} {ew:9.2f}")
        ax.plot(wave, real, color="black", lw=0.8, label=f"real {name} (Indo-US), CaT = {real_ew:.1f} Å")
        ax.plot(GRID.wavelength, flux - 0.0, color="tab:red", lw=0.8, alpha=0.8,
                label=f"mock Teff={lab[0]:.0f} log g={lab[1]:.1f} [Fe/H]={lab[2]:+.1f}, CaT = {ew:.1f} Å")
        ax.set_xlim(8420, 8790)
        ax.set_ylim(0.15, 1.12)
        ax.set_title(f"{name}: {kind}", fontsize=10, loc="left")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        ax.set_ylabel("normalised flux")
    axes[-1].set_xlabel("air wavelength (Å)")
    fig.suptitle("raveview mock spectra (red, R = 7500, S/N 80) vs real Indo-US stars (black)", fontsize=11)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
