"""LTE line strengths: Saha–Boltzmann populations, continuous opacity, widths.

For every star and line this computes the *integrated line opacity* ``S`` in Å
(the equivalent width the line would have on the linear part of the curve of
growth, before saturation), its thermal + microturbulent Doppler width and its
damping (Lorentzian) width. :mod:`raveview.mock.synth` turns them into a
spectrum; saturation (the flat and damping parts of the curve of growth)
arises there from ``exp(-tau)`` of the summed Voigt opacities.

The recipe is a one-layer model atmosphere (Schuster–Schwarzschild style):

- characteristic temperature of line formation ``T = 0.86 Teff``;
- electron pressure ``P_e`` scaling as ``g^(1/3)`` (hydrostatic equilibrium with H⁻ opacity, Gray 2005
  ch. 9), with metallicity (metals donate the electrons in cool stars) and with temperature (H ionises);
- ionisation fractions from the Saha equation, lower-level populations from the Boltzmann factor
  ``10^(-θ χ) / U(T)`` (θ = 5040 / T);
- continuous opacity at 8600 Å: H⁻ bound-free (∝ P_e θ^2.5 10^(0.754 θ), Gray 2005 eq. 8.18) plus
  hydrogen bound-free from n = 4 (∝ 10^(-12.75 θ)), which takes over in stars hotter than ~7000 K;
- line opacity ∝ gf · N_X/N_H · population · λ²;
- damping: radiative + van der Waals, growing with gas pressure (∝ g^0.45) for metal lines; linear
  Stark broadening ∝ n_e^(2/3) n_upper² for the Paschen lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from raveview.mock.atoms import ALPHA_ELEMENTS, IONISATION_EV, MASS_U, PARTITION, SOLAR_LOG_EPS

C_KMS = 299_792.458
K_BOLTZ_EV = 8.617333e-5
#: Overall strength scale (log10), calibrated so the Sun's Fe I 8688 Å has EW ≈ 0.25 Å and the
#: solar Ca II triplet sums to ≈ 7.5 Å (Moore, Minnaert & Houtgast 1966 solar atlas values).
LOG_STRENGTH_SCALE = 12.05
#: Per-species corrections (dex) absorbing the crudeness of a one-layer model.
SPECIES_CORRECTION = {"Ca II": -0.3, "H I": 1.7, "O I": -0.5, "N I": -0.3}
#: van der Waals damping width (Å, Lorentz HWHM) of a metal line in the Sun at 8600 Å.
GAMMA_VDW_SUN = 0.060
#: Radiative damping width (Å, HWHM).
GAMMA_RAD = 0.0025
#: Ca II triplet lines have larger van der Waals cross-sections (Barklem & O'Mara 1998 σ = 291 a0²).
CA2_DAMPING_BOOST = 4.0


@dataclass(frozen=True)
class LineStrengths:
    """Per-star, per-line quantities (arrays of shape (n_stars, n_lines)).

    Attributes
    ----------
    strength
        Integrated line opacity in Å (linear curve-of-growth equivalent width).
    doppler
        Doppler width Δλ_D in Å (1/e half width of the Gaussian core).
    gamma
        Lorentzian half width at half maximum in Å.
    """

    strength: np.ndarray
    doppler: np.ndarray
    gamma: np.ndarray


def partition_function(element: str, stage: int, temperature: np.ndarray) -> np.ndarray:
    """Approximate partition function U(T) of ``element`` in ionisation ``stage`` (0 = neutral)."""
    u5000, power = PARTITION[element][stage]
    return u5000 * (np.asarray(temperature) / 5000.0) ** power


def electron_pressure(teff: np.ndarray, logg: np.ndarray, mh: np.ndarray) -> np.ndarray:
    """Characteristic photospheric electron pressure P_e in dyn cm⁻² (≈ 20 for the Sun).

    Metals supply the electrons below ~6000 K; hydrogen ionisation takes over above (steep rise).
    """
    teff = np.asarray(teff, dtype=np.float64)
    log_metal = 1.3 + (logg - 4.44) / 3.0 + 0.4 * mh + 1.5 * np.log10(teff / 5777.0)
    log_hydrogen = 1.3 + (logg - 4.44) / 3.0 + 14.0 * np.log10(teff / 6700.0)
    return 10.0 ** log_metal + 10.0 ** log_hydrogen


def saha_fractions(element: str, temperature: np.ndarray, pe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of ``element`` that are neutral and singly ionised (Saha equation, Gray 2005 eq. 1.21)."""
    chi1, chi2 = IONISATION_EV[element]
    theta = 5040.0 / temperature
    u0, u1, u2 = (partition_function(element, s, temperature) for s in range(3))
    log_common = 2.5 * np.log10(temperature) - np.log10(pe) - 0.1762
    r1 = 10.0 ** np.clip(np.log10(2.0 * u1 / u0) + log_common - theta * chi1, -30, 30)
    r2 = 10.0 ** np.clip(np.log10(2.0 * u2 / u1) + log_common - theta * chi2, -30, 30)
    neutral = 1.0 / (1.0 + r1 + r1 * r2)
    return neutral, neutral * r1


def continuum_opacity(temperature: np.ndarray, pe: np.ndarray, h_neutral: np.ndarray) -> np.ndarray:
    """Relative continuous opacity per H nucleus at 8600 Å: H⁻ plus hydrogen bound-free (n = 4)."""
    theta = 5040.0 / temperature
    h_minus = pe * theta ** 2.5 * 10.0 ** (0.754 * theta)
    # normalised so that both terms match at T = 0.86 * 10000 K, P_e = 300 (a late-A dwarf)
    theta_x = 5040.0 / (0.86 * 10000.0)
    scale = 300.0 * theta_x ** 2.5 * 10.0 ** (0.754 * theta_x) / 10.0 ** (-12.75 * theta_x)
    h_boundfree = scale * 10.0 ** (-12.75 * theta)
    return h_neutral * (h_minus + h_boundfree)


#: Elements with lines in the window but no label of their own; their star-to-star scatter
#: about the labelled trends (dex, APOGEE-like) is drawn by the mock population.
UNLABELLED_ELEMENTS = {"Ti": 0.07, "Ca": 0.05, "Cr": 0.06, "N": 0.10, "S": 0.08, "O": 0.06}


def element_abundances(labels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """[X/H] per element from the nine labels (+ optional ``cfe`` carbon excess).

    Fe-peak and labelled elements follow [Fe/H] + [X/Fe]; the other α elements follow
    [M/H] + [α/M]; C, N and Cr follow the metallicity. Optional ``dx_<element>`` entries
    add a star's own offset for elements the network has no label for (Ti, Ca, Cr, N, S, O).
    """
    feh, mh, alpham = labels["feh"], labels["mh"], labels["alpham"]
    out = {
        "H": np.zeros_like(feh), "Fe": feh, "Cr": feh, "Ni": feh + labels["nife"],
        "Mg": feh + labels["mgfe"], "Si": feh + labels["sife"], "Al": feh + labels["alfe"],
        "C": mh + labels.get("cfe", np.zeros_like(mh)), "N": mh,
    }
    for element in ALPHA_ELEMENTS:
        out[element] = mh + alpham
    for element in UNLABELLED_ELEMENTS:
        offset = labels.get(f"dx_{element}")
        if offset is not None:
            out[element] = out[element] + offset
    return out


def line_strengths(labels: dict[str, np.ndarray], lines: pd.DataFrame) -> LineStrengths:
    """Integrated opacities, Doppler and damping widths of ``lines`` in stars with ``labels``.

    Parameters
    ----------
    labels
        Arrays ``teff, logg, mh, feh, alpham, sife, mgfe, alfe, nife`` (and optionally
        ``vmic`` in km/s, ``cfe``), each of shape (n_stars,).
    lines
        Atomic lines (``load_linelist("atomic")``).

    Returns
    -------
    LineStrengths
    """
    teff = np.asarray(labels["teff"], dtype=np.float64)[:, None]
    logg = np.asarray(labels["logg"], dtype=np.float64)[:, None]
    mh = np.asarray(labels["mh"], dtype=np.float64)[:, None]
    t_line = 0.86 * teff
    theta = 5040.0 / t_line
    pe = electron_pressure(teff, logg, mh)
    h_neutral, _ = saha_fractions("H", t_line, pe)
    kappa = continuum_opacity(t_line, pe, h_neutral)
    abundances = element_abundances({k: np.asarray(v, dtype=np.float64)[:, None] for k, v in labels.items()})
    vmic = np.asarray(labels.get("vmic", 1.0 + 0.25 * (4.5 - labels["logg"])), dtype=np.float64)[:, None]
    n_stars, n_lines = teff.shape[0], len(lines)
    strength = np.empty((n_stars, n_lines))
    doppler = np.empty((n_stars, n_lines))
    gamma = np.empty((n_stars, n_lines))
    pressure_term = 10.0 ** (0.10 * (logg - 4.44) - 0.2 * mh) * (teff / 5777.0) ** 0.3
    fractions: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for j, row in enumerate(lines.itertuples(index=False)):
        element, stage = row.element, int(row.ion)
        if element not in fractions:
            fractions[element] = saha_fractions(element, t_line, pe)
        frac = fractions[element][stage]
        log_pop = (
            np.log10(np.maximum(frac, 1e-30))
            - theta * row.excitation_ev
            - np.log10(partition_function(element, stage, t_line))
        )
        log_s = (
            LOG_STRENGTH_SCALE + SPECIES_CORRECTION.get(row.species, 0.0)
            + row.loggf + SOLAR_LOG_EPS[element] - 12.0 + abundances[element]
            + log_pop + 2.0 * np.log10(row.wavelength_air / 8600.0) - np.log10(kappa)
        )
        strength[:, j] = 10.0 ** np.clip(log_s, -12, 6)[:, 0]
        thermal = 2.0 * K_BOLTZ_EV * t_line * 96.485e6 / (MASS_U[element] * 1e6)  # (km/s)² : 2kT/m
        doppler[:, j] = (row.wavelength_air / C_KMS * np.sqrt(thermal + vmic ** 2))[:, 0]
        scale = (row.wavelength_air / 8600.0) ** 2
        if element == "H":
            n_e = pe / (1.380649e-16 * t_line)
            upper = (1.0 / 9.0 - 1.0 / (1.0967758e-3 * row.wavelength_air * 1.00024)) ** -0.5
            gamma[:, j] = (1.2 * (n_e / 1e14) ** (2.0 / 3.0) * (upper / 12.0) ** 2 + GAMMA_RAD)[:, 0]
        else:
            boost = CA2_DAMPING_BOOST if row.species == "Ca II" else 1.0
            gamma[:, j] = (scale * (GAMMA_RAD + boost * GAMMA_VDW_SUN * pressure_term))[:, 0]
    return LineStrengths(strength, doppler, gamma)
