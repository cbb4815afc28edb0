"""SQLAlchemy Core tables of the application schema ``supplybrain``.

Master data keeps the old backend's table and column names, types, nullability, defaults and named
unique constraints (DESIGN §4), so that the pipelines can run against that backend's tables.
Improvements over it: an index on every foreign-key column, ``now()`` defaults on timestamps,
CHECK constraints, and a naming convention for every index and constraint.

The Alembic migrations in ``db/migrations`` create these tables with explicit DDL; the test
``test_migrations`` fails when the two drift apart.
"""

from supplybrain_pipelines.db.tables._meta import NAMING_CONVENTION, metadata
from supplybrain_pipelines.db.tables.accounts import (
    ACCOUNT_TABLES,
    monitoring_alert_rules,
    moysklad_integration_accounts,
    wb_integration_accounts,
)
from supplybrain_pipelines.db.tables.evidence import forecast_accuracy, policy_backtest
from supplybrain_pipelines.db.tables.ingest import (
    ERROR_CLASSES,
    account_health,
    ingest_cursors,
    ms_assortment,
    ms_customer_orders,
    ms_order_positions,
    ms_stocks,
    quarantine,
    unmatched_items,
    wb_orders,
    wb_sales,
    wb_stocks,
)
from supplybrain_pipelines.db.tables.master import (
    article,
    article_wb_mapping,
    bundle_recipe,
    bundle_type,
    color,
    purchase_order,
    purchase_order_item,
    size,
    sku_unit,
    stock_balance,
    warehouse,
)
from supplybrain_pipelines.db.tables.monitoring import (
    SNAPSHOT_COUNTERS,
    monitoring_alerts,
    monitoring_notifications,
    monitoring_snapshots,
)
from supplybrain_pipelines.db.tables.outputs import (
    RISK_LEVELS,
    bundle_risk,
    demand,
    demand_barcode,
    demand_unexploded,
    planning_health,
    planning_proposals,
    stock_history,
    supply,
)
from supplybrain_pipelines.db.tables.planning import (
    PRODUCTION_ORDER_FLOAT_SETTINGS,
    article_planning_settings,
    color_planning_settings,
    elastic_planning_settings,
    elastic_type,
    global_planning_settings,
    planning_settings,
    production_order_elastic_bindings,
    production_order_in_flight_defaults,
    production_order_size_weight_settings,
)
from supplybrain_pipelines.db.tables.sandbox import sandbox_rows
from supplybrain_pipelines.db.tables.unified import (
    orders,
    orders_daily,
    refresh_watermarks,
    stock,
)

__all__ = [
    "ACCOUNT_TABLES",
    "SNAPSHOT_COUNTERS",
    "monitoring_alerts",
    "monitoring_notifications",
    "monitoring_snapshots",
    "RISK_LEVELS",
    "bundle_risk",
    "demand",
    "demand_barcode",
    "demand_unexploded",
    "planning_health",
    "planning_proposals",
    "stock_history",
    "supply",
    "forecast_accuracy",
    "policy_backtest",
    "ERROR_CLASSES",
    "account_health",
    "ingest_cursors",
    "ms_assortment",
    "ms_customer_orders",
    "ms_order_positions",
    "ms_stocks",
    "orders",
    "orders_daily",
    "quarantine",
    "refresh_watermarks",
    "sandbox_rows",
    "stock",
    "unmatched_items",
    "wb_orders",
    "wb_sales",
    "wb_stocks",
    "NAMING_CONVENTION",
    "PRODUCTION_ORDER_FLOAT_SETTINGS",
    "article",
    "article_planning_settings",
    "article_wb_mapping",
    "bundle_recipe",
    "bundle_type",
    "color",
    "color_planning_settings",
    "elastic_planning_settings",
    "elastic_type",
    "global_planning_settings",
    "metadata",
    "monitoring_alert_rules",
    "moysklad_integration_accounts",
    "planning_settings",
    "production_order_elastic_bindings",
    "production_order_in_flight_defaults",
    "production_order_size_weight_settings",
    "purchase_order",
    "purchase_order_item",
    "size",
    "sku_unit",
    "stock_balance",
    "warehouse",
    "wb_integration_accounts",
]
