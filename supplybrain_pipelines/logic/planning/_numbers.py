"""Input checks shared by the planning modules: one clear ValueError that names the value, for
one number or a whole array of them."""

from __future__ import annotations

import math
from decimal import Decimal
from numbers import Real

import numpy as np


def as_number(name: str, value: object, *, minimum: float | None = 0.0) -> float:
    """``value`` as a float; ValueError unless it is a finite real number ≥ ``minimum``.

    Accepts int, float, Decimal (PostgreSQL ``numeric``) and Fraction; rejects bool, strings,
    None, NaN and ±inf. ``minimum`` None means "any finite number".

    Plain ``float`` and ``int`` (almost every call) take a fast path on ``type(value)``, which
    skips the ABC ``isinstance`` check; ``bool`` is not ``int`` there and takes the general path.
    """
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)  # type: ignore[arg-type]
        if math.isfinite(number) and (minimum is None or number >= minimum):
            return number
    elif isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum:g}, got {value!r}")
    return number


def as_count(name: str, value: object) -> int:
    """``value`` as an int; ValueError unless it is a whole number ≥ 0 (bool rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number ≥ 0, got {value!r}")
    return value


def as_array(name: str, values: object, *, minimum: float | None = 0.0) -> np.ndarray:
    """``values`` as a float64 array; ValueError unless every element is finite and ≥
    ``minimum`` (None means "any finite number"). The message names the value, the first bad
    element and its index, as :func:`as_number` does for one value."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        index = int(np.flatnonzero(~finite.ravel())[0])
        raise ValueError(f"{name} must be a finite number, got {array.ravel()[index]!r} "
                         f"(element {index})")
    if minimum is not None:
        low = array < minimum
        if low.any():
            index = int(np.flatnonzero(low.ravel())[0])
            raise ValueError(f"{name} must be at least {minimum:g}, got "
                             f"{float(array.ravel()[index])!r} (element {index})")
    return array
