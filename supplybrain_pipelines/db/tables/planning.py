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


def _int_default(name: str, value: int) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text(str(value)))


global_planning_settings = sa.Table(
    "global_planning_settings",
    metadata,
    pk(),
    _int_default("default_target_coverage_days", 60),
    _int_default("default_lead_time_days", 70),
    _int_default("default_service_level_percent", 90),
    _int_default("default_fabric_min_batch_qty", 7000),
    _int_default("default_elastic_min_batch_qty", 3000),
    # Bounds the planning maths needs (migration 0007).
    sa.CheckConstraint("default_service_level_percent > 0 AND default_service_level_percent < 100",
                       name="service_level_range"),
    sa.CheckConstraint("default_lead_time_days >= 0", name="lead_time_non_negative"),
    sa.CheckConstraint("default_target_coverage_days >= 0", name="coverage_non_negative"),
    # Comma-separated bundle_type ids, sorted (e.g. "3,5").
    sa.Column("default_production_order_assorti_bundle_type_ids", sa.Text, nullable=True),
    *(
        sa.Column(
            _pg_identifier(f"default_production_order_{suffix}"),
            sa.Float,
            key=f"default_production_order_{suffix}",
            nullable=True,
        )
        for suffix in PRODUCTION_ORDER_FLOAT_SETTINGS
    ),
    # New (migration 0008): the most days of cover that raising a need to the fabric/elastic
    # minimums may create (NULL → 365), and what to do beyond it (NULL → 'defer').
    sa.Column("max_minimum_cover_days", sa.Integer, nullable=True),
    sa.Column("minimum_cover_policy", sa.Text, nullable=True),
    sa.CheckConstraint("max_minimum_cover_days >= 1", name="max_minimum_cover_days"),
    sa.CheckConstraint("minimum_cover_policy IN ('defer', 'raise')",
                       name="minimum_cover_policy"),
)

article_planning_settings = sa.Table(
    "article_planning_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    sa.Column("include_in_planning", sa.Boolean, nullable=False, server_default=sa.true()),
    _int_default("priority", 0),
    sa.Column("target_coverage_days", sa.Integer, nullable=True),
    sa.Column("lead_time_days", sa.Integer, nullable=True),
    sa.Column("service_level_percent", sa.Integer, nullable=True),
    sa.Column("production_order_freshness_sales_stale_after_days", sa.Integer, nullable=True),
    sa.Column("production_order_freshness_stock_stale_after_days", sa.Integer, nullable=True),
    sa.Column("production_order_assorti_bundle_type_ids", sa.Text, nullable=True),
    *(
        sa.Column(f"production_order_{suffix}", sa.Float, nullable=True)
        for suffix in PRODUCTION_ORDER_FLOAT_SETTINGS
    ),
    # New (migration 0004): production quantities are rounded up to this multiple.
    sa.Column("pack_multiple", sa.Integer, nullable=True),
    # Bounds the planning maths needs (migration 0007); NULL falls back to the global setting.
    sa.CheckConstraint("service_level_percent > 0 AND service_level_percent < 100",
                       name="service_level_range"),
    sa.CheckConstraint("lead_time_days >= 0", name="lead_time_non_negative"),
    sa.CheckConstraint("target_coverage_days >= 0", name="coverage_non_negative"),
    sa.CheckConstraint("pack_multiple >= 1", name="pack_multiple_positive"),
    sa.UniqueConstraint("article_id"),
)

planning_settings = sa.Table(
    "planning_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    # Defines the monitoring / legacy planning portfolio.
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("min_fabric_batch", sa.Integer, nullable=False),
    sa.Column("min_elastic_batch", sa.Integer, nullable=False),
    sa.Column("alert_threshold_days", sa.Integer, nullable=False),
    sa.Column("safety_stock_days", sa.Integer, nullable=False),
    sa.Column("strictness", sa.Float, nullable=False),
    sa.Column("notes", sa.String(500), nullable=True),
    sa.UniqueConstraint("article_id", name="uq_planning_settings_article"),
)

color_planning_settings = sa.Table(
    "color_planning_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("color_id", "color"),
    sa.Column("fabric_min_batch_qty", sa.Integer, nullable=True),
    sa.UniqueConstraint("article_id", "color_id", name="uq_color_planning_article_color"),
)

elastic_type = sa.Table(
    "elastic_type",
    metadata,
    pk(),
    sa.Column("code", sa.String(50), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
)

elastic_planning_settings = sa.Table(
    "elastic_planning_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("elastic_type_id", "elastic_type"),
    sa.Column("elastic_min_batch_qty", sa.Integer, nullable=True),
    sa.UniqueConstraint("article_id", "elastic_type_id", name="uq_elastic_planning_article_type"),
)

production_order_size_weight_settings = sa.Table(
    "production_order_size_weight_settings",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("size_id", "size"),
    # Only rows with weight > 0 are used.
    sa.Column("weight", sa.Float, nullable=False, server_default=sa.text("1.0")),
    sa.UniqueConstraint("article_id", "size_id", name="uq_po_size_weight_article_size"),
)

production_order_elastic_bindings = sa.Table(
    "production_order_elastic_bindings",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("elastic_type_id", "elastic_type"),
    fk("color_id", "color", nullable=True),
    fk("sku_unit_id", "sku_unit", nullable=True),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.UniqueConstraint(
        "article_id", "elastic_type_id", "color_id", "sku_unit_id",
        name="uq_po_elastic_binding_scope",
    ),
)

production_order_in_flight_defaults = sa.Table(
    "production_order_in_flight_defaults",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("color_id", "color"),
    fk("size_id", "size"),
    _int_default("qty", 0),
    _int_default("eta_days", 0),
    # production, china_to_nsk, packaging, nsk_to_wb or other (validated by the application).
    sa.Column("stage", sa.String(50), nullable=False, server_default=sa.text("'other'")),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.UniqueConstraint(
        "article_id", "color_id", "size_id", "stage", "eta_days",
        name="uq_po_in_flight_default_scope",
    ),
)
