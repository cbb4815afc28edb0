"""What the markdown previews of planning_proposals and planning_health cost at catalogue scale.

Run from the repository root (under a minute; starts an embedded PostgreSQL of its own)::

    .venv/bin/python bench/planning_preview.py

Two planning runs of 125,000 SKU units (5,000 articles × 5 colours × 5 sizes) and their 5,000
health rows are generated in SQL; then each preview query (``assets/planning/_preview.py``) runs
5 times for the newer run and the median wall time is printed. It never asserts.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.assets.planning._preview import health_preview, proposals_preview
from supplybrain_pipelines.db import migrate
from supplybrain_pipelines.devstack.embedded import ensure_database, start_on_free_port
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

RISKS = "(ARRAY['critical', 'warning', 'ok', 'overstock', 'no_data'])[1 + mod(g, 5)]"
DATA = [
    "INSERT INTO supplybrain.article (id, code) SELECT g, 'A' || g FROM generate_series(1, 5000) g",
    "INSERT INTO supplybrain.color (id, inner_code) SELECT g, 'C' || g "
    "FROM generate_series(1, 5) g",
    "INSERT INTO supplybrain.size (id, label) SELECT g, 'S' || g FROM generate_series(1, 5) g",
    f"""INSERT INTO supplybrain.planning_proposals (run_id, as_of, sku_unit_id, article_id,
        color_id, size_id, demand_rate, sigma_daily, on_hand, on_order_within_lead, position,
        lead_time_days, target_coverage_days, service_level, safety_stock, reorder_point,
        target_level, raw_quantity, recommended_quantity, reason, cover_risk,
        limiting_constraint, explanation)
    SELECT r, '2026-12-01', g, 1 + (g - 1) / 25, 1 + mod(g - 1, 5), 1 + mod((g - 1) / 5, 5),
           1, 1, 1, 1, 1, 70, 60, 0.9, 1, 1, 1, mod(g * 7919, 500), mod(g * 7919, 500), 'r',
           {RISKS}, 'none', '{{}}'::jsonb
    FROM generate_series(1, 125000) g, (VALUES ('old'), ('new')) v(r)""",
    f"""INSERT INTO supplybrain.planning_health (run_id, article_id, as_of, worst_cover_risk,
        sku_units, sku_units_to_produce, total_recommended, dominant_constraint)
    SELECT r, g, '2026-12-01', {RISKS}, 25, mod(g, 25), g, 'none'
    FROM generate_series(1, 5000) g, (VALUES ('old'), ('new')) v(r)""",
    "ANALYZE",
]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="supplybrain-bench-preview-"))
    server = start_on_free_port(root / "data", fast_unsafe=True)
    try:
        ensure_database(server.url(), "bench")
        url = server.url().set(database="bench")
        migrate.upgrade(url)
        engine = sa.create_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            for statement in DATA:
                conn.execute(sa.text(statement))
        engine.dispose()
        warehouse = PostgresWarehouse(database_url=url.render_as_string(hide_password=False))
        for name, preview in (("planning_proposals preview", proposals_preview),
                              ("planning_health preview", health_preview)):
            seconds = []
            for _ in range(5):
                started = time.perf_counter()
                preview(warehouse, "new")
                seconds.append(time.perf_counter() - started)
            print(f"{name}: median {statistics.median(seconds) * 1000:.1f} ms of 5 "
                  "(125,000 proposals and 5,000 health rows a run, 2 runs stored)")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
