"""What a bad account costs ingestion, and what checking accounts on entry costs ``accounts add``.

Run from the repository root (about a minute on 2 shared vCPUs)::

    .venv/bin/python bench/account_check.py [--repeat K]

All in one process, against the marketplace sandbox on loopback and an embedded PostgreSQL:

1. **The check call** (``resources/marketplace/check.py``, what ``supplybrain accounts add``
   makes before writing): the median of K calls each for a WB token the API accepts, a MoySklad
   token it accepts, a token it rejects (401) and a base URL whose port nothing listens on.
2. **Ingest runs** (every ingest asset, ``MarketplaceApi`` with its production retry settings,
   WB's interval 0 as ``make dev`` sets it for the sandbox), after one backfill run:

   - ``baseline``: the sandbox's 2 WB and 1 MoySklad accounts;
   - ``+ unreachable``: plus a WB account whose base URL no server answers (written straight
     into the table: ``accounts add`` now refuses it), what the issue saw: 5 attempts with
     backoff per endpoint, every run;
   - ``+ 401`` runs 1..4: the baseline accounts plus a WB account whose token the API rejects
     (the unreachable one removed). Runs 1-3 ask each endpoint once (401 is not retried); the
     third suspends it, and run 4 sends it nothing.

It prints wall times and the requests the 401 account sent per run. It never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import dagster as dg
import httpx
from _support.console import banner, say
from _support.postgres import embedded_server, migrated_database


def _check_latencies(repeat: int) -> None:
    from supplybrain_pipelines.devstack.embedded import free_port
    from supplybrain_pipelines.resources.marketplace import Account
    from supplybrain_pipelines.resources.marketplace.check import check_account
    from supplybrain_pipelines.sandbox.generator import generate_business
    from supplybrain_pipelines.sandbox.server import SandboxServer

    business = generate_business(seed=5, articles=2)
    with SandboxServer(business) as sandbox:
        cases = {
            "WB token accepted": Account("wb", 0, "x", business.wb_accounts[0].token,
                                         sandbox.wb_base_url),
            "MoySklad token accepted": Account("moysklad", 0, "x",
                                               business.moysklad_accounts[0].token,
                                               sandbox.moysklad_base_url),
            "WB token rejected (401)": Account("wb", 0, "x", "b" * 40, sandbox.wb_base_url),
            "nothing listens on the port": Account("wb", 0, "x", "b" * 40,
                                                   f"http://127.0.0.1:{free_port()}"),
        }
        say(f"1. the check call (median of {repeat}, ms)")
        for label, account in cases.items():
            times, outcome = [], None
            for _ in range(repeat):
                start = time.perf_counter()
                error = check_account(account)
                times.append((time.perf_counter() - start) * 1000)
                outcome = "ok" if error is None else f"{error.error_class} ({error.status})"
            say(f"   {label:<30} {statistics.median(times):8.1f} ms   -> {outcome}")


def _ingest_runs(url) -> None:
    import sqlalchemy as sa

    from supplybrain_pipelines.assets.ingest import INGEST_ASSETS
    from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
    from supplybrain_pipelines.db import tables as t
    from supplybrain_pipelines.devstack.embedded import free_port
    from supplybrain_pipelines.resources.marketplace import MarketplaceApi
    from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
    from supplybrain_pipelines.sandbox.generator import generate_business
    from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
    from supplybrain_pipelines.sandbox.server import SandboxServer
    from supplybrain_pipelines.token_crypto import encrypt_token

    business = generate_business(seed=11, articles=6)
    engine = sa.create_engine(url)
    instance = dg.DagsterInstance.ephemeral()
    resources = {"warehouse": PostgresWarehouse(database_url=url.render_as_string(False)),
                 "marketplace": MarketplaceApi(wb_min_interval_seconds=0)}

    def run() -> float:
        start = time.perf_counter()
        result = dg.materialize([*INGEST_ASSETS, orders_and_rollup, stock], instance=instance,
                                resources=resources, raise_on_error=False)
        elapsed = time.perf_counter() - start
        if not result.success:
            say("   (a run failed)")
        return elapsed

    def add_wb(name: str, token: str, base_url: str) -> int:
        with engine.begin() as conn:
            return conn.execute(sa.insert(t.wb_integration_accounts).values(
                name=name, api_token_encrypted=encrypt_token(token), base_url=base_url)
                .returning(t.wb_integration_accounts.c.id)).scalar_one()

    with SandboxServer(business, page_cap=300) as sandbox:
        with engine.begin() as conn:
            load_master_data(conn, business)
            register_accounts(conn, business, sandbox.url)
        say("2. ingest runs (wall time, s)")
        say(f"   backfill                     {run():6.2f}")
        say(f"   baseline                     {run():6.2f}")
        dead = add_wb("unreachable", "c" * 40, f"http://127.0.0.1:{free_port()}")
        say(f"   + unreachable                {run():6.2f}")
        with engine.begin() as conn:
            conn.execute(sa.delete(t.wb_integration_accounts).where(
                t.wb_integration_accounts.c.id == dead))
        add_wb("rejected", "d" * 40, sandbox.url)  # a token the sandbox does not know: 401

        def rejected_requests() -> int:  # the sandbox books unknown tokens under "-"
            return sum(s["requests"] for (api, _, name), s in sandbox.stats().items()
                       if api == "wb" and name == "-")

        for n in (1, 2, 3, 4):
            before = rejected_requests()
            elapsed = run()
            after = rejected_requests()
            with engine.connect() as conn:
                suspended = conn.execute(sa.select(sa.func.count()).where(
                    t.wb_integration_accounts.c.suspended_at.is_not(None))).scalar_one()
            say(f"   + 401 run {n}                  {elapsed:6.2f}   requests of the 401 "
                f"token: {after - before}, suspended accounts: {suspended}")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    say(banner("bench/account_check.py", dg, httpx))
    _check_latencies(args.repeat)
    with embedded_server("sb-bench-accounts-") as (server, _):
        _ingest_runs(migrated_database(server, "bench_accounts"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
