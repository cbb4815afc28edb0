"""What every ingestion asset shares: its config, the per-account loop with fault isolation, and
the Dagster metadata it reports."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import dagster as dg
from sqlalchemy import Connection, Table

from supplybrain_pipelines.assets._metadata import table_metadata
from supplybrain_pipelines.assets.ingest._pages import stored_versions
from supplybrain_pipelines.assets.ingest.state import active_accounts, record_health
from supplybrain_pipelines.logic.monitoring.windows import page_deadline
from supplybrain_pipelines.logic.records import Rejected
from supplybrain_pipelines.resources.marketplace import Account, ApiError
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

GROUP = "ingest"
#: Ingestion asks for no new page this long before a monitoring tick (a quarter hour), so the
#: tick's snapshot run finds the run slot free: one page (WB allows one request a minute per
#: account and method) and the orders/stock refresh fit in it.
TICK_MARGIN = timedelta(minutes=2)
#: WB re-emits changed rows and refreshes every 30 minutes: re-read this much before the cursor.
CURSOR_OVERLAP = timedelta(minutes=30)


class IngestConfig(dg.Config):
    """Run config of every ingestion asset."""

    account_ids: list[int] | None = None
    """Only these accounts (default: every active one). The account sync sensor sets it."""
    backfill_days: int = 90
    """How far back an account without a cursor starts."""
    max_pages: int | None = None
    """Stop an account after this many pages (the next run goes on from the cursor)."""
    page_budget_seconds: float | None = 420.0
    """The incremental feeds (WB orders and sales, MoySklad customer orders) ask for no new
    page once this many seconds have passed since the run started, or ``TICK_MARGIN`` before
    the next monitoring tick if that comes first, except each account's first page; the
    cursor carries the rest to the next run. ``None``: no budget. See :class:`PageBudget`."""


def start_time(cursor_at: datetime | None, config: IngestConfig) -> datetime:
    """Where an incremental read starts: the cursor less the overlap, but never before the
    backfill horizon (WB keeps 90 days; a re-activated account picks up from there)."""
    horizon = datetime.now(UTC) - timedelta(days=config.backfill_days)
    if cursor_at is None:
        return horizon
    return max(cursor_at - CURSOR_OVERLAP, horizon)


@dataclass
class Outcome:
    """What one account contributed to a materialization."""

    account: Account
    pages: int = 0
    #: Records the API served (good, bad and stale): the quarantine share's denominator.
    read: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    unmatched: int = 0
    skipped: str | None = None
    #: The run's page budget stopped this account's pages (the cursor carries the rest).
    budget_spent: bool = False
    notes: list[str] = field(default_factory=list)


T = TypeVar("T")


@dataclass(frozen=True)
class PageBudget:
    """How long a run may keep asking an incremental feed for pages, so that no ingestion run
    holds the single run slot for long (a monitoring run waits for the run in the slot).

    Each feed writes page by page with its cursor, so stopping between pages loses nothing:
    the next run goes on from the cursor. Once ``deadline`` (epoch seconds) has passed, no new
    page is requested, except an account's first one (so every feed of every account moves in
    every run). A page being read when the budget runs out is finished, with its retries
    (bounded by the ``retry_budget_seconds`` of the marketplace resource). The stock feeds
    and the assortment read whole, as their writes need every page.
    """

    deadline: float | None
    clock: Callable[[], float] = time.time

    def spent(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def pages(self, pages: Iterable[T], outcome: Outcome) -> Iterator[T]:
        """``pages`` (one account's), stopping before the next request once the budget is
        spent; the stop is noted in ``outcome``."""
        iterator, served = iter(pages), 0
        try:
            while True:
                if served and self.spent():
                    outcome.budget_spent = True
                    outcome.notes.append(f"page budget spent after {served} pages; the next "
                                         "run goes on from the cursor")
                    return
                try:
                    page = next(iterator)
                except StopIteration:
                    return
                served += 1
                yield page
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()


def page_budget(context: dg.AssetExecutionContext, config: IngestConfig) -> PageBudget:
    """The run's page budget: ``page_budget_seconds`` from the run's start (as the instance
    recorded it; when the asset started, if the run has no start time), but no later than
    ``TICK_MARGIN`` before the next monitoring tick (``windows.page_deadline``)."""
    if config.page_budget_seconds is None:
        return PageBudget(None)
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record is not None and record.start_time else time.time()
    deadline = page_deadline(datetime.fromtimestamp(started, UTC),
                             timedelta(seconds=config.page_budget_seconds), TICK_MARGIN)
    return PageBudget(deadline.timestamp())


#: Writes one attempt's health for an account: the error, or None for success.
HealthRecorder = Callable[[Account, ApiError | None], None]


def for_each_account(context: dg.AssetExecutionContext, warehouse: PostgresWarehouse,
                     config: IngestConfig, kind: str, endpoint: str,
                     work: Callable[[Account, Outcome], None], *,
                     record: HealthRecorder | None = None) -> list[Outcome]:
    """Run ``work`` per active account. An API failure takes only that account out of this run;
    it is recorded in ``account_health`` and the others go on.

    ``record`` writes each account's health, by default in a transaction of its own. A feed
    whose pages are still being written in the background when ``work`` returns passes one
    that queues the record behind them, so that a success is recorded only once they are
    committed."""
    if record is None:
        def record(account: Account, error: ApiError | None) -> None:
            with warehouse.transaction() as conn:
                record_health(conn, account, endpoint, error)

    with warehouse.transaction() as conn:
        # A token no configured key opens: that account is left out, said in the run's log.
        accounts = active_accounts(conn, kind, config.account_ids, skip=context.log.error)
    outcomes = []
    for account in accounts:
        outcome = Outcome(account)
        try:
            work(account, outcome)
        except ApiError as error:
            outcome.skipped = str(error.error_class)
            context.log.warning(f"{kind} account {account.id} skipped for {endpoint}: {error}")
            record(account, error)
        else:
            record(account, None)
        outcomes.append(outcome)
    return outcomes


def drop_stale(conn: Connection, table: Table, key: str, rows: list, version: str = "last_change"
               ) -> tuple[list, list[Rejected]]:
    """Rows (models) older than the stored version of the same key are rejected as stale
    duplicates. The incremental feeds do this on row tuples in ``_pages.write_page``."""
    if not rows:
        return rows, []
    # One parameter, not one per key: a WB page may hold 80 000 rows (> 65 535 binds).
    stored = stored_versions(conn, table, key, [getattr(r, key) for r in rows])
    keep, stale = [], []
    for row in rows:
        known = stored.get(getattr(row, key))
        if known is not None and getattr(row, version) < known:
            stale.append(Rejected(row.model_dump(mode="json", by_alias=True), "stale_duplicate",
                                  f"{key}: the stored record changed later ({known.isoformat()})"))
        else:
            keep.append(row)
    return keep, stale


def materialize_result(warehouse: PostgresWarehouse, table: Table,
                       outcomes: list[Outcome]) -> dg.MaterializeResult:
    """Row count and schema of the asset's main table, and a per-account markdown summary."""
    lines = ["| account | pages | inserted | updated | quarantined | unmatched | skipped |",
             "|---|---|---|---|---|---|---|"]
    for o in outcomes:
        lines.append(f"| {o.account.kind} {o.account.id} ({o.account.name}) | {o.pages} | "
                     f"{o.inserted} | {o.updated} | {o.quarantined} | {o.unmatched} | "
                     f"{o.skipped or '-'} |")
    return dg.MaterializeResult(metadata=table_metadata(
        warehouse, table,
        inserted=sum(o.inserted for o in outcomes),
        updated=sum(o.updated for o in outcomes),
        quarantined=sum(o.quarantined for o in outcomes),
        records_read=sum(o.read for o in outcomes),
        accounts_skipped=sum(1 for o in outcomes if o.skipped),
        accounts_out_of_page_budget=sum(1 for o in outcomes if o.budget_spent),
        summary=dg.MetadataValue.md("\n".join(lines) if outcomes else "no active accounts"),
    ))
