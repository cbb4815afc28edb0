"""What MoySklad's ``MARK_CANCELLED`` costs per run (issue 12): the whole-account re-mark that
every ``moysklad_customer_orders`` run ends with, and the per-page one.

Run from the repository root (about 20 s)::

    .venv/bin/python bench/moysklad_mark_cancelled.py [--orders N] [--repeat K]

On its own durable embedded PostgreSQL: N orders of one account (default 200 000: years of a
large own channel), 2 % in a cancelled state, 1 % in the recycle bin, 1 % not posted. Timed,
K times each (median, min): the whole-account statement when nothing changes (every run after
the first), when the cancelled states change (every order re-marked: a changed setting), and
one page's statement (100 ids, the customer-order page size).
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
INSERT INTO supplybrain.ms_customer_orders (id, account_id, name, moment_at, updated_at_source,
    applicable, state_id, deleted_at)
SELECT 'o' || g, 1, lpad(g::text, 6, '0'), now() - g * interval '1 minute',
       now() - g * interval '1 minute', g % 100 <> 7,
       CASE WHEN g % 50 = 3 THEN 'cancelled' ELSE 'delivered' END,
       CASE WHEN g % 100 = 11 THEN now() END
FROM generate_series(1, :n) g
"""


def timed(conn, statement, params, repeat: int) -> tuple[float, float, int]:
    seconds, changed = [], 0
    for _ in range(repeat):
        with conn.begin():
            started = time.perf_counter()
            changed = conn.execute(statement, params).rowcount
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), min(seconds), changed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import sqlalchemy as sa

    from supplybrain_pipelines.assets.ingest.moysklad import MARK_CANCELLED

    say(banner("moysklad_mark_cancelled.py", sa))
    with embedded_server("bench_ms_") as (server, _root):
        url = migrated_database(server, "bench")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(FILL), {"n": args.orders})
            conn.execute(sa.text("ANALYZE supplybrain.ms_customer_orders"))
        with engine.connect() as conn:
            first = {"account_id": 1, "cancelled": ["cancelled"], "ids": None}
            conn.execute(MARK_CANCELLED, first)
            conn.commit()
            cancelled = conn.execute(sa.text(
                "SELECT count(*) FROM supplybrain.ms_customer_orders WHERE is_cancelled")
            ).scalar_one()
            conn.commit()
            say(f"{args.orders} orders, {cancelled} cancelled (state, bin or not posted)")
            still = timed(conn, MARK_CANCELLED, first, args.repeat)
            say(f"whole account, nothing changes:     median {still[0] * 1000:7.1f} ms  "
                f"min {still[1] * 1000:7.1f} ms  rows updated {still[2]}")
            flip = [{"account_id": 1, "cancelled": c, "ids": None}
                    for c in (["delivered"], ["cancelled"])]
            seconds = []
            for i in range(args.repeat):
                with conn.begin():
                    started = time.perf_counter()
                    rows = conn.execute(MARK_CANCELLED, flip[i % 2]).rowcount
                    seconds.append(time.perf_counter() - started)
            middle = statistics.median(seconds) * 1000
            say(f"whole account, setting changed:     median {middle:7.1f} ms  "
                f"min {min(seconds) * 1000:7.1f} ms  rows updated {rows} (last)")
            page = {"account_id": 1, "cancelled": ["cancelled"],
                    "ids": [f"o{g}" for g in range(1000, 1100)]}
            one = timed(conn, MARK_CANCELLED, page, args.repeat)
            say(f"one page of 100 orders:             median {one[0] * 1000:7.1f} ms  "
                f"min {one[1] * 1000:7.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
