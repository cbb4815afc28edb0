"""Marketplace API clients (WB statistics, MoySklad 1.2) and the resource that hands them out.

Limits, retries and error classes live here; what a record means and whether it is valid is
the ingestion's business.
"""

from supplybrain_pipelines.resources.marketplace.accounts import (
    MOYSKLAD_DEFAULT_BASE_URL,
    WB_DEFAULT_BASE_URL,
    Account,
    AccountKind,
)
from supplybrain_pipelines.resources.marketplace.errors import ApiError, ErrorClass
from supplybrain_pipelines.resources.marketplace.limits import (
    MinIntervalLimiter,
    RetryBudget,
    WeightedWindowLimiter,
)
from supplybrain_pipelines.resources.marketplace.moysklad import MoySkladClient, request_weight
from supplybrain_pipelines.resources.marketplace.resource import MarketplaceApi
from supplybrain_pipelines.resources.marketplace.wb import (
    WB_ENDPOINTS,
    WbClient,
    WbEndpoint,
    WbPage,
)

__all__ = [
    "MOYSKLAD_DEFAULT_BASE_URL",
    "WB_DEFAULT_BASE_URL",
    "WB_ENDPOINTS",
    "Account",
    "AccountKind",
    "ApiError",
    "ErrorClass",
    "MarketplaceApi",
    "MinIntervalLimiter",
    "MoySkladClient",
    "RetryBudget",
    "WbClient",
    "WbEndpoint",
    "WbPage",
    "WeightedWindowLimiter",
    "request_weight",
]
