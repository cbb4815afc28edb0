"""Evidence for the proposals (owned by ``assets/planning/accuracy.py`` and ``backtest.py``):
how far off the project's demand rate has been (``forecast_accuracy``), and how the stocking
policy would have done on the brand's own demand (``policy_backtest``). Rows are kept per run;
a run replaces the rows of earlier runs for the same as-of day and deletes those of as-of days
more than ``keep_days`` older, and the ``*_latest`` views
(migration 0017) show the newest run.
"""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.db.tables._meta import metadata

#: What a row describes: one SKU unit, an article, a demand class (forecast_accuracy only), or
#: the whole catalogue.
ACCURACY_LEVELS = ("sku_unit", "article", "demand_class", "catalogue")
BACKTEST_LEVELS = ("sku_unit", "article", "catalogue")
#: The forecast horizons: a fixed number of days (14 by default), or each SKU unit's lead time.
HORIZONS = ("fixed", "lead_time")


def _in(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})",
                              name=column)


def _run_columns(what: str) -> list[sa.Column]:
    return [
        sa.Column("run_id", sa.Text, nullable=False,
                  comment=f"Dagster run that computed the {what}."),
        sa.Column("as_of", sa.Date, nullable=False,
                  comment="As-of business day of the planning run evaluated (the newest "
                  "planning_proposals run's as_of); the data used ends on it."),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now(), comment="When the row was written."),
    ]


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("sku_unit_id", sa.Integer, nullable=True,
                  comment="SKU unit of a sku_unit row; NULL on the other levels."),
        sa.Column("article_id", sa.Integer, nullable=True,
                  comment="Article of a sku_unit or article row; NULL on the other levels."),
        sa.Column("color_id", sa.Integer, nullable=True,
                  comment="Colour of a sku_unit row; NULL on the other levels."),
        sa.Column("size_id", sa.Integer, nullable=True,
                  comment="Size of a sku_unit row; NULL on the other levels."),
    ]


def _score_columns(prefix: str, label: str) -> list[sa.Column]:
    return [
        sa.Column(f"{prefix}forecast_units", sa.Float, nullable=False,
                  comment=f"Units {label} forecast over the horizons of the evaluated origins "
                  "(rate x horizon days, summed)."),
        sa.Column(f"{prefix}wape", sa.Float, nullable=True,
                  comment=f"WAPE of {label} in %: sum |forecast - actual| / sum actual x 100; "
                  "NULL when no unit was ordered."),
        sa.Column(f"{prefix}bias_pct", sa.Float, nullable=True,
                  comment=f"Bias of {label} in %: (sum forecast - sum actual) / sum actual x "
                  "100, + over-forecast; NULL when no unit was ordered."),
    ]


forecast_accuracy = sa.Table(
    "forecast_accuracy", metadata,
    *_run_columns("evaluation"),
    sa.Column("level", sa.Text, nullable=False,
              comment="What the row scores: sku_unit, article, demand_class or catalogue."),
    sa.Column("horizon", sa.Text, nullable=False,
              comment="fixed (the next horizon_days days after each origin) or lead_time (each "
              "SKU unit's lead time)."),
    sa.Column("horizon_days", sa.Integer, nullable=True,
              comment="Days forecast after each origin; NULL on lead_time rows above sku_unit "
              "(lead times differ)."),
    *_key_columns(),
    sa.Column("demand_class", sa.Text, nullable=True,
              comment="Syntetos-Boylan class: at the newest origin on sku_unit rows, the "
              "origins' class on demand_class rows; NULL on article and catalogue rows."),
    sa.Column("origins", sa.Integer, nullable=False,
              comment="Evaluated (SKU unit, origin) pairs summed in the row."),
    sa.Column("actual_units", sa.Float, nullable=False,
              comment="Net units actually ordered over the horizons of the evaluated origins."),
    *_score_columns("", "the project's demand rate (demand method at each origin)"),
    *_score_columns("mean30_", "the plain 30-day calendar mean"),
    *_score_columns("last7_", "the last 7 days' mean"),
    sa.Index("ix_forecast_accuracy_run_id", "run_id"),
    sa.Index("ix_forecast_accuracy_computed_at", "computed_at"),
    _in("level", ACCURACY_LEVELS),
    _in("horizon", HORIZONS),
    comment="Rolling-origin accuracy of the demand rate per SKU unit, article, demand class and "
    "catalogue, against two baselines; the newest run of each as_of day, kept keep_days (90).",
)

policy_backtest = sa.Table(
    "policy_backtest", metadata,
    *_run_columns("backtest"),
    sa.Column("level", sa.Text, nullable=False,
              comment="What the row sums: sku_unit, article or catalogue."),
    *_key_columns(),
    sa.Column("first_day", sa.Date, nullable=False, comment="First day simulated."),
    sa.Column("days", sa.Integer, nullable=False, comment="Days simulated (first_day to as_of)."),
    sa.Column("lead_time_days", sa.Integer, nullable=True,
              comment="Lead time L used (the SKU unit's setting, at least 1); NULL above "
              "sku_unit."),
    sa.Column("target_coverage_days", sa.Integer, nullable=True,
              comment="Target coverage T used; NULL above sku_unit."),
    sa.Column("target_service_level", sa.Float, nullable=True,
              comment="Cycle service level the safety stock aims at (0.9 = 90 %); above "
              "sku_unit the mean over the cycles."),
    sa.Column("pack_multiple", sa.Integer, nullable=True,
              comment="Pack multiple orders were rounded up to (1: none); NULL above sku_unit."),
    sa.Column("start_stock", sa.Float, nullable=False,
              comment="Units on hand at the start (summed above sku_unit)."),
    sa.Column("start_stock_day", sa.Date, nullable=True,
              comment="stock_history day the start stock comes from (the last on or before "
              "first_day, else the first after it); NULL: none recorded, the start is 0."),
    sa.Column("units_demanded", sa.Float, nullable=False,
              comment="Net units ordered by clients over the simulated days."),
    sa.Column("units_served", sa.Float, nullable=False,
              comment="Units the simulated stock served (the rest is lost)."),
    sa.Column("fill_rate", sa.Float, nullable=True,
              comment="units_served / units_demanded; NULL without demand."),
    sa.Column("stockout_days", sa.Integer, nullable=False,
              comment="Days with demand the simulated stock could not serve (SKU-unit days, "
              "summed above sku_unit)."),
    sa.Column("sku_units_with_stockout", sa.Integer, nullable=False,
              comment="SKU units with at least one stock-out day."),
    sa.Column("average_on_hand", sa.Float, nullable=False,
              comment="Mean end-of-day units on hand (summed over SKU units above sku_unit)."),
    sa.Column("orders", sa.Integer, nullable=False,
              comment="Production orders the policy placed."),
    sa.Column("units_ordered", sa.Integer, nullable=False,
              comment="Units of those production orders."),
    sa.Column("average_order_units", sa.Float, nullable=True,
              comment="units_ordered / orders; NULL without an order."),
    sa.Column("cycles", sa.Integer, nullable=False,
              comment="Replenishment cycles completed: orders that arrived within the days."),
    sa.Column("cycles_stocked_out", sa.Integer, nullable=False,
              comment="Cycles with demand lost since the previous arrival."),
    sa.Column("cycle_service_level", sa.Float, nullable=True,
              comment="Achieved cycle service level: 1 - cycles_stocked_out / cycles; NULL "
              "without a cycle."),
    sa.Index("ix_policy_backtest_run_id", "run_id"),
    sa.Index("ix_policy_backtest_computed_at", "computed_at"),
    _in("level", BACKTEST_LEVELS),
    comment="The reorder-point / order-up-to policy replayed day by day on the demand that "
    "occurred, per SKU unit, article and catalogue; the newest run of each as_of day, kept "
    "keep_days (90).",
)
