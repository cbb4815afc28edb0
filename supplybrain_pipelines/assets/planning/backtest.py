"""``policy_backtest``: would the safety stock, lead time and coverage settings have kept the
shelves stocked? The reorder-point / order-up-to policy replayed day by day over the last
``days`` days on the demand that actually occurred, per SKU unit, article and catalogue.

The newest planning run's SKU units with the settings it resolved (lead time, coverage, service
level) and the article's pack multiple (``_evidence_inputs``, from the daily rollups). The
demand rate and σ the policy uses are the demand method's (``logic/planning/demand.py``) from
the ``window_days`` before each block of ``reestimate_every_days`` days, so the policy never
sees the future; the simulation (``logic/planning/backtest.py``) starts from the stock the
history records at the first day, with nothing on order. Not modelled: the fabric and elastic
minimums (they tie an article's SKU units into one batch), open purchase orders at the start,
and returns. A run replaces the rows of earlier runs for the same as-of and of as-of days more
than ``keep_days`` older; ``policy_backtest_latest`` shows the newest run.
"""


from datetime import timedelta

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
from supplybrain_pipelines.logic.planning.accuracy import rates_at
from supplybrain_pipelines.logic.planning.backtest import BacktestResult, simulate
from supplybrain_pipelines.logic.planning.inventory import z_for_service_levels
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

COLUMNS = [c.name for c in t.policy_backtest.columns if c.name != "computed_at"]
#: The sums kept per SKU unit and added up per article and for the catalogue.
SUMS = ("start_stock", "demanded", "served", "stockout_days", "with_stockout", "on_hand",
        "orders", "units_ordered", "cycles", "stocked_out", "level_x_cycles")


class BacktestConfig(dg.Config):
    """Run config of ``policy_backtest``."""

    days: int = 180
    """Days replayed, ending at the newest planning run's as-of."""
    reestimate_every_days: int = 7
    """The policy's demand rate and σ are recomputed every this many days."""
    window_days: int = 30
    """The demand method's window before each re-estimation (the demand asset's)."""
    keep_days: int = 90
    """Rows of as-of days more than this many days before the newest are deleted."""


def policy_rates(inputs: EvidenceInputs, config: BacktestConfig) -> tuple[np.ndarray, ...]:
    """The demand rate and σ of every SKU unit at the start of each block of
    ``reestimate_every_days`` days (rows × blocks), from the ``window_days`` before it."""
    n = len(inputs)
    blocks = -(-config.days // config.reestimate_every_days)
    d, sigma = np.zeros((n, blocks)), np.zeros((n, blocks))
    for b in range(blocks):
        origin = np.full(n, config.window_days + b * config.reestimate_every_days)
        stats = rates_at(inputs.units, inputs.recorded_out, inputs.first_evidence, origin,
                         config.window_days)
        d[:, b], sigma[:, b] = stats.rate, stats.sigma
    return d, sigma


def _sums(r: BacktestResult, inputs: EvidenceInputs) -> dict[str, np.ndarray]:
    """Per SKU unit, the values that add up."""
    return {"start_stock": inputs.start_stock, "demanded": r.demanded, "served": r.served,
            "stockout_days": r.stockout_days, "with_stockout": (r.stockout_days > 0) * 1,
            "on_hand": r.average_on_hand, "orders": r.orders, "units_ordered": r.units_ordered,
            "cycles": r.cycles, "stocked_out": r.cycles_stocked_out,
            "level_x_cycles": inputs.service_level * r.cycles}


def _ratio(part: float, whole: float) -> float | None:
    """part / whole as a Python float; None when whole is 0."""
    return float(part) / float(whole) if whole > 0 else None


def result_columns(s: dict, start_day) -> tuple:
    """start_stock … cycle_service_level of one row from its sums."""
    return (float(s["start_stock"]), start_day, float(s["demanded"]), float(s["served"]),
            _ratio(float(s["served"]), float(s["demanded"])), int(s["stockout_days"]),
            int(s["with_stockout"]), float(s["on_hand"]), int(s["orders"]),
            int(s["units_ordered"]), _ratio(float(s["units_ordered"]), float(s["orders"])),
            int(s["cycles"]), int(s["stocked_out"]),
            None if s["cycles"] == 0 else 1.0 - float(s["stocked_out"]) / float(s["cycles"]))


def backtest_rows(run_id: str, inputs: EvidenceInputs, first_day, days: int, lead: np.ndarray,
                  r: BacktestResult) -> list[tuple]:
    """The table rows: one per SKU unit, per article and the catalogue (when there are any)."""
    sums = _sums(r, inputs)
    head = (run_id, inputs.as_of)
    rows = []
    per_sku = {name: values.tolist() for name, values in sums.items()}
    for i, (sku, article, color, size) in enumerate(zip(
            inputs.sku_unit_id.tolist(), inputs.article_id.tolist(), inputs.color_id.tolist(),
            inputs.size_id.tolist(), strict=True)):
        s = {name: per_sku[name][i] for name in SUMS}
        rows.append((*head, "sku_unit", sku, article, color, size, first_day, days,
                     int(lead[i]), int(inputs.coverage_days[i]),
                     float(inputs.service_level[i]), int(inputs.pack_multiple[i]),
                     *result_columns(s, inputs.start_stock_day[i])))
    articles, article_of_row = np.unique(inputs.article_id, return_inverse=True)
    by_article = {name: np.bincount(article_of_row, weights=values, minlength=len(articles))
                  for name, values in sums.items()}
    for g, article in enumerate(articles.tolist()):
        s = {name: by_article[name][g] for name in SUMS}
        rows.append((*head, "article", None, article, None, None, first_day, days, None, None,
                     _ratio(s["level_x_cycles"], s["cycles"]), None,
                     *result_columns(s, None)))
    if len(inputs):
        s = {name: values.sum() for name, values in sums.items()}
        rows.append((*head, "catalogue", None, None, None, None, first_day, days, None, None,
                     _ratio(s["level_x_cycles"], s["cycles"]), None,
                     *result_columns(s, None)))
    return rows


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres", "numpy"}, code_version="1",
          deps=["planning_proposals"], automation_condition=dg.AutomationCondition.eager(),
          description="The reorder-point / order-up-to policy replayed day by day over the "
          "last 180 days on the demand that occurred, with each SKU unit's lead time, "
          "coverage, service level and pack multiple: fill rate, cycle service level achieved "
          "against the target, stock-out days, average stock, production orders; per SKU "
          "unit, article and catalogue.")
def policy_backtest(context: dg.AssetExecutionContext, config: BacktestConfig,
                    warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    check_config(config, positive=("days", "reestimate_every_days", "window_days"),
                 non_negative=("keep_days",))
    run_id = context.run.run_id
    extra: dict = {"run_id": run_id}
    with warehouse.transaction() as conn:
        as_of, _longest = newest_run(conn)
        if as_of is not None:
            first_day = as_of - timedelta(days=config.days - 1)
            inputs = read_inputs(conn, as_of, config.window_days + config.days, first_day)
            lead = np.maximum(inputs.lead_time_days, 1)
            d, sigma = policy_rates(inputs, config)
            result = simulate(
                inputs.units[:, config.window_days:], inputs.start_stock, d=d, sigma=sigma,
                lead=lead, coverage=inputs.coverage_days,
                z=z_for_service_levels(inputs.service_level) if len(inputs) else np.zeros(0),
                pack_multiple=inputs.pack_multiple,
                reestimate_every=config.reestimate_every_days)
            rows = backtest_rows(run_id, inputs, first_day, config.days, lead, result)
            replace_rows(conn, t.policy_backtest, COLUMNS, rows, run_id=run_id, as_of=as_of,
                         keep_days=config.keep_days)
            extra |= catalogue_metadata(result, inputs, rows)
            extra |= {"as_of": as_of.isoformat(), "days": config.days,
                      "lead_time_raised_to_one": int((inputs.lead_time_days < 1).sum())}
    context.log.info(f"policy backtest: {extra}" if as_of is not None else
                     "policy backtest: no planning run yet, nothing to replay")
    return dg.MaterializeResult(metadata=table_metadata(warehouse, t.policy_backtest, **extra))


def catalogue_metadata(r: BacktestResult, inputs: EvidenceInputs, rows: list[tuple]) -> dict:
    """The catalogue row's figures as numbers (None ones left out)."""
    figures = {"sku_units": len(inputs),
               "sku_units_without_stock_record": sum(d is None for d in inputs.start_stock_day)}
    if rows:
        catalogue = dict(zip(COLUMNS, rows[-1], strict=True))
        for name in ("fill_rate", "cycle_service_level", "target_service_level",
                     "stockout_days", "sku_units_with_stockout", "average_on_hand", "orders",
                     "units_ordered", "units_demanded", "units_served", "cycles",
                     "cycles_stocked_out"):
            value = catalogue[name]
            if value is not None:
                figures[name] = int(value) if isinstance(value, int) else float(value)
    return figures
