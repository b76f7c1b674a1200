"""A RAVE-like stellar population: Kiel-diagram tracks, metallicities, α sequences.

Stars are drawn from five groups with analytic, isochrone-like tracks and scatter:
main sequence (with age spread), turn-off/subgiants, red giant branch, red clump and a
few bright giants/supergiants. [M/H] comes from thin disc, thick disc and halo
components; [α/M] follows a low-α and a high-α sequence; individual ratios correlate
with [α/M] as in APOGEE DR16. Fractions were chosen to resemble the 3904-star
RAVE DR6 × APOGEE DR16 training sample of Guiglion et al. (2020).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raveview.mock.labels_input import default_macroturbulence, default_microturbulence
from raveview.mock.lte import UNLABELLED_ELEMENTS

#: Group fractions (main sequence, turn-off/subgiant, RGB, red clump, bright giants).
GROUP_FRACTIONS = {"ms": 0.27, "subgiant": 0.12, "rgb": 0.30, "clump": 0.295, "bright": 0.015}
#: Label uncertainties (APOGEE DR16-like): Teff, logg, [M/H], [Fe/H], [α/M], [Si/Fe], [Mg/Fe], [Al/Fe], [Ni/Fe].
LABEL_ERRORS = {"TEFF": 70.0, "LOGG": 0.06, "M_H": 0.012, "FE_H": 0.010, "ALPHA_M": 0.010,
                "SI_FE": 0.020, "MG_FE": 0.016, "AL_FE": 0.035, "NI_FE": 0.018}


def draw_metallicity(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """[M/H] and a high-α flag: thin disc, thick disc and halo mixture clipped to [-2.5, 0.55]."""
    comp = rng.choice(3, size=n, p=[0.84, 0.13, 0.03])
    mean = np.array([-0.05, -0.50, -1.50])[comp]
    sd = np.array([0.20, 0.28, 0.45])[comp]
    mh = np.clip(rng.normal(mean, sd), -2.5, 0.55)
    high_alpha = (comp > 0) & (rng.random(n) < 0.9)
    return mh, high_alpha


def draw_abundances(rng: np.random.Generator, mh: np.ndarray, high_alpha: np.ndarray) -> dict[str, np.ndarray]:
    """[Fe/H], [α/M] and the individual ratios, correlated as in APOGEE."""
    n = mh.size
    low_seq = np.clip(-0.06 * mh, -0.05, 0.15)
    high_seq = np.where(mh < -0.8, 0.30, 0.30 - 0.25 * (mh + 0.8))
    alpham = np.where(high_alpha, high_seq, low_seq) + rng.normal(0, 0.03, n)
    alpham = np.clip(alpham, -0.15, 0.45)
    feh = mh - 0.2 * (alpham - 0.05) + rng.normal(0, 0.015, n)
    return {
        "alpham": alpham, "feh": feh,
        "sife": 0.85 * alpham + rng.normal(0.01, 0.04, n),
        "mgfe": 1.15 * alpham + rng.normal(0.02, 0.045, n),
        "alfe": 0.70 * alpham + rng.normal(0.02, 0.08, n) - 0.1 * np.clip(mh + 1.0, None, 0) ** 2,
        "nife": 0.20 * alpham + 0.05 * mh + rng.normal(0.01, 0.03, n),
    }


def draw_kiel(rng: np.random.Generator, mh: np.ndarray) -> dict[str, np.ndarray]:
    """Teff, log g, mass (Msun) and group per star along analytic tracks."""
    n = mh.size
    names = list(GROUP_FRACTIONS)
    group = rng.choice(len(names), size=n, p=list(GROUP_FRACTIONS.values()))
    teff = np.empty(n)
    logg = np.empty(n)
    mass = np.empty(n)
    zshift = -0.06 * mh  # metal-poor stars are hotter at a given mass/stage (log Teff)
    # main sequence: mass 0.65-1.6 Msun, zero-age relation + age spread (evolution lowers logg)
    m = (g := group == 0)
    mm = np.clip(rng.lognormal(np.log(1.0), 0.22, m.sum()), 0.6, 1.7)
    age = rng.random(m.sum())
    teff[m] = 5777.0 * mm ** np.where(mm < 1.0, 0.60, 0.50) * 10 ** (zshift[m] - 0.02 * age) + rng.normal(0, 60, m.sum())
    logg[m] = 4.44 + np.log10(mm) - 2 * (0.85 * np.log10(mm) + 0.09 * age) + rng.normal(0, 0.05, m.sum())
    mass[m] = mm
    # turn-off and subgiants
    m = group == 1
    k = m.sum()
    mm = np.clip(rng.normal(1.2, 0.2, k), 0.8, 1.8)
    x = rng.random(k)  # 0 at turn-off, 1 at base of RGB
    teff[m] = (6300.0 - 1300.0 * x) * 10 ** zshift[m] + 200 * (mm - 1.2) + rng.normal(0, 80, k)
    logg[m] = 4.05 - 0.55 * x + rng.normal(0, 0.08, k)
    mass[m] = mm
    # red giant branch, logg 0.4-3.6 (more stars at high logg)
    m = group == 2
    k = m.sum()
    lg = 3.7 - 2.9 * rng.random(k) ** 1.4
    teff[m] = 4300.0 + 330.0 * (lg - 1.5) - 220.0 * np.clip(mh[m], -2.5, 0.5) + rng.normal(0, 70, k)
    logg[m] = lg
    mass[m] = np.clip(rng.normal(1.1, 0.25, k) + 0.3 * np.clip(mh[m], -1, 0.5), 0.75, 2.2)
    # red clump (and the bluer horizontal branch at low metallicity)
    m = group == 3
    k = m.sum()
    teff[m] = 4720.0 - 280.0 * np.clip(mh[m], -1.0, 0.5) + rng.normal(0, 90, k)
    teff[m] += np.where(mh[m] < -1.0, rng.uniform(0, 1200, k), 0.0)
    logg[m] = 2.45 + rng.normal(0, 0.12, k)
    mass[m] = np.clip(rng.normal(1.3, 0.3, k), 0.7, 2.5)
    # bright giants and supergiants
    m = group == 4
    k = m.sum()
    teff[m] = rng.uniform(3900, 6800, k)
    logg[m] = rng.uniform(0.8, 2.0, k)
    mass[m] = rng.uniform(1.5, 4.0, k)
    teff = np.clip(teff, 3600.0, 7500.0)
    logg = np.clip(logg, 0.2, 4.95)
    return {"teff": teff, "logg": logg, "mass": mass, "group": np.array(names)[group]}


def draw_nuisances(rng: np.random.Generator, teff: np.ndarray, logg: np.ndarray) -> dict[str, np.ndarray]:
    """Star-to-star scatter that real spectra show at fixed labels.

    Elements without a label (Ti, Ca, Cr, N, S, O) scatter about the labelled trends
    (``dx_<element>``, :data:`~raveview.mock.lte.UNLABELLED_ELEMENTS`). Micro- and macroturbulence scatter about their mean relations (≈15 % and ≈25 %, as
    spectroscopic surveys find), and chromospheric activity fills in the Ca II cores
    (``core_fill``, the fraction of the core depth filled; larger in cool dwarfs, cf. the
    active RAVE stars of Žerjal et al. 2013). Without these the mock's line widths and CaT
    core depths would be exact functions of log g, which real spectra are not.
    """
    n = teff.size
    cool_dwarf = np.clip((5800.0 - teff) / 1500.0, 0.0, 1.0) * (logg > 3.8)
    offsets = {f"dx_{element}": rng.normal(0.0, sigma, n) for element, sigma in UNLABELLED_ELEMENTS.items()}
    return {
        **offsets,
        "vmic": default_microturbulence(teff, logg) * rng.lognormal(0.0, 0.15, n),
        "vmac": default_macroturbulence(teff, logg) * rng.lognormal(0.0, 0.25, n),
        "core_fill": np.clip(rng.exponential(0.04 + 0.08 * cool_dwarf, n), 0.0, 0.5),
    }


def draw_population(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` stars with the nine labels (catalog keys), mass, group and rotation.

    Parameters
    ----------
    rng
        The random generator (fixes reproducibility).
    n
        Number of stars.

    Returns
    -------
    pandas.DataFrame
        Columns teff, logg, mh, feh, alpham, sife, mgfe, alfe, nife, mass, group, vsini,
        vmic, vmac, core_fill and dx_<element> (see :func:`draw_nuisances`).
    """
    mh, high_alpha = draw_metallicity(rng, n)
    abund = draw_abundances(rng, mh, high_alpha)
    kiel = draw_kiel(rng, mh)
    hot = np.clip((kiel["teff"] - 6000.0) / 1500.0, 0.0, None) * (kiel["logg"] > 3.5)
    vsini = np.clip(rng.lognormal(np.log(3.0), 0.4, n) + 80.0 * hot**1.5 * rng.random(n), 1.0, 250.0)
    table = pd.DataFrame({"teff": kiel["teff"], "logg": kiel["logg"], "mh": mh, **abund})
    table = table[["teff", "logg", "mh", "feh", "alpham", "sife", "mgfe", "alfe", "nife"]]
    table["mass"] = kiel["mass"]
    table["group"] = kiel["group"]
    table["vsini"] = vsini
    for key, value in draw_nuisances(rng, kiel["teff"], kiel["logg"]).items():
        table[key] = value
    return table
