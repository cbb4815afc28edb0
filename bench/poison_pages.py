"""What poison-proof pages cost (issue 12): screening per record, and a WB orders page that
PostgreSQL refuses, written again in bisected batches.

    .venv/bin/python bench/poison_pages.py [--articles N] [--days D] [--page ROWS] [--repeat K]

Set-up (not timed): an embedded PostgreSQL (durable settings), a migrated database, the WB
orders of ``generate_business(seed=7, articles, days)`` round-tripped through JSON, cut to one
page of ``--page`` records (the sandbox's page cap is 80 000; default 50 000, as
``ingest_throughput.py``).

Timed (median of ``--repeat``, min..max), each write on freshly truncated tables:

- ``screen_many`` of the page, and ``check_page`` against the same validation without the
  screen (``records_fast._check``): the screen's cost per record and as a share;
- ``write_page`` of the checked page, clean, and with 1 and with 10 of its rows made to overflow
  ``numeric(14,2)`` after validation (so PostgreSQL refuses them and the page is written again
  by ``_fallback.write_in_batches``): the seconds and the ratio to the clean write;
- ``quarantine`` of 1 000 bad records, then of the same records again (sightings + 1).

It prints numbers; it asserts nothing on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support.console import banner, say  # noqa: E402
from bench._support.postgres import embedded_server, migrated_database  # noqa: E402


def timed(function, repeat: int) -> tuple[float, float, float]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), min(runs), max(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--page", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from supplybrain_pipelines.assets.ingest._pages import write_page
    from supplybrain_pipelines.assets.ingest.state import quarantine
    from supplybrain_pipelines.assets.ingest.wb import ORDERS
    from supplybrain_pipelines.logic.records import Rejected
    from supplybrain_pipelines.logic.records_fast import _check, check_page
    from supplybrain_pipelines.logic.screening import screen_many
    from supplybrain_pipelines.resources.marketplace import Account
    from supplybrain_pipelines.sandbox.generator import generate_business

    say(banner("poison_pages", sa))
    business = generate_business(seed=7, articles=args.articles, days=args.days)
    records = json.loads(json.dumps(
        [o for rows in business.wb_orders_by_account.values() for o in rows]))[:args.page]
    n = len(records)
    say(f"page: {n:,} WB order records")
    account = Account(kind="wb", id=1, name="bench", token="bench-token")

    screen = timed(lambda: screen_many(records), args.repeat)
    without = timed(lambda: _check(records, ORDERS.model, (1,), False), args.repeat)
    checked = timed(lambda: check_page(records, ORDERS.model, (1,)), args.repeat)
    say(f"screen_many          {screen[0]:.3f} s  {screen[0] / n * 1e6:.2f} us/record "
        f"({screen[1]:.3f}..{screen[2]:.3f})")
    say(f"validation, no screen {without[0]:.3f} s  {without[0] / n * 1e6:.2f} us/record")
    say(f"check_page (screened) {checked[0]:.3f} s  {checked[0] / n * 1e6:.2f} us/record: "
        f"{checked[0] / without[0]:.2f}x the validation without the screen")

    page = check_page(records, ORDERS.model, (1,))
    price_at = ORDERS.model.fields.index("total_price")

    def poisoned(count: int):
        copy = check_page(records, ORDERS.model, (1,))
        step = max(1, len(copy.rows) // (count + 1))
        for at in range(step, step * (count + 1), step)[:count]:
            row = copy.rows[at]
            copy.rows[at] = row[:price_at] + (Decimal("1e13"),) + row[price_at + 1:]
        return copy

    with embedded_server("sb_poison_bench_") as (server, _):
        url = migrated_database(server, "bench")
        engine = sa.create_engine(url, poolclass=NullPool)
        truncate = sa.text("TRUNCATE supplybrain.wb_orders, supplybrain.ingest_cursors, "
                           "supplybrain.quarantine, supplybrain.unmatched_items")

        def write(checked_page) -> None:
            with engine.begin() as conn:
                conn.execute(truncate)
            with engine.begin() as conn:
                written = write_page(conn, ORDERS, account, checked_page, "bench")
            expected = len(checked_page.rows) - written.quarantined
            if written.inserted != expected:
                raise RuntimeError(f"inserted {written.inserted}, expected {expected}")

        clean = timed(lambda: write(page), args.repeat)
        say(f"write_page, clean            {clean[0]:.3f} s ({clean[1]:.3f}..{clean[2]:.3f})")
        for count in (1, 10):
            bad = poisoned(count)
            result = timed(lambda bad=bad: write(bad), args.repeat)
            with engine.connect() as conn:
                refused = conn.execute(sa.text(
                    "SELECT count(*) FROM supplybrain.quarantine "
                    "WHERE reason_code = 'write_rejected'")).scalar_one()
            say(f"write_page, {count:2d} refused row(s) {result[0]:.3f} s "
                f"({result[1]:.3f}..{result[2]:.3f}): {result[0] / clean[0]:.2f}x the clean "
                f"write; {refused} quarantined as write_rejected")

        bad_records = [Rejected({**r, "supplierArticle": "a\u0000b"}, "unstorable_text", "x")
                       for r in records[:1000]]
        with engine.begin() as conn:
            conn.execute(truncate)

        def quarantine_once() -> None:
            with engine.begin() as conn:
                quarantine(conn, account, "wb/orders", bad_records, "bench")

        first = timed(quarantine_once, 1)
        again = timed(quarantine_once, 1)
        with engine.connect() as conn:
            rows, seen = conn.execute(sa.text(
                "SELECT count(*), sum(sightings) FROM supplybrain.quarantine")).one()
        say(f"quarantine 1 000 records: {first[0]:.3f} s; the same again {again[0]:.3f} s "
            f"-> {rows} rows, {seen} sightings")
        engine.dispose()


if __name__ == "__main__":
    main()
