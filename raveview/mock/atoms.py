"""Atomic data for the LTE line-strength recipe: abundances, ionisation energies, partition functions.

Sources
-------
- Solar abundances log ε (H = 12): Asplund, Grevesse, Sauval & Scott (2009), ARA&A 47, 481, Table 1.
- First and second ionisation energies (eV): NIST Atomic Spectra Database, ionisation-energy tables.
- Partition functions: approximated as ``U(T) = U5000 * (T / 5000 K) ** p``, with U5000 and p read
  off the tabulated log U(θ) of Gray (2005), *The Observation and Analysis of Stellar Photospheres*,
  3rd ed., Appendix D (accurate to ~10 % over 3500–10000 K, enough for a mock).
- Atomic masses (u): IUPAC standard atomic weights.
"""

from __future__ import annotations

#: Solar photospheric abundances log ε(X), Asplund et al. (2009).
SOLAR_LOG_EPS: dict[str, float] = {
    "H": 12.00, "C": 8.43, "N": 7.83, "O": 8.69, "Mg": 7.60, "Al": 6.45, "Si": 7.51,
    "S": 7.12, "Ca": 6.34, "Ti": 4.95, "Cr": 5.64, "Fe": 7.50, "Ni": 6.22,
}

#: Ionisation energies (eV) of the neutral atom and of the singly ionised ion, NIST ASD.
IONISATION_EV: dict[str, tuple[float, float]] = {
    "H": (13.598, 1e9), "C": (11.260, 24.383), "N": (14.534, 29.601), "O": (13.618, 35.121),
    "Mg": (7.646, 15.035), "Al": (5.986, 18.829), "Si": (8.152, 16.346), "S": (10.360, 23.338),
    "Ca": (6.113, 11.872), "Ti": (6.828, 13.576), "Cr": (6.767, 16.486), "Fe": (7.902, 16.199),
    "Ni": (7.640, 18.169),
}

#: Partition functions (U at 5000 K, power-law index p) for stages I, II, III (after Gray 2005).
PARTITION: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "H": ((2.0, 0.0), (1.0, 0.0), (1.0, 0.0)),
    "C": ((9.2, 0.05), (5.9, 0.0), (1.0, 0.0)),
    "N": ((4.0, 0.0), (8.9, 0.03), (6.0, 0.0)),
    "O": ((8.7, 0.03), (4.0, 0.0), (9.0, 0.0)),
    "Mg": ((1.0, 0.05), (2.0, 0.0), (1.0, 0.0)),
    "Al": ((5.8, 0.02), (1.0, 0.0), (2.0, 0.0)),
    "Si": ((9.3, 0.12), (5.6, 0.02), (1.0, 0.0)),
    "S": ((8.4, 0.06), (4.0, 0.02), (8.0, 0.0)),
    "Ca": ((1.1, 0.6), (2.0, 0.25), (1.0, 0.0)),
    "Ti": ((24.0, 1.1), (48.0, 0.7), (22.0, 0.3)),
    "Cr": ((8.5, 0.7), (6.6, 0.3), (24.0, 0.0)),
    "Fe": ((23.5, 1.0), (39.0, 0.6), (25.0, 0.0)),
    "Ni": ((28.0, 0.25), (9.6, 0.25), (21.0, 0.0)),
}

#: Atomic masses in u (thermal Doppler widths).
MASS_U: dict[str, float] = {
    "H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "Mg": 24.305, "Al": 26.982, "Si": 28.085,
    "S": 32.06, "Ca": 40.078, "Ti": 47.867, "Cr": 51.996, "Fe": 55.845, "Ni": 58.693,
}

#: Elements whose abundance follows [α/M] (APOGEE's α: O, Mg, Si, S, Ca, Ti); Mg and Si
#: have their own labels and use them instead.
ALPHA_ELEMENTS: tuple[str, ...] = ("O", "S", "Ca", "Ti")
