"""Spreading a minimum's increase over SKU units: the weights and the largest-remainder split.

Source: ``seed_backend_domain.md`` §3.8 step 4 ("largest-remainder rounding") and issue 4
("spread them by size weights or demand shares"). :mod:`.minimums` uses both for the fabric and
elastic minimums.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import TypeVar

from supplybrain_pipelines.logic.planning._numbers import as_count, as_number
from supplybrain_pipelines.logic.planning.bundles import SingleKey

K = TypeVar("K", bound=Hashable)


def largest_remainder(total: int, weights: Mapping[K, float], order: Sequence[K]) -> dict[K, int]:
    """Split ``total`` whole units in proportion to ``weights`` (Hamilton / largest remainder).

    quota_k = total · w_k / Σw; each key gets ⌊quota_k⌋, and the units left go one each to the
    largest fractional remainders, ties broken by position in ``order``. Arithmetic is exact:
    a weight is read as the decimal it prints as (0.55 is 11/20, not the binary float just
    above it), so 0.55/0.45 of 2850 is a true tie at .5 and goes to the first size in
    ``order`` (→ 1568/1282, as §3.8.1). Every key of
    ``order`` is in the result; keys without a weight get 0; when Σw = 0 the split is equal.
    Source: ``seed_backend_domain.md`` §3.8 step 4 ("largest-remainder rounding").
    """
    as_count("total", total)
    keys = list(order)
    if len(set(keys)) != len(keys):
        raise ValueError("order lists a key twice")
    known = set(keys)
    stray = [key for key in weights if key not in known]
    if stray:
        raise ValueError(f"weights has keys that order lacks: {stray[:3]!r}")
    if not keys:
        if total:
            raise ValueError(f"cannot split {total} units over no keys")
        return {}
    exact = [_exact(key, weights.get(key, 0.0)) for key in keys]
    # common denominator → integer weights a_k; quota_k = total·a_k / A exactly
    denominator = math.lcm(*(weight.denominator for weight in exact))
    scaled = [weight.numerator * (denominator // weight.denominator) for weight in exact]
    weight_sum = sum(scaled)
    if weight_sum == 0:
        scaled, weight_sum = [1] * len(keys), len(keys)
    shares = [total * weight // weight_sum for weight in scaled]
    remainders = [total * weight % weight_sum for weight in scaled]
    left = total - sum(shares)
    ranked = sorted(range(len(keys)), key=lambda i: (-remainders[i], i))
    for i in ranked[:left]:
        shares[i] += 1
    return dict(zip(keys, shares, strict=True))


@lru_cache(maxsize=4096)
def _decimal_fraction(weight: float) -> Fraction:
    """The decimal a float prints as, exactly (0.55 → 11/20); cached, weights repeat a lot."""
    return Fraction(repr(weight))


def _exact(key: Hashable, weight: object) -> Fraction:
    """A weight as an exact fraction; ValueError unless it is a finite number ≥ 0."""
    as_number(f"weight of {key!r}", weight)
    if isinstance(weight, float):
        return _decimal_fraction(weight)
    return Fraction(weight)  # type: ignore[arg-type]


def spreading_basis(any_demand: bool, any_size_weight: bool) -> str:
    """What an article's minimums are spread by: "demand_share" when any of its SKU units has
    demand, else "size_weight" when any of its sizes has a weight > 0, else "uniform"."""
    if any_demand:
        return "demand_share"
    if any_size_weight:
        return "size_weight"
    return "uniform"


def spreading_weights(skus: Iterable[SingleKey], *,
                      demand: Mapping[SingleKey, float] | None = None,
                      size_weights: Mapping[int, float] | None = None
                      ) -> tuple[dict[SingleKey, float], str]:
    """Weights to spread a minimum over: demand shares, else size weights, else equal.

    Returns (weights, basis) with basis "demand_share", "size_weight" or "uniform"
    (:func:`spreading_basis`). Demand shares are used when Σ demand > 0; size weights
    (``production_order_size_weight_settings``, only weights > 0 count, §1.5) when any is > 0;
    otherwise every SKU weighs 1. Source: issue 4 ("spread them by size weights or demand
    shares").
    """
    keys = list(skus)
    shares = demand or {}
    sizes = size_weights or {}
    basis = spreading_basis(sum(max(shares.get(key, 0.0), 0.0) for key in keys) > 0,
                            any(sizes.get(key.size_id, 0.0) > 0 for key in keys))
    if basis == "demand_share":
        return {key: max(shares.get(key, 0.0), 0.0) for key in keys}, basis
    if basis == "size_weight":
        return {key: max(sizes.get(key.size_id, 0.0), 0.0) for key in keys}, basis
    return {key: 1.0 for key in keys}, basis
