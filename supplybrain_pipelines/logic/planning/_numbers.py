"""Input checks shared by the planning modules: one clear ValueError that names the value."""

from __future__ import annotations

import math
from decimal import Decimal
from numbers import Real


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
