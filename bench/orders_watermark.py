"""What the ``orders`` watermark costs (issue 13, item 2): a refresh with nothing new, and one
held back by an open transaction.

Run from the repository root (about a minute)::

    .venv/bin/python bench/orders_watermark.py [--orders N] [--repeat K]

On its own durable embedded PostgreSQL: N raw WB orders (default 300 000), all mapped, stamped
(``ingested_at``) evenly over the 30 days before now, in that physical order, as ingestion
leaves them. After a first refresh that reads them all, the watermark is set back by H and the
refresh (the whole Dagster asset, ``dg.materialize``) is timed, K times each (median, min):
H = 5 s is every refresh's own margin; 1 hour, 1 day and 7 days are what a session left idle in
transaction that long costs every refresh (the raw rows stamped since then are read again and
found unchanged). Nothing is written by those refreshes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support.console import banner, say  # noqa: E402
from bench._support.postgres import embedded_server, migrated_database  # noqa: E402

FILL = """
INSERT INTO supplybrain.wb_orders (srid, account_id, ordered_at, last_change_at, barcode,
    total_price, price_with_disc, is_cancel, ingested_at)
SELECT 's' || g, 1, now() - (:n - g) * interval '30 days' / :n,
       now() - (:n - g) * interval '30 days' / :n, (CAST(:barcodes AS text[]))[1 + g % :nb],
       100, 90, false, now() - (:n - g) * interval '30 days' / :n
FROM generate_series(1, :n) g ORDER BY g
"""

HOLD_BACKS = (("5 s (the margin)", "5 seconds"), ("1 hour", "1 hour"), ("1 day", "1 day"),
              ("7 days", "7 days"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import dagster as dg
    import sqlalchemy as sa

    from supplybrain_pipelines.assets.unified import orders_and_rollup
    from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
    from supplybrain_pipelines.sandbox.generator import generate_business
    from supplybrain_pipelines.sandbox.seed import load_master_data

    say(banner("orders_watermark.py", sa, dg))
    with embedded_server("bench_wm_") as (server, _root):
        url = migrated_database(server, "bench")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            load_master_data(conn, generate_business(seed=3, articles=12, days=10))
            barcodes = list(conn.execute(sa.text(
                "SELECT wb_sku FROM supplybrain.article_wb_mapping")).scalars())
            conn.execute(sa.text(FILL), {"n": args.orders, "barcodes": barcodes,
                                         "nb": len(barcodes)})
            conn.execute(sa.text("ANALYZE supplybrain.wb_orders"))
        warehouse = PostgresWarehouse(
            database_url=url.render_as_string(hide_password=False))

        def refresh() -> tuple[float, int]:
            started = time.perf_counter()
            result = dg.materialize([orders_and_rollup], resources={"warehouse": warehouse})
            seconds = time.perf_counter() - started
            meta = result.asset_materializations_for_node("orders_and_rollup")[0].metadata
            return seconds, meta["changed"].value

        seconds, changed = refresh()
        say(f"{args.orders} raw orders over 30 days, {len(barcodes)} barcodes")
        say(f"first refresh (reads all):       {seconds:7.2f} s  changed {changed}")
        for label, hold_back in HOLD_BACKS:
            timings, rows = [], None
            for _ in range(args.repeat):
                with engine.begin() as conn:
                    conn.execute(sa.text(
                        "UPDATE supplybrain.refresh_watermarks SET watermark = "
                        "now() - CAST(:h AS interval) WHERE target = 'orders'"), {"h": hold_back})
                    rows = conn.execute(sa.text(
                        "SELECT count(*) FROM supplybrain.wb_orders "
                        "WHERE ingested_at >= now() - CAST(:h AS interval)"),
                        {"h": hold_back}).scalar_one()
                seconds, changed = refresh()
                timings.append(seconds)
                assert changed == 0, changed
            say(f"held back {label:<17} median {statistics.median(timings) * 1000:7.0f} ms  "
                f"min {min(timings) * 1000:7.0f} ms  raw rows read again {rows}")
        engine.dispose()


if __name__ == "__main__":
    main()
