"""What one planning run adds to PostgreSQL, per SKU unit (issue 15, the capacity plan).

``planning_proposals`` keeps every run's rows (run_id in the key) and the planning job runs after
every ingest run, i.e. up to 96 times a day; this bench measures the bytes a run adds, so that
docs/deploy_kubernetes.md can project the database's growth. It reuses the planning bench's data
set (bench/_planning/data.py) and its timed child (one ``dg.materialize`` of the planning assets
and their checks in a fresh process), on an embedded PostgreSQL with durable settings.

    .venv/bin/python bench/capacity_storage.py [--skus 20000] [--runs 2]

Printed per run: the end-to-end seconds and the child's peak RSS, the rows and bytes (table +
indexes + TOAST, after VACUUM) of each planning output table, and the bytes per SKU unit that the
run added. It asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from _planning.data import generate
from _planning.runs import run_child
from _support.console import banner, say
from _support.postgres import connect, embedded_server, migrated_database

TABLES = ("planning_proposals", "bundle_risk", "demand", "supply", "stock_history",
          "planning_health")


def sizes(url_text: str) -> dict[str, tuple[int, int]]:
    """{table: (rows, bytes incl. indexes and TOAST)} after VACUUM."""
    out = {}
    with connect(url_text, autocommit=True) as conn:
        for table in TABLES:
            exists = conn.execute("SELECT to_regclass(%s)", (f"supplybrain.{table}",)).fetchone()
            if exists[0] is None:
                continue
            conn.execute(f"VACUUM supplybrain.{table}")
            rows = conn.execute(f"SELECT count(*) FROM supplybrain.{table}").fetchone()[0]
            size = conn.execute("SELECT pg_total_relation_size(%s)",
                                (f"supplybrain.{table}",)).fetchone()[0]
            out[table] = (rows, size)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if "--child" in sys.argv:
        raise SystemExit("use bench/planning_scale.py for children")
    say(banner("capacity_storage"))
    as_of = datetime.now(UTC).date()
    with embedded_server("capacity-storage-") as (server, _root):
        url = migrated_database(server, "capacity").render_as_string(hide_password=False)
        data = generate(url, args.skus, args.days, 30, as_of, 0.42)
        say(f"data: {data['articles']} articles, {data['active_skus']:,} active SKU units, "
            f"{args.days} days; database {data['db_mib']:.0f} MiB (generated in "
            f"{data['seconds']:.1f} s)")
        before = sizes(url)
        for n in range(1, args.runs + 1):
            run = run_child(url, as_of)
            after = sizes(url)
            say(f"run {n}: {run['seconds']:.2f} s end to end, peak RSS {run['rss_peak_mib']:.0f} "
                f"MiB, errors {run.get('errors') or 'none'}")
            for table in TABLES:
                if table not in after:
                    continue
                rows0, size0 = before.get(table, (0, 0))
                rows1, size1 = after[table]
                per_sku = (size1 - size0) / data["active_skus"]
                say(f"  {table:<20} rows {rows1:>10,} (+{rows1 - rows0:,})  "
                    f"{size1 / 2**20:8.1f} MiB (+{(size1 - size0) / 2**20:.1f} MiB, "
                    f"{per_sku:,.0f} bytes per active SKU unit)")
            before = after
    return 0


if __name__ == "__main__":
    sys.exit(main())
