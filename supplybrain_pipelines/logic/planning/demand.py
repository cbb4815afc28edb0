"""Demand of many SKU units at once: one in-stock mask, then velocity, σ, class and rate from it.

Every function takes a matrix with one row per SKU unit and one column per day of the window
(oldest first), so the ``demand`` asset computes a whole catalogue in a few numpy passes; a
single series is a one-row matrix (:func:`summarize_series`). Source for every convention:
``planning_and_marketplace_apis.md`` §4.1–4.2.

**The in-stock mask** (:func:`in_stock_mask`) says which days of the window count, and it is
the only one: velocity, σ, ADI, CV² and the rate all use it. A day counts when

- it is on or after the SKU unit's *first evidence* day S (its first order, through a bundle
  or on its own, cancelled or not, or its first recorded availability > 0, over all history):
  before S it could not sell, and days before S never count; and
- the stock history does not record it out of stock (available ≤ 0), unless it sold that day
  (a sale proves stock).

Days the stock history does not cover count as in stock: a history that starts today (a fresh
install, an import) says nothing about the days before, and only evidence moves the start.

**On the counted days** (the *observed series*, the masked days in date order):

- velocity = units / counted days (§4.2: 60 units, 30 days, 10 out of stock → 3.0/day);
- σ_d = the sample standard deviation (n − 1) of the observed series, so out-of-stock zeros do
  not inflate it (n − 1: σ is estimated from a window, as R ``sd``; fewer than 2 days → 0);
- Croston decomposition of the observed series: sizes z = its non-zero values, intervals
  measured from the series start (statsforecast ``_croston_classic``), so ADI = mean interval
  = (1-based position of the last non-zero day) / (number of non-zero days), and trailing zero
  days do not raise it; CV² = (sample sd / mean)² of the sizes (0 with fewer than two);
  Syntetos–Boylan cut-offs ADI 1.32, CV² 0.49;
- rate: for ADI > 1.32 (intermittent, lumpy) **TSB** (Teunter–Syntetos–Babai) with α = 0.1 for
  both levels, else the velocity. TSB updates the demand probability on *every* observed day,
  zeros included, so a SKU unit that stops selling sees its rate fall; Croston (and SBA) only
  update on demand days and keep a stopped seller's rate until it sells again
  ([5, 0, 0, 0, 5, then 25 zeros]: Croston SBA 3.65/day, TSB 0.2714/day, mean 0.33/day).
  Initialisation as statsforecast: each level starts at its first value (the probability at
  the first observed day's occurrence, the size at the first non-zero value). Reference
  (§4.1): [0,0,3,0,0,0,2,0,4,0] → P̂ = 0.21072969, rate 0.63429637.

Nothing here reads a clock, a file or a database, or imports dagster or SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Syntetos–Boylan cut-offs (§4.1): intermittent when ADI > 1.32, erratic when CV² > 0.49.
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
#: TSB smoothing constant for both the demand probability and the size (statsforecast default).
TSB_ALPHA = 0.1

KINDS = ("none", "smooth", "erratic", "intermittent", "lumpy")


def in_stock_mask(units: np.ndarray, recorded_out: np.ndarray,
                  first_evidence: np.ndarray) -> np.ndarray:
    """The days that count, per SKU unit (rows) and day (columns): see the module docstring.

    ``units``: net units per day; ``recorded_out``: the stock history records the day with
    available ≤ 0; ``first_evidence``: per row, the column of the first evidence day S (≤ 0
    when it lies on or before the window's first day, ≥ the window length when there is none).
    """
    units, recorded_out = _matrix(units), np.asarray(recorded_out, dtype=bool)
    if recorded_out.shape != units.shape:
        raise ValueError(f"recorded_out has shape {recorded_out.shape}, units {units.shape}")
    columns = np.arange(units.shape[1])
    started = columns[None, :] >= np.asarray(first_evidence).reshape(-1, 1)
    return started & ~(recorded_out & (units <= 0))


@dataclass(frozen=True, slots=True)
class DemandStats:
    """Per SKU unit (arrays of one value per row): what ``demand`` stores."""

    units: np.ndarray
    days: np.ndarray
    velocity: np.ndarray
    sigma: np.ndarray
    adi: np.ndarray
    """NaN when there is no demand."""
    cv2: np.ndarray
    """NaN when there is no demand."""
    kind: np.ndarray
    """Index into :data:`KINDS`."""
    tsb: np.ndarray
    """True where the rate is TSB's (ADI > 1.32)."""
    rate: np.ndarray


def demand_stats(units: np.ndarray, mask: np.ndarray, alpha: float = TSB_ALPHA) -> DemandStats:
    """Velocity, σ, ADI, CV², class and rate of every row, all over the days of ``mask``."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    x, mask = _matrix(units), np.asarray(mask, dtype=bool)
    if mask.shape != x.shape:
        raise ValueError(f"mask has shape {mask.shape}, units {x.shape}")
    observed = np.where(mask, x, 0.0)
    days = mask.sum(axis=1)
    total = observed.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        velocity = np.where(days > 0, total / np.maximum(days, 1), 0.0)
        sigma = _sample_sd(observed, mask, days, velocity)
        sizes = mask & (x > 0)
        count = sizes.sum(axis=1)
        size_mean = np.where(count > 0, np.where(sizes, x, 0.0).sum(axis=1)
                             / np.maximum(count, 1), 0.0)
        cv2 = np.where(count >= 2, (_sample_sd(x, sizes, count, size_mean)
                                    / np.where(size_mean > 0, size_mean, 1.0)) ** 2, 0.0)
        last = x.shape[1] - 1 - np.argmax(sizes[:, ::-1], axis=1)
        position = np.take_along_axis(np.cumsum(mask, axis=1), last[:, None], axis=1)[:, 0]
        adi = np.where(count > 0, position / np.maximum(count, 1), np.nan)
    cv2 = np.where(count > 0, cv2, np.nan)
    intermittent = count > 0
    intermittent &= adi > ADI_CUTOFF
    variable = cv2 > CV2_CUTOFF
    kind = np.where(count == 0, 0, 1 + variable + 2 * intermittent)
    rate_tsb = tsb(x, mask, alpha)
    rate = np.where(intermittent, rate_tsb, velocity)
    return DemandStats(total, days, velocity, sigma, adi, cv2, kind, intermittent, rate)


def tsb(units: np.ndarray, mask: np.ndarray, alpha: float = TSB_ALPHA) -> np.ndarray:
    """TSB rate p̂·ẑ per row over the days of ``mask`` (module docstring); 0 without demand."""
    x, mask = _matrix(units), np.asarray(mask, dtype=bool)
    rows = x.shape[0]
    p, z = np.zeros(rows), np.zeros(rows)
    p_started, z_started = np.zeros(rows, dtype=bool), np.zeros(rows, dtype=bool)
    for day in range(x.shape[1]):
        seen, value = mask[:, day], x[:, day]
        occurred = (value > 0) & seen
        p = np.where(seen, np.where(p_started, alpha * occurred + (1 - alpha) * p, occurred), p)
        z = np.where(occurred, np.where(z_started, alpha * value + (1 - alpha) * z, value), z)
        p_started |= seen
        z_started |= occurred
    return p * z


def _sample_sd(values: np.ndarray, mask: np.ndarray, n: np.ndarray,
               mean: np.ndarray) -> np.ndarray:
    """Sample standard deviation per row of the masked values; 0 for fewer than 2 values."""
    squares = np.where(mask, (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return np.where(n >= 2, np.sqrt(squares / np.maximum(n - 1, 1)), 0.0)


def _matrix(units: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """``units`` as a 2-D float matrix; ValueError on a negative, NaN or infinite value."""
    x = np.asarray(units, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"units must be a matrix (SKU units × days), got {x.ndim} dimensions")
    if x.size and not (np.isfinite(x).all() and (x >= 0).all()):
        raise ValueError("units must be finite numbers ≥ 0 (net units per day)")
    return x


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """:func:`demand_stats` of one series, as plain Python values."""

    units: float
    days: int
    velocity: float
    sigma: float
    adi: float | None
    cv2: float | None
    kind: str
    method: str
    rate: float


def summarize_series(daily: Sequence[float], recorded_out: Sequence[bool] | None = None,
                     first_evidence: int = 0) -> SeriesSummary:
    """One SKU unit's demand: :func:`in_stock_mask` then :func:`demand_stats` on a one-row
    matrix. ``recorded_out`` None: no day recorded out of stock. ``method`` is "tsb" or
    "mean" (velocity)."""
    x = np.asarray([list(daily)], dtype=float)
    out = np.zeros_like(x, dtype=bool) if recorded_out is None else np.asarray([recorded_out])
    s = demand_stats(x, in_stock_mask(x, out, np.asarray([first_evidence])))
    adi, cv2 = float(s.adi[0]), float(s.cv2[0])
    return SeriesSummary(float(s.units[0]), int(s.days[0]), float(s.velocity[0]),
                         float(s.sigma[0]), None if np.isnan(adi) else adi,
                         None if np.isnan(cv2) else cv2, KINDS[int(s.kind[0])],
                         "tsb" if s.tsb[0] else "mean", float(s.rate[0]))
