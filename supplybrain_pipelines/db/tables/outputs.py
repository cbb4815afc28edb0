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


def _qty(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Float, nullable=nullable)


def _sku_columns() -> list[sa.Column]:
    return [sa.Column("sku_unit_id", sa.Integer, nullable=False),
            sa.Column("article_id", sa.Integer, nullable=False),
            sa.Column("color_id", sa.Integer, nullable=False),
            sa.Column("size_id", sa.Integer, nullable=False)]


def _risk_check(column: str = "risk_level") -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(r) for r in RISK_LEVELS)})",
                              name=column)


stock_history = sa.Table(
    "stock_history", metadata,
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("sku_unit_id", sa.Integer, nullable=False),
    _qty("available"),
    # SKU unit first, covering available: demand reads its window per SKU unit from the key
    # alone and asks per SKU unit whether it was ever in stock before it (migration 0010)
    sa.PrimaryKeyConstraint("sku_unit_id", "day", name="pk_stock_history",
                            postgresql_include=["available"]),
    # index-only scans need all-visible pages: vacuum after every day's insert
    postgresql_with={"autovacuum_vacuum_insert_scale_factor": 0,
                     "autovacuum_vacuum_insert_threshold": 10000},
)

demand = sa.Table(
    "demand", metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    *_sku_columns(),
    sa.Column("window_days", sa.Integer, nullable=False),
    _qty("units"),
    _qty("units_single"),
    _qty("units_from_bundles"),
    sa.Column("days_used", sa.Integer, nullable=False),
    sa.Column("days_basis", sa.Text, nullable=False),
    sa.Column("history_complete", sa.Boolean, nullable=False),
    _qty("velocity"),
    _qty("sigma_daily"),
    _qty("adi", nullable=True),
    _qty("cv2", nullable=True),
    sa.Column("demand_class", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    _qty("rate"),
    sa.Column("counted_from", sa.Date, nullable=True),
    sa.PrimaryKeyConstraint("sku_unit_id", name="pk_demand"),
    sa.CheckConstraint(f"days_basis IN ({', '.join(repr(b) for b in DAYS_BASES)})",
                       name="days_basis"),
)

demand_unexploded = sa.Table(
    "demand_unexploded", metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("article_id", sa.Integer, nullable=False),
    sa.Column("bundle_type_id", sa.Integer, nullable=False),
    sa.Column("size_id", sa.Integer, nullable=True),
    sa.Column("color_id", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    _qty("units"),
    sa.CheckConstraint("reason IN ('no_recipe', 'no_sku_unit')", name="reason"),
)

demand_barcode = sa.Table(
    "demand_barcode", metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("barcode", sa.Text, primary_key=True),
    sa.Column("article_id", sa.Integer, nullable=False),
    sa.Column("bundle_type_id", sa.Integer, nullable=True),
    sa.Column("size_id", sa.Integer, nullable=True),
    sa.Column("window_days", sa.Integer, nullable=False),
    _qty("units"),
    _qty("avg_daily"),
)

supply = sa.Table(
    "supply", metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    *_sku_columns(),
    _qty("own_stock"),
    _qty("wb_single_stock"),
    _qty("wb_bundle_stock"),
    _qty("in_transit_to_client"),
    _qty("in_transit_from_client"),
    _qty("on_order_within_lead"),
    _qty("on_order_beyond_lead"),
    sa.Column("next_eta", sa.Date, nullable=True),
    sa.Column("lead_time_days", sa.Integer, nullable=False),
    _qty("on_hand"),
    _qty("position"),
    sa.PrimaryKeyConstraint("sku_unit_id", name="pk_supply"),
)

planning_proposals = sa.Table(
    "planning_proposals", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
    *_sku_columns(),
    _qty("demand_rate"),
    _qty("sigma_daily"),
    _qty("on_hand"),
    _qty("on_order_within_lead"),
    _qty("position"),
    sa.Column("lead_time_days", sa.Integer, nullable=False),
    sa.Column("target_coverage_days", sa.Integer, nullable=False),
    _qty("service_level"),
    _qty("safety_stock"),
    _qty("reorder_point"),
    _qty("target_level"),
    sa.Column("raw_quantity", sa.Integer, nullable=False),
    sa.Column("recommended_quantity", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    _qty("days_of_cover", nullable=True),
    sa.Column("stockout_date", sa.Date, nullable=True),
    # Stock cover of the SKU unit against its demand (named apart from bundle_risk's risk_level,
    # which is about assembling WB bundles; migration 0016 renamed it from risk_level).
    sa.Column("cover_risk", sa.Text, nullable=False,
              comment="Cover risk of the SKU unit: on-hand days of cover against the safety "
              "and alert days (critical, warning, ok, overstock, no_data)."),
    sa.Column("limiting_constraint", sa.Text, nullable=False),
    sa.Column("explanation", JSONB, nullable=False),
    sa.UniqueConstraint("run_id", "sku_unit_id", name="uq_planning_proposals_run_sku"),
    sa.Index("ix_planning_proposals_computed_at", "computed_at"),
    _risk_check("cover_risk"),
    sa.CheckConstraint("recommended_quantity >= 0", name="recommended_non_negative"),
)

bundle_risk = sa.Table(
    "bundle_risk", metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("article_id", sa.Integer, primary_key=True),
    sa.Column("bundle_type_id", sa.Integer, primary_key=True),
    _qty("wb_ready"),
    _qty("potential_from_singles"),
    _qty("total_available"),
    _qty("avg_daily"),
    _qty("days_of_cover", nullable=True),
    sa.Column("safety_days", sa.Integer, nullable=False),
    sa.Column("alert_days", sa.Integer, nullable=False),
    sa.Column("overstock_days", sa.Integer, nullable=False),
    sa.Column("risk_level", sa.Text, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    _risk_check(),
)

planning_health = sa.Table(
    "planning_health", metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("article_id", sa.Integer, primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
    sa.Column("worst_cover_risk", sa.Text, nullable=False,
              comment="Worst cover_risk of the article's SKU units in the run (critical > "
              "warning > ok > overstock > no_data); not bundle_risk."),
    sa.Column("sku_units", sa.Integer, nullable=False),
    sa.Column("sku_units_to_produce", sa.Integer, nullable=False),
    sa.Column("total_recommended", sa.Integer, nullable=False),
    sa.Column("dominant_constraint", sa.Text, nullable=False),
    _risk_check("worst_cover_risk"),
    # New (migration 0008), from the article's "minimum_cover" explanation record; NULL (and
    # false) when the fabric/elastic minimums added no units.
    sa.Column("minimum_exceeds_max_cover", sa.Boolean, nullable=False,
              server_default=sa.false()),
    sa.Column("minimum_cover_policy", sa.Text, nullable=True),
    sa.Column("max_minimum_cover_days", sa.Integer, nullable=True),
    _qty("minimum_cover_days", nullable=True),
    sa.Column("quantity_with_minimums", sa.Integer, nullable=True),
)
