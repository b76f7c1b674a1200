"""Text for a value and its error: the error to two significant digits, the value to the same decimals."""

from __future__ import annotations

import math

MAX_DECIMALS = 6


def error_decimals(error: float, default: int) -> int:
    """Decimals that show ``error`` with two significant digits (``default`` when it is not positive).

    Errors of 10 or more are shown as integers (``123`` stays ``123``): 0.0031 → 4, 0.1 → 2, 0.25 → 2,
    2.5 → 1, 80 → 0. Rounding is taken into account (0.0996 rounds to 0.10, so 2 decimals).
    """
    if not (math.isfinite(error) and error > 0):
        return default
    decimals = min(MAX_DECIMALS, max(0, 1 - math.floor(math.log10(error))))
    rounded = round(error, decimals)
    if rounded > 0 and decimals > 0 and 1 - math.floor(math.log10(rounded)) < decimals:
        decimals -= 1  # 0.0996 → 0.10, not 0.100
    return decimals


def format_value(value: float, error: float, decimals: int) -> str:
    """``"value ± error"``, the error to two significant digits; "–" when the value is missing.

    ``decimals`` is used when the error is missing or not positive.
    """
    if not math.isfinite(value):
        return "–"
    if not math.isfinite(error):
        return f"{value:.{decimals}f}"
    places = error_decimals(error, decimals)
    return f"{value:.{places}f} ± {error:.{places}f}"
