"""Planning settings in their four layers, elastic types and the production-order admin tables
(old backend migrations 0002, 0009, 0010, 0012, 0013, 0014).

``global_planning_settings`` holds one row by convention (readers take the lowest id).
``article_planning_settings`` repeats the global ``default_production_order_*`` columns without
the ``default_`` prefix, as per-article overrides.
"""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.db.tables._meta import fk, metadata, pk

#: Suffixes of the float columns shared by the global (``default_production_order_<s>``) and the
#: per-article (``production_order_<s>``) settings: layer 3/5 proxies, then economics.
PRODUCTION_ORDER_FLOAT_SETTINGS = (
    "layer3_stockout_boost_max",
    "layer3_overstock_dampen_max",
    "layer5_unavoidable_stockout_risk_threshold",
    "layer5_accelerate_production_risk_threshold",
    "production_cost_per_unit",
    "logistics_cost_per_unit",
    "wb_commission_percent_main",
    "wb_commission_percent_assorti",
    "average_realized_price_main",
    "average_realized_price_assorti",
    "available_capital",
)


def _pg_identifier(name: str) -> str:
    """The name PostgreSQL stores: identifiers are cut to 63 bytes (NAMEDATALEN - 1).

    Two global layer-5 columns of the old backend are longer than that, so its database holds
    them cut (``..._risk_thres``, ``..._risk_thre``). Their columns here carry the stored name
    and keep the full name as ``key``: ``table.c.default_production_order_layer5_...``.
    """
    return name.encode()[:63].decode()


def _int_default(name: str, value: int, comment: str) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text(str(value)),
                     comment=comment)


#: What each shared float setting is (kept from the old backend; the pipelines read none yet).
_FLOAT_SETTING_TEXT = {
    "layer3_stockout_boost_max": "Layer 3: the largest boost of a quantity for stock-out risk",
    "layer3_overstock_dampen_max": "Layer 3: the largest damping of a quantity for overstock",
    "layer5_unavoidable_stockout_risk_threshold":
        "Layer 5: risk above which a stock-out counts as unavoidable",
    "layer5_accelerate_production_risk_threshold":
        "Layer 5: risk above which production should be accelerated",
    "production_cost_per_unit": "Production cost of one unit",
    "logistics_cost_per_unit": "Logistics cost of one unit",
    "wb_commission_percent_main": "WB commission in percent, main (single) items",
    "wb_commission_percent_assorti": "WB commission in percent, assorted bundles",
    "average_realized_price_main": "Average realised price of a main (single) item",
    "average_realized_price_assorti": "Average realised price of an assorted bundle",
    "available_capital": "Capital available for production orders",
}


def _float_setting_comment(suffix: str, scope: str) -> str:
    return f"{_FLOAT_SETTING_TEXT[suffix]} ({scope}; kept from the old backend, not read by " \
        "the pipelines)."


global_planning_settings = sa.Table(
    "global_planning_settings",
    metadata,
    pk(),
    _int_default("default_target_coverage_days", 60,
                 "Days of demand the order-up-to level covers beyond the lead time (review "
                 "period T), unless the article overrides it."),
    _int_default("default_lead_time_days", 70,
                 "Days from ordering production to stock at hand (L), unless the article "
                 "overrides it."),
    _int_default("default_service_level_percent", 90,
                 "Cycle service level in percent (0 < x < 100) that sets the safety stock's z, "
                 "unless the article overrides it."),
    _int_default("default_fabric_min_batch_qty", 7000,
                 "Minimum units per fabric (Pantone group) of an article's order, unless the "
                 "colour sets one."),
    _int_default("default_elastic_min_batch_qty", 3000,
                 "Minimum units per elastic of an article's order, unless "
                 "elastic_planning_settings sets one."),
    # Bounds the planning maths needs (migration 0007).
    sa.CheckConstraint("default_service_level_percent > 0 AND default_service_level_percent < 100",
                       name="service_level_range"),
    sa.CheckConstraint("default_lead_time_days >= 0", name="lead_time_non_negative"),
    sa.CheckConstraint("default_target_coverage_days >= 0", name="coverage_non_negative"),
    # Comma-separated bundle_type ids, sorted (e.g. "3,5").
    sa.Column("default_production_order_assorti_bundle_type_ids", sa.Text, nullable=True,
              comment="Comma-separated, sorted bundle_type ids that count as assorted (kept "
              "from the old backend, not read by the pipelines)."),
    *(
        sa.Column(
            _pg_identifier(f"default_production_order_{suffix}"),
            sa.Float,
            key=f"default_production_order_{suffix}",
            nullable=True,
            comment=_float_setting_comment(suffix, "default for every article"),
        )
        for suffix in PRODUCTION_ORDER_FLOAT_SETTINGS
    ),
    # New (migration 0008): the most days of cover that raising a need to the fabric/elastic
    # minimums may create (NULL → 365), and what to do beyond it (NULL → 'defer').
    sa.Column("max_minimum_cover_days", sa.Integer, nullable=True,
              comment="Most days of cover that raising an order to the fabric/elastic minimums "
              "may create (NULL: 365)."),
    sa.Column("minimum_cover_policy", sa.Text, nullable=True,
              comment="Beyond max_minimum_cover_days: 'defer' the order or 'raise' it and flag "
              "it (NULL: defer)."),
    sa.CheckConstraint("max_minimum_cover_days >= 1", name="max_minimum_cover_days"),
    sa.CheckConstraint("minimum_cover_policy IN ('defer', 'raise')",
                       name="minimum_cover_policy"),
    comment="Global planning defaults: one row by convention (readers take the lowest id).",
)

article_planning_settings = sa.Table(
    "article_planning_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    sa.Column("include_in_planning", sa.Boolean, nullable=False, server_default=sa.true(),
              comment="False switches the article off: no demand, supply or proposals for it, "
              "and monitoring leaves out its bundle risk."),
    _int_default("priority", 0, "The article's priority (kept from the old backend, not read "
                 "by the pipelines)."),
    sa.Column("target_coverage_days", sa.Integer, nullable=True,
              comment="Overrides default_target_coverage_days for the article (NULL: global)."),
    sa.Column("lead_time_days", sa.Integer, nullable=True,
              comment="Overrides default_lead_time_days for the article (NULL: global)."),
    sa.Column("service_level_percent", sa.Integer, nullable=True,
              comment="Overrides default_service_level_percent for the article (NULL: "
              "global)."),
    sa.Column("production_order_freshness_sales_stale_after_days", sa.Integer, nullable=True,
              comment="Days after which sales data counts as stale (kept from the old "
              "backend, not read by the pipelines)."),
    sa.Column("production_order_freshness_stock_stale_after_days", sa.Integer, nullable=True,
              comment="Days after which stock data counts as stale (kept from the old "
              "backend, not read by the pipelines)."),
    sa.Column("production_order_assorti_bundle_type_ids", sa.Text, nullable=True,
              comment="Overrides default_production_order_assorti_bundle_type_ids (kept from "
              "the old backend, not read by the pipelines)."),
    *(
        sa.Column(f"production_order_{suffix}", sa.Float, nullable=True,
                  comment=_float_setting_comment(suffix, "the article's override"))
        for suffix in PRODUCTION_ORDER_FLOAT_SETTINGS
    ),
    # New (migration 0004): production quantities are rounded up to this multiple.
    sa.Column("pack_multiple", sa.Integer, nullable=True,
              comment="Production quantities are rounded up to a multiple of this (NULL: 1)."),
    # Bounds the planning maths needs (migration 0007); NULL falls back to the global setting.
    sa.CheckConstraint("service_level_percent > 0 AND service_level_percent < 100",
                       name="service_level_range"),
    sa.CheckConstraint("lead_time_days >= 0", name="lead_time_non_negative"),
    sa.CheckConstraint("target_coverage_days >= 0", name="coverage_non_negative"),
    sa.CheckConstraint("pack_multiple >= 1", name="pack_multiple_positive"),
    sa.UniqueConstraint("article_id"),
    comment="Per-article planning settings: overrides of the global defaults and the switch "
            "include_in_planning.",
)

planning_settings = sa.Table(
    "planning_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    # Defines the monitoring / legacy planning portfolio.
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(),
              comment="False switches the article off: no demand, supply or proposals for it, "
              "and monitoring leaves out its bundle risk."),
    sa.Column("min_fabric_batch", sa.Integer, nullable=False,
              comment="The old backend's fabric minimum (not read by the pipelines: "
              "global/colour settings apply)."),
    sa.Column("min_elastic_batch", sa.Integer, nullable=False,
              comment="The old backend's elastic minimum (not read by the pipelines: "
              "elastic_planning_settings applies)."),
    sa.Column("alert_threshold_days", sa.Integer, nullable=False,
              comment="Risk threshold A in days of cover: up to it 'warning'; 3·A and more is "
              "'overstock'."),
    sa.Column("safety_stock_days", sa.Integer, nullable=False,
              comment="Risk threshold S in days of cover: up to it 'critical'."),
    sa.Column("strictness", sa.Float, nullable=False,
              comment="The old backend's strictness factor (not read by the pipelines)."),
    sa.Column("notes", sa.String(500), nullable=True, comment="Free-text note."),
    sa.UniqueConstraint("article_id", name="uq_planning_settings_article"),
    comment="Per-article risk thresholds and active switch (the old backend's planning "
            "portfolio); without a row the thresholds are 7 and 14 days.",
)

color_planning_settings = sa.Table(
    "color_planning_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("color_id", "color"),
    sa.Column("fabric_min_batch_qty", sa.Integer, nullable=True,
              comment="Fabric minimum for the article in this colour (NULL: the global "
              "default)."),
    sa.UniqueConstraint("article_id", "color_id", name="uq_color_planning_article_color"),
    comment="Per-article, per-colour fabric minimums.",
)

elastic_type = sa.Table(
    "elastic_type",
    metadata,
    pk(),
    sa.Column("code", sa.String(50), nullable=False, unique=True,
              comment="The elastic type's code, unique."),
    sa.Column("name", sa.String(255), nullable=False, comment="The elastic type's name."),
    comment="Elastic types (the elastic band sewn into an article).",
)

elastic_planning_settings = sa.Table(
    "elastic_planning_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("elastic_type_id", "elastic_type"),
    sa.Column("elastic_min_batch_qty", sa.Integer, nullable=True,
              comment="Elastic minimum in units; an article's order uses the largest of its "
              "rows (NULL: the global default)."),
    sa.UniqueConstraint("article_id", "elastic_type_id", name="uq_elastic_planning_article_type"),
    comment="Per-article elastic minimums by elastic type.",
)

production_order_size_weight_settings = sa.Table(
    "production_order_size_weight_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("size_id", "size"),
    # Only rows with weight > 0 are used.
    sa.Column("weight", sa.Float, nullable=False, server_default=sa.text("1.0"),
              comment="Relative share of the size when a minimum's extra units are spread "
              "over sizes (used when > 0)."),
    sa.UniqueConstraint("article_id", "size_id", name="uq_po_size_weight_article_size"),
    comment="Per-article size weights for spreading units over sizes.",
)

production_order_elastic_bindings = sa.Table(
    "production_order_elastic_bindings",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("elastic_type_id", "elastic_type"),
    fk("color_id", "color", nullable=True,
       comment="The colour the binding is limited to (color.id); NULL: every colour."),
    fk("sku_unit_id", "sku_unit", nullable=True,
       comment="The SKU unit the binding is limited to (sku_unit.id); NULL: all."),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(),
              comment="False disables the binding."),
    sa.UniqueConstraint(
        "article_id", "elastic_type_id", "color_id", "sku_unit_id",
        name="uq_po_elastic_binding_scope",
    ),
    comment="Which elastic type an article (or colour, or SKU unit) uses (kept from the old "
            "backend, not read by the pipelines).",
)

production_order_in_flight_defaults = sa.Table(
    "production_order_in_flight_defaults",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("color_id", "color"),
    fk("size_id", "size"),
    _int_default("qty", 0, "Units in flight."),
    _int_default("eta_days", 0, "Days until the units arrive."),
    # production, china_to_nsk, packaging, nsk_to_wb or other (validated by the application).
    sa.Column("stage", sa.String(50), nullable=False, server_default=sa.text("'other'"),
              comment="production, china_to_nsk, packaging, nsk_to_wb or other."),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(),
              comment="False disables the row."),
    sa.UniqueConstraint(
        "article_id", "color_id", "size_id", "stage", "eta_days",
        name="uq_po_in_flight_default_scope",
    ),
    comment="Units in flight entered by hand per stage (kept from the old backend, not read by "
            "the pipelines: purchase orders are).",
)
