"""Observed source assets: tables that operators, not pipelines, write.

The integration-account tables are edited with ``supplybrain accounts``; the alert rules are
seeded by the migrations and edited by hand. Each observation records a data version (a hash of
the rows, never of a token) so downstream assets see when an account or rule changed.
"""

import hashlib

import dagster as dg
from sqlalchemy import Table, select

from supplybrain_pipelines.assets._metadata import OWNERS
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

GROUP = "sources"


def _spec(table: Table, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=table.name, group_name=GROUP, owners=OWNERS, kinds={"postgres"},
        description=description,
        metadata={"dagster/table_name": f"{table.schema}.{table.name}"},
    )


#: The observed tables, and the columns their data version is computed from. The account token
#: is deliberately absent: ``updated_at`` already moves when it is replaced.
OBSERVED: dict[str, tuple[Table, list[str]]] = {
    "wb_integration_accounts": (
        t.wb_integration_accounts, ["id", "name", "supplier_id", "is_active", "base_url",
                                    "updated_at"]),
    "moysklad_integration_accounts": (
        t.moysklad_integration_accounts, ["id", "name", "account_id", "is_active", "base_url",
                                          "updated_at"]),
    "monitoring_alert_rules": (
        t.monitoring_alert_rules, ["id", "name", "metric", "threshold_type", "threshold_value",
                                   "severity", "is_active"]),
}

SPECS = [
    _spec(t.wb_integration_accounts,
          "Wildberries seller accounts, managed with `supplybrain accounts`. The data version "
          "changes when an account is added, replaced or deactivated."),
    _spec(t.moysklad_integration_accounts,
          "MoySklad accounts, managed with `supplybrain accounts`; observed like the WB ones."),
    _spec(t.monitoring_alert_rules,
          "Alert rules the monitoring snapshot is judged by (9 seed rules from the old backend)."),
]


def observe_table(conn, table: Table, columns: list[str]) -> dg.ObserveResult:
    """Data version (hash of ``columns`` of every row) and row counts of one table."""
    rows = conn.execute(select(*(table.c[c] for c in columns)).order_by(table.c.id)).all()
    digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()[:16]
    active = sum(1 for row in rows if row.is_active)
    return dg.ObserveResult(
        asset_key=table.name,
        data_version=dg.DataVersion(digest),
        metadata={"dagster/row_count": len(rows), "active": active,
                  "inactive": len(rows) - active},
    )


@dg.multi_observable_source_asset(specs=SPECS, can_subset=True, name="observe_operator_tables")
def operator_tables(context: dg.AssetExecutionContext, warehouse: PostgresWarehouse):
    with warehouse.transaction() as conn:
        for key in sorted(context.selected_asset_keys, key=str):
            table, columns = OBSERVED[key.to_user_string()]
            yield observe_table(conn, table, columns)


SOURCE_ASSETS = [operator_tables]
