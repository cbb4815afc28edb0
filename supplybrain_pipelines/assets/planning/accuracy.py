"""``forecast_accuracy``: how far off the project's demand rate has been, per SKU unit, article,
demand class and catalogue, against two baselines.

A rolling-origin evaluation (maths in ``logic/planning/accuracy.py``) over the newest planning
run's SKU units: at each of the last ``origins`` weekly origins, the rate the demand method
computes from the days before the origin only, times the horizon, against the net units
actually ordered over the next ``horizon_days`` days (origins ending by the as-of) and over the
SKU unit's lead time (origins ``lead time`` days before the as-of, a week apart). Inputs are
the daily rollups (``_evidence_inputs``). A run replaces the rows of earlier runs for the same
as-of and of as-of days more than ``keep_days`` older; ``forecast_accuracy_latest`` shows the
newest run, and the catalogue's WAPE and bias are
numbers in the materialisation's metadata, so the asset page plots them over time.
"""


from collections.abc import Iterator

import dagster as dg
import numpy as np

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.planning._common import GROUP
from supplybrain_pipelines.assets.planning._evidence_inputs import (
    EvidenceInputs,
    check_config,
    newest_run,
    read_inputs,
    replace_rows,
)
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.planning.accuracy import (
    LAST_DAYS,
    MEAN_DAYS,
    METHODS,
    OriginForecasts,
    Scores,
    forecasts_at_origins,
    grouped_scores,
)
from supplybrain_pipelines.logic.planning.demand import KINDS
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

COLUMNS = [c.name for c in t.forecast_accuracy.columns if c.name != "computed_at"]


class AccuracyConfig(dg.Config):
    """Run config of ``forecast_accuracy``."""

    origins: int = 8
    """Origins evaluated per horizon, the newest first."""
    origin_step_days: int = 7
    """Days between two origins (weekly)."""
    horizon_days: int = 14
    """The fixed horizon: days forecast after each origin."""
    window_days: int = 30
    """The demand method's window before each origin (the demand asset's window_days)."""
    keep_days: int = 90
    """Rows of as-of days more than this many days before the newest are deleted."""


def origin_columns(inputs: EvidenceInputs, horizon: np.ndarray, origins: int,
                   step: int) -> np.ndarray:
    """Per SKU unit (rows) the origin columns, newest first: the last horizon ends at the
    as-of (the last column), then one step earlier each."""
    return inputs.days - horizon[:, None] - step * np.arange(origins)[None, :]


def _none(values: np.ndarray) -> list:
    """Floats with NaN as None (NULL)."""
    return [None if v != v else v for v in values.tolist()]


def score_rows(head: tuple, level: str, horizon: str, horizon_days: list, keys: list[tuple],
               classes: list, scores: Scores) -> Iterator[tuple]:
    """The table rows of one level and horizon: the groups with an evaluated pair."""
    columns = [scores.pairs.tolist(), scores.actual.tolist()]
    for m in range(len(METHODS)):
        columns += [scores.forecast[m].tolist(), _none(scores.wape[m]), _none(scores.bias[m])]
    for g in np.flatnonzero(scores.pairs > 0).tolist():
        yield (*head, level, horizon, horizon_days[g], *keys[g], classes[g],
               *(column[g] for column in columns))


def accuracy_rows(head: tuple, inputs: EvidenceInputs, horizon: str, days: np.ndarray,
                  f: OriginForecasts) -> Iterator[tuple]:
    """Every row of one horizon: per SKU unit, article, demand class and the catalogue."""
    n, k = f.actual.shape
    articles, article_of_row = np.unique(inputs.article_id, return_inverse=True)
    fixed = horizon == "fixed"
    cases = [
        ("sku_unit", np.repeat(np.arange(n)[:, None], k, axis=1), n,
         days.tolist() if n else [],
         list(zip(inputs.sku_unit_id.tolist(), inputs.article_id.tolist(),
                  inputs.color_id.tolist(), inputs.size_id.tolist(), strict=True)),
         [KINDS[c] for c in f.kind[:, 0].tolist()]),
        ("article", np.repeat(article_of_row[:, None], k, axis=1), len(articles), None,
         [(None, a, None, None) for a in articles.tolist()], [None] * len(articles)),
        ("demand_class", f.kind, len(KINDS), None, [(None,) * 4] * len(KINDS), list(KINDS)),
        ("catalogue", np.zeros((n, k), dtype=np.int64), 1, None, [(None,) * 4], [None]),
    ]
    for level, group, groups, horizon_days, keys, classes in cases:
        if horizon_days is None:
            horizon_days = [int(days[0]) if fixed and n else None] * groups
        scores = grouped_scores(group, groups, f.actual, f.forecast, f.evaluated)
        yield from score_rows(head, level, horizon, horizon_days, keys, classes, scores)


def catalogue_metadata(label: str, f: OriginForecasts) -> dict:
    """The catalogue's figures of one horizon as numbers (NaN ones left out)."""
    scores = grouped_scores(np.zeros(f.actual.shape, dtype=np.int64), 1, f.actual,
                            f.forecast, f.evaluated)
    figures = {f"pairs_{label}": int(scores.pairs[0]),
               f"actual_units_{label}": float(scores.actual[0])}
    for m, method in enumerate(METHODS):
        for name, values in (("wape", scores.wape), ("bias_pct", scores.bias)):
            value = float(values[m, 0])
            if value == value:
                figures[f"{method}_{name}_{label}"] = value
    return figures


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres", "numpy"}, code_version="1",
          deps=["planning_proposals"], automation_condition=dg.AutomationCondition.eager(),
          description="Rolling-origin accuracy of the demand rate (the project's demand method "
          "at each of the last weekly origins, from the data before it) against the net units "
          "ordered over the next 14 days and over the lead time: WAPE and bias (%) per SKU "
          "unit, article, demand class and catalogue, with the 30-day calendar mean and the "
          "last 7 days' mean as baselines.")
def forecast_accuracy(context: dg.AssetExecutionContext, config: AccuracyConfig,
                      warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    check_config(config, positive=("origins", "origin_step_days", "horizon_days",
                                   "window_days"), non_negative=("keep_days",))
    run_id = context.run.run_id
    extra: dict = {"run_id": run_id}
    with warehouse.transaction() as conn:
        as_of, longest_lead = newest_run(conn)
        if as_of is not None:
            lookback = max(config.window_days, MEAN_DAYS, LAST_DAYS)
            span = (max(config.horizon_days, longest_lead, 1)
                    + config.origin_step_days * (config.origins - 1) + lookback)
            inputs = read_inputs(conn, as_of, span)
            n = len(inputs)
            fixed_days = np.full(n, config.horizon_days, dtype=np.int64)
            lead_days = np.maximum(inputs.lead_time_days, 1)
            head = (run_id, as_of)
            rows = []
            for horizon, days in (("fixed", fixed_days), ("lead_time", lead_days)):
                f = forecasts_at_origins(
                    inputs.units, inputs.recorded_out, inputs.first_evidence,
                    origin_columns(inputs, days, config.origins, config.origin_step_days),
                    days, config.window_days)
                rows += list(accuracy_rows(head, inputs, horizon, days, f))
                extra |= catalogue_metadata(horizon, f)
            replace_rows(conn, t.forecast_accuracy, COLUMNS, rows, run_id=run_id, as_of=as_of,
                         keep_days=config.keep_days)
            extra |= {"as_of": as_of.isoformat(), "sku_units": n, "rows_written": len(rows),
                      "horizon_days": config.horizon_days, "origins": config.origins}
    context.log.info(f"forecast accuracy: {extra}" if as_of is not None else
                     "forecast accuracy: no planning run yet, nothing to evaluate")
    return dg.MaterializeResult(metadata=table_metadata(warehouse, t.forecast_accuracy,
                                                        **extra))
