"""The ingestion bench's replayed marketplace: the real asset code reads already-fetched pages.

Owns :class:`ReplayMarketplace`, which stands in for ``MarketplaceApi`` and hands each account
its pages fetched once over HTTP, and the quiet Dagster-like context (:data:`CONTEXT`, with
:data:`QUIET`, a logger that only shows warnings) that the asset code and the client log to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace

from supplybrain_pipelines.resources.marketplace import WbPage

QUIET = logging.getLogger("bench.ingest_throughput")
QUIET.setLevel(logging.WARNING)
CONTEXT = SimpleNamespace(log=QUIET, run=SimpleNamespace(run_id="bench-ingest-throughput"))


class ReplayClient:
    def __init__(self, pages: list[WbPage]) -> None:
        self._pages = pages

    def pages(self, endpoint: str, date_from: str, *, flag: int = 0,
              max_pages: int | None = None) -> Iterator[WbPage]:
        assert endpoint == "orders", endpoint
        yield from self._pages[:max_pages]


class ReplayMarketplace:
    """Stands in for ``MarketplaceApi``: ``wb(account)`` hands out that account's fetched pages."""

    def __init__(self, pages_by_account: dict[int, list[WbPage]]) -> None:
        self._pages = pages_by_account

    def wb(self, account, *, logger=None) -> ReplayClient:
        return ReplayClient(self._pages.get(account.id, []))
