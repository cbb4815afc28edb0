"""The ingestion bench's input: a generated business, its pages fetched once, and derived rows.

Owns the untimed set-up before the passes: :func:`fetch` generates the business, loads its
master data and accounts, serves it from the sandbox and fetches every WB account's ``orders``
pages once through the real client (timed on its own: "HTTP fetch + JSON decode"), and
:func:`prepare` builds what W, B and C start from (checked pages, row tuples per page, the
distinct rows of the row-by-row path).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from _support.console import say

from _ingest.passes import check_all
from _ingest.replay import QUIET
from supplybrain_pipelines.assets.ingest.state import active_accounts
from supplybrain_pipelines.logic.records_fast import CheckedPage
from supplybrain_pipelines.resources.marketplace import MarketplaceApi, WbPage
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
from supplybrain_pipelines.sandbox.server import SandboxServer

#: WB's documented epoch: ask for everything the sandbox has.
WB_EPOCH = "2019-06-20T00:00:00"


@dataclass
class Fetched:
    """Every WB account's ``orders`` pages, as fetched once over HTTP."""

    pages_by_account: dict[int, list[WbPage]]
    accounts: list
    seconds: float
    records: int
    distinct: int
    #: The stopped sandbox, which still holds the generated business: kept for the whole run
    #: (as before the split), so that the passes run with the same heap.
    sandbox: SandboxServer


@dataclass
class Inputs:
    """What W, B and C start from, built from the fetched pages (untimed)."""

    checked: dict[int, list[CheckedPage]]
    account_by_id: dict[int, object]
    tuples_by_page: list[list[tuple]]
    row_by_row: list[tuple]


def fetch(engine: sa.Engine, *, seed: int, articles: int, days: int, page_cap: int) -> Fetched:
    """Generate the business, serve it from the sandbox, fetch its pages once; say how many."""
    gen_start = time.perf_counter()
    business = generate_business(seed=seed, as_of=datetime.now(UTC).date(),
                                 days=days, articles=articles)
    generated = sum(len(v) for v in business.wb_orders_by_account.values())
    say(f"business: seed {seed}, {articles} articles x {days} days -> "
        f"{generated:,} WB order rows over {len(business.wb_accounts)} accounts "
        f"(generated in {time.perf_counter() - gen_start:.1f} s)")
    pages_by_account: dict[int, list[WbPage]] = {}
    with SandboxServer(business, page_cap=page_cap) as sandbox:
        with engine.begin() as conn:
            load_master_data(conn, business)
            register_accounts(conn, business, sandbox.url)
            accounts = active_accounts(conn, "wb")
        api = MarketplaceApi(wb_min_interval_seconds=0)
        gc.collect()
        fetch_start = time.perf_counter()
        for account in accounts:
            client = api.wb(account, logger=QUIET)
            pages_by_account[account.id] = list(client.pages("orders", WB_EPOCH))
        fetch_s = time.perf_counter() - fetch_start
        api.close()
    del business
    fetched = sum(len(p.records) for ps in pages_by_account.values() for p in ps)
    n_pages = sum(len(ps) for ps in pages_by_account.values())
    distinct = len({r["srid"] for ps in pages_by_account.values() for p in ps
                    for r in p.records})
    say(f"fetched {fetched:,} records in {n_pages} pages (page_cap {page_cap:,}; "
        f"{distinct:,} distinct srids: each page repeats the rows at its start cursor) "
        f"in {fetch_s:.2f} s")
    if distinct < 200_000:
        say(f"NOTE: fewer than 200k rows ({distinct:,}); raise --articles or --days")
    return Fetched(pages_by_account, accounts, fetch_s, fetched, distinct, sandbox)


def prepare(fetched: Fetched, row_by_row_rows: int) -> Inputs:
    """Checked pages for W, row tuples for B, and the first ``row_by_row_rows`` distinct rows
    for C."""
    checked = check_all(fetched.pages_by_account)
    account_by_id = {account.id: account for account in fetched.accounts}
    tuples_by_page = [page.rows for pages in checked.values() for page in pages]
    seen: set[str] = set()
    rbr_rows: list[tuple] = []
    for rows in tuples_by_page:
        for row in rows:
            if row[0] not in seen and len(rbr_rows) < row_by_row_rows:
                seen.add(row[0])
                rbr_rows.append(row)
    return Inputs(checked, account_by_id, tuples_by_page, rbr_rows)
