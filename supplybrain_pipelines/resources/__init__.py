"""Dagster resources: the PostgreSQL warehouse and the WB / MoySklad API clients."""

from supplybrain_pipelines.config import wb_min_interval_seconds
from supplybrain_pipelines.resources.marketplace import MarketplaceApi
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse, UpsertResult, bulk_upsert


def marketplace_from_env() -> MarketplaceApi:
    """The API clients as the code location configures them (limits from the environment)."""
    return MarketplaceApi(wb_min_interval_seconds=wb_min_interval_seconds())


__all__ = ["MarketplaceApi", "PostgresWarehouse", "UpsertResult", "bulk_upsert",
           "marketplace_from_env"]
