"""Observed source assets: tables that operators, not pipelines, write.

The integration-account tables are edited with ``supplybrain accounts``; the alert rules are
seeded by the migrations and edited by hand. Each observation records a data version (a hash of
the rows, never of the token) so downstream assets see when an account or rule changed.
"""

from __future__ import annotations

import hashlib

import dagster as dg
from sqlalchemy import func, select

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

GROUP = "sources"
OWNERS = ["team:supplybrain-data"]


def _fingerprint(rows) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()[:16]


def _observe_accounts(table, warehouse: PostgresWarehouse) -> dg.ObserveResult:
    # The token column is deliberately absent: updated_at already moves when it is replaced.
    columns = [table.c.id, table.c.name, table.c.is_active, table.c.base_url, table.c.updated_at]
    with warehouse.transaction() as conn:
        rows = conn.execute(select(*columns).order_by(table.c.id)).all()
    active = sum(1 for row in rows if row.is_active)
    return dg.ObserveResult(
        data_version=dg.DataVersion(_fingerprint(rows)),
        metadata={
            "dagster/row_count": len(rows),
            "accounts_active": active,
            "accounts_inactive": len(rows) - active,
        },
    )


@dg.observable_source_asset(
    name="wb_integration_accounts",
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    description="Wildberries seller accounts (supplybrain.wb_integration_accounts), managed with "
    "`supplybrain accounts`. Observed: the data version changes when an account is added, "
    "replaced or deactivated.",
)
def wb_integration_accounts(warehouse: PostgresWarehouse) -> dg.ObserveResult:
    return _observe_accounts(t.wb_integration_accounts, warehouse)


@dg.observable_source_asset(
    name="moysklad_integration_accounts",
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    description="MoySklad accounts (supplybrain.moysklad_integration_accounts), managed with "
    "`supplybrain accounts`. Observed like the WB accounts.",
)
def moysklad_integration_accounts(warehouse: PostgresWarehouse) -> dg.ObserveResult:
    return _observe_accounts(t.moysklad_integration_accounts, warehouse)


@dg.observable_source_asset(
    name="monitoring_alert_rules",
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    description="Alert rules the monitoring snapshot is judged by "
    "(supplybrain.monitoring_alert_rules; 9 seed rules from the old backend).",
)
def monitoring_alert_rules(warehouse: PostgresWarehouse) -> dg.ObserveResult:
    rules = t.monitoring_alert_rules
    with warehouse.transaction() as conn:
        rows = conn.execute(select(rules).order_by(rules.c.id)).all()
        active = conn.execute(
            select(func.count()).select_from(rules).where(rules.c.is_active)
        ).scalar_one()
    return dg.ObserveResult(
        data_version=dg.DataVersion(_fingerprint(rows)),
        metadata={"dagster/row_count": len(rows), "rules_active": active},
    )


SOURCE_ASSETS = [wb_integration_accounts, moysklad_integration_accounts, monitoring_alert_rules]
