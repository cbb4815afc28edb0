"""Forecast accuracy: the project's demand rate at past origins, judged on what was ordered next.

A rolling-origin evaluation (Tashman 2000; Hyndman & Athanasopoulos, *FPP3* §5.10 "time series
cross-validation"). Every function takes matrices with one row per SKU unit and one column per
day (oldest first), so a whole catalogue is a few numpy passes.

**At an origin** o (a column: the first day *after* the data the forecast may use):

- the project's rate is :func:`~.demand.demand_stats` over the ``window`` days [o − window, o)
  with the project's in-stock mask (:func:`~.demand.in_stock_mask`: days before the first
  evidence and recorded out-of-stock days without a sale do not count; TSB for intermittent SKU
  units), exactly what the ``demand`` asset would have computed on the day before o;
- two baselines over the same days: the plain calendar mean of the last 30 days (units / 30,
  no mask) and the mean of the last 7 days (units / 7);
- each rate times the horizon h (days) is the forecast of the units ordered in [o, o + h),
  compared with the units actually ordered then.

A pair (SKU unit, origin) is *evaluated* when its horizon lies inside the data and the SKU unit
had at least one counted day before o (a SKU unit not yet selling has no forecast to judge).

**Scores** over any set of evaluated pairs (a SKU unit's origins, an article, a demand class,
the catalogue), with F the forecast and A the actual units of each pair:

- WAPE = Σ|F − A| / ΣA × 100 (weighted absolute percentage error; NaN when ΣA = 0);
- bias = (ΣF − ΣA) / ΣA × 100, signed: + over-forecasts, − under-forecasts (NaN when ΣA = 0).

A forecast equal to the actuals scores WAPE 0 and bias 0; one 20 % high everywhere, WAPE 20
and bias +20.

Nothing here reads a clock, a file or a database, or imports dagster or SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supplybrain_pipelines.logic.planning.demand import DemandStats, demand_stats, in_stock_mask

#: The baselines' look-back in days: the plain 30-day calendar mean, the last 7 days' mean.
MEAN_DAYS = 30
LAST_DAYS = 7
#: The forecasts compared, in the order of :attr:`OriginForecasts.forecast`'s first axis.
METHODS = ("project", "mean_30", "last_7")


def wape(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Σ|F − A| / ΣA × 100 over all elements; NaN when ΣA = 0. F [10, 0], A [8, 2] → 40.0."""
    f, a = np.asarray(forecast, dtype=float), np.asarray(actual, dtype=float)
    return float(_ratio(np.abs(f - a).sum(), a.sum()))


def bias(forecast: np.ndarray, actual: np.ndarray) -> float:
    """(ΣF − ΣA) / ΣA × 100 over all elements, signed; NaN when ΣA = 0. F = 1.2·A → +20."""
    f, a = np.asarray(forecast, dtype=float), np.asarray(actual, dtype=float)
    return float(_ratio(f.sum() - a.sum(), a.sum()))


def _ratio(numerator: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """numerator / actual × 100, NaN where actual is 0."""
    numerator, actual = np.asarray(numerator, dtype=float), np.asarray(actual, dtype=float)
    out = np.full(np.broadcast(numerator, actual).shape, np.nan)
    np.divide(numerator * 100.0, actual, out=out, where=actual != 0)
    return out


def cumulative_days(units: np.ndarray) -> np.ndarray:
    """Per row, the running total of ``units`` with a 0 in front (rows × days + 1), for
    :func:`window_sums`."""
    x = np.asarray(units, dtype=float)
    return np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)


def window_sums(cumulative: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Per row, Σ units over the columns [start, stop) (one pair of columns per row), from the
    row's :func:`cumulative_days`."""
    rows = np.arange(cumulative.shape[0])
    return cumulative[rows, np.asarray(stop)] - cumulative[rows, np.asarray(start)]


def rates_at(units: np.ndarray, recorded_out: np.ndarray, first_evidence: np.ndarray,
             origin: np.ndarray, window: int) -> DemandStats:
    """The project's demand statistics of every row at its origin column ``origin`` (one per
    row, ≥ ``window``): :func:`~.demand.demand_stats` over the columns [origin − window,
    origin) under :func:`~.demand.in_stock_mask`, ``first_evidence`` being each row's first
    evidence column in ``units`` (≤ 0: before it)."""
    x = np.asarray(units, dtype=float)
    origin = np.broadcast_to(np.asarray(origin, dtype=np.int64), (x.shape[0],))
    if x.shape[0] and (origin.min() < window or origin.max() > x.shape[1]):
        raise ValueError(f"origins must lie in [{window}, {x.shape[1]}] (window {window} days)")
    out = np.asarray(recorded_out, dtype=bool)
    if x.shape[0] and (origin == origin[0]).all():  # one origin for every row: a slice
        history = x[:, origin[0] - window:origin[0]]
        out = out[:, origin[0] - window:origin[0]]
    else:
        columns = origin[:, None] - window + np.arange(window)[None, :]
        history = np.take_along_axis(x, columns, axis=1)
        out = np.take_along_axis(out, columns, axis=1)
    start = np.asarray(first_evidence, dtype=np.int64) - (origin - window)
    mask = in_stock_mask(history, out, start)
    return _stats_of_sellers(history, mask)


def _stats_of_sellers(history: np.ndarray, mask: np.ndarray) -> DemandStats:
    """:func:`~.demand.demand_stats` of every row, computed only for the rows with a unit in
    their window: a row without one gets what demand_stats gives it (its counted days, rate,
    velocity and σ 0, ADI and CV² NaN, class "none"), at no cost. Most rows of a sparse
    catalogue have no order in a given month."""
    selling = history.any(axis=1)
    if selling.all():
        return demand_stats(history, mask)
    n = history.shape[0]
    some = demand_stats(history[selling], mask[selling])
    stats = {"units": np.zeros(n), "days": mask.sum(axis=1), "velocity": np.zeros(n),
             "sigma": np.zeros(n), "adi": np.full(n, np.nan), "cv2": np.full(n, np.nan),
             "kind": np.zeros(n, dtype=some.kind.dtype), "tsb": np.zeros(n, dtype=bool),
             "rate": np.zeros(n)}
    for name, values in stats.items():
        if name != "days":
            values[selling] = getattr(some, name)
    return DemandStats(**stats)


@dataclass(frozen=True, slots=True)
class OriginForecasts:
    """Forecasts and actuals of every (row, origin) pair: arrays of shape (rows, origins);
    ``forecast`` has a first axis of :data:`METHODS`."""

    actual: np.ndarray
    forecast: np.ndarray
    evaluated: np.ndarray
    """True where the pair counts (module docstring)."""
    kind: np.ndarray
    """The demand class at the origin, an index into :data:`~.demand.KINDS`."""


def forecasts_at_origins(units: np.ndarray, recorded_out: np.ndarray,
                         first_evidence: np.ndarray, origins: np.ndarray, horizon: np.ndarray,
                         window: int) -> OriginForecasts:
    """Every method's forecast of the next ``horizon`` days (per row) and the units actually
    ordered then, at each origin column of ``origins`` (shape rows × origins).

    Example: 30 days of 2 units, then 14 days of 3 units; origin 30, horizon 14 → actual 42,
    project 28 (rate 2), mean_30 28, last_7 28.
    """
    x = np.asarray(units, dtype=float)
    n, days = x.shape
    origins = np.asarray(origins, dtype=np.int64).reshape(n, -1)
    horizon = np.broadcast_to(np.asarray(horizon, dtype=np.int64), (n,))
    k = origins.shape[1]
    actual = np.zeros((n, k))
    forecast = np.zeros((len(METHODS), n, k))
    evaluated = np.zeros((n, k), dtype=bool)
    kind = np.zeros((n, k), dtype=np.int64)
    lookback = max(window, MEAN_DAYS, LAST_DAYS)
    cumulative = cumulative_days(x)
    for j in range(k):
        origin = origins[:, j]
        inside = (origin >= lookback) & (origin + horizon <= days)
        at = np.where(inside, origin, lookback)  # rows outside are computed, then dropped
        stop = np.minimum(at + horizon, days)
        stats = rates_at(x, recorded_out, first_evidence, at, window)
        actual[:, j] = window_sums(cumulative, at, stop)
        forecast[0, :, j] = stats.rate * horizon
        forecast[1, :, j] = window_sums(cumulative, at - MEAN_DAYS, at) / MEAN_DAYS * horizon
        forecast[2, :, j] = window_sums(cumulative, at - LAST_DAYS, at) / LAST_DAYS * horizon
        evaluated[:, j] = inside & (stats.days > 0)
        kind[:, j] = stats.kind
    return OriginForecasts(actual, forecast, evaluated, kind)


@dataclass(frozen=True, slots=True)
class Scores:
    """Sums and scores per group (arrays of one value per group; the method arrays have a
    first axis of :data:`METHODS`)."""

    pairs: np.ndarray
    actual: np.ndarray
    forecast: np.ndarray
    wape: np.ndarray
    bias: np.ndarray


def grouped_scores(group: np.ndarray, groups: int, actual: np.ndarray, forecast: np.ndarray,
                   evaluated: np.ndarray) -> Scores:
    """WAPE and bias of every method per group, over the evaluated pairs. ``group`` gives each
    pair's group index in [0, groups) (same shape as ``actual``); ``forecast`` has a first axis
    of methods. Example: SKU A F 10 A 10, SKU B F 0 A 10, one group → WAPE 50, bias −50."""
    g = np.asarray(group, dtype=np.int64)[evaluated]
    a = np.asarray(actual, dtype=float)[evaluated]
    f = np.asarray(forecast, dtype=float)[:, evaluated]
    pairs = np.bincount(g, minlength=groups)
    actual_sum = np.bincount(g, weights=a, minlength=groups)
    forecast_sum = np.stack([np.bincount(g, weights=m, minlength=groups) for m in f])
    error_sum = np.stack([np.bincount(g, weights=np.abs(m - a), minlength=groups) for m in f])
    return Scores(pairs, actual_sum, forecast_sum, _ratio(error_sum, actual_sum),
                  _ratio(forecast_sum - actual_sum, actual_sum))
