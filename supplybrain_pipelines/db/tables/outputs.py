"""Planning outputs (owned by ``assets/planning``): demand and supply per SKU unit, the stock
history that tells in-stock days, proposals with their explanation, bundle risk and per-article
planning health. Proposals and health keep their history per run; the ``*_latest`` views show
the current ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from supplybrain_pipelines.db.tables._meta import metadata

RISK_LEVELS = ("critical", "warning", "ok", "overstock", "no_data")
#: What a demand row's ``days_used`` counts (assets/planning/demand.py ``days_basis``).
DAYS_BASES = ("in_stock", "calendar", "since_first_activity", "no_activity")


def _qty(name: str, nullable: bool = False, *, comment: str) -> sa.Column:
    return sa.Column(name, sa.Float, nullable=nullable, comment=comment)


def _sku_columns() -> list[sa.Column]:
    return [sa.Column("sku_unit_id", sa.Integer, nullable=False,
                      comment="The SKU unit (sku_unit.id)."),
            sa.Column("article_id", sa.Integer, nullable=False,
                      comment="The SKU unit's article (article.id)."),
            sa.Column("color_id", sa.Integer, nullable=False,
                      comment="The SKU unit's colour (color.id)."),
            sa.Column("size_id", sa.Integer, nullable=False,
                      comment="The SKU unit's size (size.id).")]


def _risk_check(column: str = "risk_level") -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(r) for r in RISK_LEVELS)})",
                              name=column)


stock_history = sa.Table(
    "stock_history", metadata,
    sa.Column("day", sa.Date, nullable=False, comment="The business day."),
    sa.Column("sku_unit_id", sa.Integer, nullable=False, comment="The SKU unit (sku_unit.id)."),
    _qty("available",
         comment="Units on hand that day (supply's on_hand; the largest of the day's runs); <= 0 "
         "is out of stock."),
    # SKU unit first, covering available: demand reads its window per SKU unit from the key
    # alone and asks per SKU unit whether it was ever in stock before it (migration 0010)
    sa.PrimaryKeyConstraint("sku_unit_id", "day", name="pk_stock_history",
                            postgresql_include=["available"]),
    # index-only scans need all-visible pages: vacuum after every day's insert
    postgresql_with={"autovacuum_vacuum_insert_scale_factor": 0,
                     "autovacuum_vacuum_insert_threshold": 10000},
    comment="Availability per SKU unit and business day, recorded by supply for the current day; "
            "demand reads the in-stock days from it.",
)

demand = sa.Table(
    "demand", metadata,
    sa.Column("as_of", sa.Date, nullable=False, comment="The business day the window ends on."),
    *_sku_columns(),
    sa.Column("window_days", sa.Integer, nullable=False, comment="Length of the window in days."),
    _qty("units",
         comment="Net units ordered on the days of the window that count (the in-stock mask)."),
    _qty("units_single", comment="Net units of the window ordered as single pieces."),
    _qty("units_from_bundles",
         comment="Net units of the window from bundles, one per recipe colour."),
    sa.Column("days_used", sa.Integer, nullable=False,
              comment="Days of the window that count (the in-stock mask); velocity divides by "
              "it."),
    sa.Column("days_basis", sa.Text, nullable=False,
              comment="Which days count: in_stock, calendar, since_first_activity or "
              "no_activity."),
    sa.Column("history_complete", sa.Boolean, nullable=False,
              comment="True when the stock history records every day of the window."),
    _qty("velocity", comment="Units per counted day: units / days_used."),
    _qty("sigma_daily",
         comment="Sample standard deviation of the daily units over the counted days."),
    _qty("adi", nullable=True,
         comment="Average demand interval of the counted days (NULL when undefined)."),
    _qty("cv2", nullable=True,
         comment="Squared coefficient of variation of the non-zero daily units (NULL when "
         "undefined)."),
    sa.Column("demand_class", sa.Text, nullable=False,
              comment="Syntetos-Boylan class: none, smooth, erratic, intermittent or lumpy."),
    sa.Column("method", sa.Text, nullable=False,
              comment="How rate was computed: tsb (ADI > 1.32), else <days_basis>_mean "
              "(velocity)."),
    _qty("rate",
         comment="Units per day that planning uses (d): TSB's rate or the velocity, per method."),
    sa.Column("counted_from", sa.Date, nullable=True,
              comment="The first day of the window that counts (from the SKU unit's first "
              "evidence); NULL: none."),
    sa.PrimaryKeyConstraint("sku_unit_id", name="pk_demand"),
    sa.CheckConstraint(f"days_basis IN ({', '.join(repr(b) for b in DAYS_BASES)})",
                       name="days_basis"),
    comment="Demand per active SKU unit over the window ending at as_of: net units and, over the "
            "in-stock days, velocity, sigma, class and the rate planning uses.",
)

demand_unexploded = sa.Table(
    "demand_unexploded", metadata,
    sa.Column("as_of", sa.Date, nullable=False, comment="The business day the window ends on."),
    sa.Column("article_id", sa.Integer, nullable=False,
              comment="The bundle's article (article.id)."),
    sa.Column("bundle_type_id", sa.Integer, nullable=False,
              comment="The bundle type (bundle_type.id)."),
    sa.Column("size_id", sa.Integer, nullable=True,
              comment="The bundle's size (size.id); NULL when unknown."),
    sa.Column("color_id", sa.Integer, nullable=True,
              comment="The recipe colour without a SKU unit in that size; NULL for no_recipe."),
    sa.Column("reason", sa.Text, nullable=False,
              comment="no_recipe (the bundle type has no recipe) or no_sku_unit."),
    _qty("units", comment="Net bundle units of the window not turned into singles."),
    sa.CheckConstraint("reason IN ('no_recipe', 'no_sku_unit')", name="reason"),
    comment="Bundle units of the demand window that could not be turned into singles, by reason "
            "(counted, never dropped silently).",
)

demand_barcode = sa.Table(
    "demand_barcode", metadata,
    sa.Column("as_of", sa.Date, nullable=False, comment="The business day the window ends on."),
    sa.Column("barcode", sa.Text, primary_key=True, comment="The WB barcode."),
    sa.Column("article_id", sa.Integer, nullable=False,
              comment="The article it maps to (article.id)."),
    sa.Column("bundle_type_id", sa.Integer, nullable=True,
              comment="The bundle type it sells (bundle_type.id); NULL for a single piece."),
    sa.Column("size_id", sa.Integer, nullable=True, comment="The size (size.id)."),
    sa.Column("window_days", sa.Integer, nullable=False, comment="Length of the window in days."),
    _qty("units", comment="Net units of the window."),
    _qty("avg_daily", comment="units / window_days (calendar days)."),
    comment="Demand per WB barcode over the window; bundle_risk reads the bundle barcodes' "
            "rates.",
)

supply = sa.Table(
    "supply", metadata,
    sa.Column("as_of", sa.Date, nullable=False, comment="The business day planned for."),
    *_sku_columns(),
    _qty("own_stock",
         comment="Own stock: MoySklad's when the SKU unit has any, else stock_balance; never "
         "below 0."),
    _qty("wb_single_stock", comment="WB stock of the SKU unit's single-piece barcodes."),
    _qty("wb_bundle_stock", comment="WB stock in bundles: one unit per recipe colour of the size."),
    _qty("in_transit_to_client",
         comment="WB units on their way to buyers (sold: not in the position)."),
    _qty("in_transit_from_client", comment="WB units returning from buyers (in the position)."),
    _qty("on_order_within_lead",
         comment="Units on approved or ordered production orders due within the lead time."),
    _qty("on_order_beyond_lead",
         comment="Units on approved or ordered production orders due later."),
    sa.Column("next_eta", sa.Date, nullable=True,
              comment="The earliest target date of those open orders."),
    sa.Column("lead_time_days", sa.Integer, nullable=False,
              comment="Lead time L in days (the article's setting, else the global one, else "
              "70)."),
    _qty("on_hand", comment="own_stock + wb_single_stock + wb_bundle_stock."),
    _qty("position",
         comment="Inventory position: on_hand + in_transit_from_client + on_order_within_lead."),
    sa.PrimaryKeyConstraint("sku_unit_id", name="pk_supply"),
    comment="What each active SKU unit has and will have at as_of: own and WB stock, returns, "
            "open production orders and the inventory position.",
)

planning_proposals = sa.Table(
    "planning_proposals", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True,
              comment="Surrogate key; within a run, the order the proposals were written in."),
    sa.Column("run_id", sa.Text, nullable=False, comment="The Dagster run that planned it."),
    sa.Column("as_of", sa.Date, nullable=False, comment="The business day planned for."),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now(),
              comment="When the proposals were written."),
    *_sku_columns(),
    _qty("demand_rate", comment="d: demand's rate, units per day."),
    _qty("sigma_daily", comment="sigma_d: standard deviation of daily demand."),
    _qty("on_hand", comment="Units on hand (supply.on_hand)."),
    _qty("on_order_within_lead", comment="Units on order due within the lead time."),
    _qty("position", comment="Inventory position (supply.position)."),
    sa.Column("lead_time_days", sa.Integer, nullable=False,
              comment="L: the lead time in days used."),
    sa.Column("target_coverage_days", sa.Integer, nullable=False,
              comment="T: days of demand the target covers beyond the lead time."),
    _qty("service_level", comment="Cycle service level used, as a fraction (0.9 = 90 %)."),
    _qty("safety_stock", comment="SS = z * sigma_d * sqrt(L)."),
    _qty("reorder_point", comment="ROP = d * L + SS."),
    _qty("target_level", comment="Order-up-to target = d * (L + T) + SS."),
    sa.Column("raw_quantity", sa.Integer, nullable=False,
              comment="ceil(target - position) when the position is at or below the ROP, else 0; "
              "before the minimums."),
    sa.Column("recommended_quantity", sa.Integer, nullable=False,
              comment="Units to produce now: raw_quantity after the fabric, elastic and pack "
              "minimums (>= 0)."),
    sa.Column("reason", sa.Text, nullable=False,
              comment="position_at_or_below_rop, position_above_rop or no_demand."),
    _qty("days_of_cover", nullable=True,
         comment="On-hand days of cover: max(on_hand, 0) / d; NULL without demand."),
    sa.Column("stockout_date", sa.Date, nullable=True,
              comment="Projected stock-out day: as_of + floor(days_of_cover); NULL without "
              "demand."),
    # Stock cover of the SKU unit against its demand (named apart from bundle_risk's risk_level,
    # which is about assembling WB bundles; migration 0016 renamed it from risk_level).
    sa.Column("cover_risk", sa.Text, nullable=False,
              comment="Cover risk of the SKU unit: on-hand days of cover against the safety "
              "and alert days (critical, warning, ok, overstock, no_data)."),
    sa.Column("limiting_constraint", sa.Text, nullable=False,
              comment="The step that added most units: none, fabric_min, elastic_min, "
              "pack_multiple or deferred_minimum."),
    sa.Column("explanation", JSONB, nullable=False,
              comment="Every input, setting (with its source) and step, as JSON."),
    sa.UniqueConstraint("run_id", "sku_unit_id", name="uq_planning_proposals_run_sku"),
    sa.Index("ix_planning_proposals_computed_at", "computed_at"),
    _risk_check("cover_risk"),
    sa.CheckConstraint("recommended_quantity >= 0", name="recommended_non_negative"),
    comment="What to produce per SKU unit, per planning run, with every input and step in "
            "explanation; planning_proposals_latest is the newest run.",
)

bundle_risk = sa.Table(
    "bundle_risk", metadata,
    sa.Column("as_of", sa.Date, nullable=False,
              comment="The as-of day of the demand it was computed from."),
    sa.Column("article_id", sa.Integer, primary_key=True, comment="The article (article.id)."),
    sa.Column("bundle_type_id", sa.Integer, primary_key=True,
              comment="The bundle type (bundle_type.id)."),
    _qty("wb_ready", comment="Ready bundles in WB stock (the bundle barcodes)."),
    _qty("potential_from_singles",
         comment="Bundles own single stock could make (per size, the least own stock over the "
         "recipe colours)."),
    _qty("total_available", comment="wb_ready + potential_from_singles."),
    _qty("avg_daily", comment="Net units per day of the bundle barcodes over the demand window."),
    _qty("days_of_cover", nullable=True,
         comment="total_available / avg_daily; NULL when avg_daily is 0."),
    sa.Column("safety_days", sa.Integer, nullable=False,
              comment="Threshold S: planning_settings.safety_stock_days, else 7."),
    sa.Column("alert_days", sa.Integer, nullable=False,
              comment="Threshold A: planning_settings.alert_threshold_days, else 14."),
    sa.Column("overstock_days", sa.Integer, nullable=False, comment="Threshold O = 3 * A."),
    sa.Column("risk_level", sa.Text, nullable=False,
              comment="Bundle risk: critical (cover <= S), warning (<= A), ok (< O), overstock "
              "(>= O, or stock without sales), no_data."),
    sa.Column("explanation", sa.Text, nullable=False,
              comment="One sentence: the cover and the thresholds it was classified by."),
    _risk_check(),
    comment="Bundle risk per article and bundle type: can WB bundles be sold from ready bundles "
            "and own singles (not planning's SKU cover risk).",
)

planning_health = sa.Table(
    "planning_health", metadata,
    sa.Column("run_id", sa.Text, primary_key=True,
              comment="The planning run (planning_proposals.run_id)."),
    sa.Column("article_id", sa.Integer, primary_key=True, comment="The article (article.id)."),
    sa.Column("as_of", sa.Date, nullable=False, comment="The business day planned for."),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now(),
              comment="When the row was written."),
    sa.Column("worst_cover_risk", sa.Text, nullable=False,
              comment="Worst cover_risk of the article's SKU units in the run (critical > "
              "warning > ok > overstock > no_data); not bundle_risk."),
    sa.Column("sku_units", sa.Integer, nullable=False,
              comment="The article's SKU units in the run."),
    sa.Column("sku_units_to_produce", sa.Integer, nullable=False,
              comment="SKU units of the article with a recommended quantity above zero."),
    sa.Column("total_recommended", sa.Integer, nullable=False,
              comment="Sum of the article's recommended quantities."),
    sa.Column("dominant_constraint", sa.Text, nullable=False,
              comment="The limiting constraint of most SKU units to produce (ties: first in "
              "proposal order); none when nothing is produced."),
    _risk_check("worst_cover_risk"),
    # New (migration 0008), from the article's "minimum_cover" explanation record; NULL (and
    # false) when the fabric/elastic minimums added no units.
    sa.Column("minimum_exceeds_max_cover", sa.Boolean, nullable=False,
              server_default=sa.false(),
              comment="True when the fabric/elastic minimums would create more than "
              "max_minimum_cover_days of cover."),
    sa.Column("minimum_cover_policy", sa.Text, nullable=True,
              comment="What was done then: defer or raise; NULL when the minimums added nothing."),
    sa.Column("max_minimum_cover_days", sa.Integer, nullable=True,
              comment="The maximum cover checked against; NULL when the minimums added nothing."),
    _qty("minimum_cover_days", nullable=True,
         comment="Days of cover the minimums would create; NULL when they added nothing."),
    sa.Column("quantity_with_minimums", sa.Integer, nullable=True,
              comment="Units the article would get with the minimums; NULL when they added "
              "nothing."),
    comment="Per article and planning run: the worst SKU cover risk, SKU units to produce, units "
            "and the dominant constraint; planning_health_latest is the newest run.",
)
