"""Dagster resources: the PostgreSQL warehouse (later: WB and MoySklad clients, notifier)."""

from supplybrain_pipelines.resources.warehouse import PostgresWarehouse, UpsertResult, bulk_upsert

__all__ = ["PostgresWarehouse", "UpsertResult", "bulk_upsert"]
