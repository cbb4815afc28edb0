"""Planning at scale: demand → supply → proposals → risk → health end to end, at N and 2N SKU units.

Run from the repository root (about 5-6 minutes on 2 shared vCPUs with the defaults)::

    .venv/bin/python bench/planning_scale.py [--skus 50000] [--days 180] [--repeat 3]
            [--budget 360] [--history-days 30] [--what-if auto|always|never]
            [--profile auto|always|never]

What it does, in one run, so that the two sizes compare like with like:

1. Starts its own embedded PostgreSQL (durable settings, as in production) in a temporary folder
   on a free port, creates one database per size, runs the Alembic migrations.
2. Generates both data sets at once with set-based SQL (``generate_series``,
   ``INSERT … SELECT``, ``setseed`` for determinism; not timed): N SKU units = N/50 articles ×
   10 colours × 5 sizes, a 60-colour palette with shared Pantone codes, a 4-pack and a 6-pack
   recipe per article, WB barcodes for every SKU unit and every bundle size, global and
   per-article planning settings (some articles inactive or overridden), ``orders_daily`` for
   ``--days`` days (WB singles and bundles, a few MoySklad orders; most SKUs sparse, some fast),
   WB stock per barcode and warehouse (plus WB's pseudo-warehouse rows), own stock per SKU unit,
   ``stock_balance``, open and closed purchase orders, and ``--history-days`` days of
   ``stock_history`` (what earlier daily runs of ``supply`` would have recorded). Then
   ``VACUUM ANALYZE`` and a ``CHECKPOINT``.
3. Timed, in a FRESH child Python process per repetition: one ``dg.materialize`` of the planning
   assets (demand, supply, planning_proposals, bundle_risk, planning_health) with the blocking
   checks, on ``dg.DagsterInstance.ephemeral()``, the in-process executor. "End to end" runs
   from creating the instance to ``materialize`` returning (instance, plan, resources, every
   step, the event log); the child's imports are reported apart. The child also reports its peak
   RSS (``getrusage(RUSAGE_SELF).ru_maxrss``): the pipeline's process only, not PostgreSQL's
   backends, and not the data generation, which runs in the parent. Per step, the run's own
   STEP_START/STEP_SUCCESS timestamps give its wall time, split into SQL (SQLAlchemy
   executions, results fetched), bulk writes (``copy_rows``: plain COPY, minus the time spent
   computing the rows it streams; ``bulk_upsert``: COPY + INSERT … ON CONFLICT) and
   the rest (Python: per-SKU maths, row building, Dagster).
   Before every repetition the planning outputs are emptied (and today's ``stock_history`` rows
   removed), so every repetition does the same work. N and 2N alternate. A size whose run fails
   is not repeated, and 2N is skipped when N failed. Repetitions stop early to keep the whole
   run within ``--budget`` seconds.
4. Prints a table per size (medians over the repetitions, min..max), a per-step table with the
   2N/N ratio of every step, t(2N)/t(N), and PASS/FAIL against the targets: N end to end ≤ 15 s,
   t(2N)/t(N) ≤ 2.2, peak RSS ≤ 1 GiB at N. It never asserts on timings.
5. What-if (``--what-if auto``: when the shipped code fails or misses 15 s and a known blocker
   is still in the code): the same timed runs with two fixes patched into the child at run time
   (no file changes): the supply check's quadratic ``as_of_mismatch`` and supply's
   ``stock_history`` write, which binds 3 parameters per SKU unit and fails above 21 845 active
   SKU units (PostgreSQL allows 65 535 per statement). Labelled "what-if", never the verdict on
   the shipped code. A patch whose fix has landed is skipped.
6. When N misses 15 s: cProfile of the planning_proposals step alone (``selection=[...]`` on the
   data the last run left), top 20 by cumulative and top 15 by own time, and the same for the
   slowest other asset step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

TARGET_SECONDS = 15.0
TARGET_RATIO = 2.2
TARGET_RSS_MIB = 1024.0
COLORS_PER_ARTICLE = 10
SIZES = (("XS", 1), ("S", 2), ("M", 3), ("L", 4), ("XL", 5))
SKUS_PER_ARTICLE = COLORS_PER_ARTICLE * len(SIZES)
PALETTE = 60
#: The steps in the order they are printed; anything else Dagster runs goes under "checks".
ASSET_STEPS = ("demand", "supply", "planning_proposals", "bundle_risk", "planning_health")
SHORT = {"demand": "demand", "supply": "supply", "planning_proposals": "proposals",
         "bundle_risk": "bundle_risk", "planning_health": "health", "checks": "checks"}
#: Planning outputs, emptied before every timed repetition.
OUTPUT_TABLES = ("demand", "demand_barcode", "supply", "planning_proposals", "bundle_risk",
                 "planning_health")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the data set: set-based SQL only -----------------------------------------------------------
def _colour(a: str, c: str) -> str:
    """The palette colour of an article's c-th colour (10 distinct consecutive ones mod 60)."""
    return f"((({a}) * 7 + ({c}) - 1) % {PALETTE}) + 1"


def generation_sql(articles: int, days: int, history_days: int) -> list[tuple[str, str]]:
    """(label, statement) pairs; ``:as_of`` is bound by the caller. Runs after ``setseed``."""
    A = articles
    sizes = ", ".join(f"({i}, '{label}', {order})" for i, (label, order) in enumerate(SIZES, 1))
    return [
        ("size", f"INSERT INTO supplybrain.size (id, label, sort_order) VALUES {sizes}"),
        # 60 colours; colour i and i + 45 share a Pantone code, every 15th has none.
        ("color", f"""
            INSERT INTO supplybrain.color (id, inner_code, pantone_code, description)
            SELECT i, 'C' || lpad(i::text, 3, '0'),
                   CASE WHEN i % 15 = 0 THEN NULL
                        ELSE format('%s-%s TCX', 11 + (i % 45) % 8, 1000 + (i % 45) * 97) END,
                   'colour ' || i
            FROM generate_series(1, {PALETTE}) i"""),
        ("article", f"""
            INSERT INTO supplybrain.article (id, code, name)
            SELECT a, 'ART-' || lpad(a::text, 6, '0'), 'Article ' || a
            FROM generate_series(1, {A}) a"""),
        ("sku_unit", f"""
            INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id)
            SELECT (a - 1) * {SKUS_PER_ARTICLE} + (c - 1) * {len(SIZES)} + s, a,
                   {_colour('a', 'c')}, s
            FROM generate_series(1, {A}) a, generate_series(1, {COLORS_PER_ARTICLE}) c,
                 generate_series(1, {len(SIZES)}) s"""),
        ("bundle_type", """
            INSERT INTO supplybrain.bundle_type (id, code, name, is_assorti)
            VALUES (1, 'PACK4', '4-pack', false), (2, 'PACK6', '6-pack', false)"""),
        # 4-pack: the article's colours 1-4; 6-pack: colours 3-8 (two colours in both).
        ("bundle_recipe", f"""
            INSERT INTO supplybrain.bundle_recipe (article_id, bundle_type_id, color_id, position)
            SELECT a, 1, {_colour('a', 'c')}, c
            FROM generate_series(1, {A}) a, generate_series(1, 4) c
            UNION ALL
            SELECT a, 2, {_colour('a', 'c + 2')}, c
            FROM generate_series(1, {A}) a, generate_series(1, 6) c"""),
        # A WB barcode per SKU unit (single piece) and per article × bundle type × size.
        ("article_wb_mapping", f"""
            INSERT INTO supplybrain.article_wb_mapping (article_id, wb_sku, bundle_type_id,
                                                        color_id, size_id)
            SELECT article_id, (2000000000000 + id)::text, NULL, color_id, size_id
            FROM supplybrain.sku_unit
            UNION ALL
            SELECT a, (2100000000000 + a * 10 + (bt - 1) * 5 + (s - 1))::text, bt, NULL, s
            FROM generate_series(1, {A}) a, generate_series(1, 2) bt,
                 generate_series(1, {len(SIZES)}) s"""),
        ("global_planning_settings", """
            INSERT INTO supplybrain.global_planning_settings
                (default_target_coverage_days, default_lead_time_days,
                 default_service_level_percent, default_fabric_min_batch_qty,
                 default_elastic_min_batch_qty)
            VALUES (60, 70, 90, 7000, 3000)"""),
        # ~3 % of articles switched off in the legacy portfolio.
        ("planning_settings", f"""
            INSERT INTO supplybrain.planning_settings (article_id, is_active, min_fabric_batch,
                min_elastic_batch, alert_threshold_days, safety_stock_days, strictness)
            SELECT a, a % 37 <> 0, 7000, 3000, 14, 7, 1.0 FROM generate_series(1, {A}) a"""),
        # Every 5th article overrides coverage/lead/service; every 10th packs by 10; a few are
        # excluded from planning.
        ("article_planning_settings", f"""
            INSERT INTO supplybrain.article_planning_settings (article_id, include_in_planning,
                target_coverage_days, lead_time_days, service_level_percent, pack_multiple)
            SELECT a, a % 85 <> 0, 45, 60, 95, CASE WHEN a % 10 = 0 THEN 10 END
            FROM generate_series(5, {A}, 5) a"""),
        ("color_planning_settings", f"""
            INSERT INTO supplybrain.color_planning_settings (article_id, color_id,
                                                             fabric_min_batch_qty)
            SELECT a, {_colour('a', '1')}, 9000 FROM generate_series(4, {A}, 4) a"""),
        ("production_order_size_weight_settings", f"""
            INSERT INTO supplybrain.production_order_size_weight_settings (article_id, size_id,
                                                                           weight)
            SELECT a, s, (ARRAY[0.1, 0.2, 0.3, 0.25, 0.15])[s]
            FROM generate_series(3, {A}, 3) a, generate_series(1, {len(SIZES)}) s"""),
        ("warehouse", """
            INSERT INTO supplybrain.warehouse (id, code, name, type)
            VALUES (1, 'NSK', 'Novosibirsk', 'internal'), (2, 'FF-MSK', 'Fulfilment', 'external')
        """),
        ("stock_balance", """
            INSERT INTO supplybrain.stock_balance (sku_unit_id, warehouse_id, quantity)
            SELECT id, 1, floor(random() * 200)::int FROM supplybrain.sku_unit
            UNION ALL
            SELECT id, 2, floor(random() * 50)::int FROM supplybrain.sku_unit WHERE id % 4 = 0
        """),
        # WB stock: each barcode in about half of four WB warehouses, plus WB's pseudo-warehouse
        # total row (which supply must skip); own (MoySklad) stock for 85 % of SKU units (the
        # rest fall back to stock_balance).
        ("stock", """
            INSERT INTO supplybrain.stock (channel, account_id, location, item_key, barcode,
                article_id, bundle_type_id, color_id, size_id, sku_unit_id, quantity,
                in_transit_to_client, in_transit_from_client, as_of)
            SELECT 'wb', 1, w.name, m.wb_sku, m.wb_sku, m.article_id, m.bundle_type_id,
                   m.color_id, m.size_id, su.id, floor(random() * 40), floor(random() * 3),
                   floor(random() * 2), now()
            FROM supplybrain.article_wb_mapping m
            LEFT JOIN supplybrain.sku_unit su ON m.bundle_type_id IS NULL
                 AND su.article_id = m.article_id AND su.color_id = m.color_id
                 AND su.size_id = m.size_id
            CROSS JOIN (VALUES ('Коледино'), ('Электросталь'), ('Казань'),
                               ('Краснодар')) w(name)
            WHERE random() < 0.5
            UNION ALL
            SELECT 'wb', 1, 'Всего находится на складах', m.wb_sku, m.wb_sku, m.article_id,
                   m.bundle_type_id, m.color_id, m.size_id, NULL, 100, 0, 0, now()
            FROM supplybrain.article_wb_mapping m
            UNION ALL
            SELECT 'own', 1, 'ms-store-1', 'ms-' || su.id, NULL, su.article_id, NULL,
                   su.color_id, su.size_id, su.id, floor(random() * 300) - 5, 0, 0, now()
            FROM supplybrain.sku_unit su WHERE random() < 0.85"""),
        # One purchase order per two articles' worth: 35 % approved, 35 % ordered (open), the
        # rest draft/received/cancelled; ETAs from 20 days ago to 130 days ahead.
        ("purchase_order", f"""
            INSERT INTO supplybrain.purchase_order (id, status, target_date, external_ref)
            SELECT i, CASE WHEN r < 0.35 THEN 'approved' WHEN r < 0.70 THEN 'ordered'
                           WHEN r < 0.80 THEN 'draft' WHEN r < 0.95 THEN 'received'
                           ELSE 'cancelled' END,
                   CAST(:as_of AS date) + (floor(random() * 150) - 20)::int, 'PO-' || i
            FROM (SELECT i, random() AS r FROM generate_series(1, {max(A // 2, 1)}) i) p"""),
        ("purchase_order_item", f"""
            INSERT INTO supplybrain.purchase_order_item (purchase_order_id, article_id,
                                                         color_id, size_id, quantity)
            SELECT p.id, su.article_id, su.color_id, su.size_id, 50 + floor(random() * 450)
            FROM supplybrain.purchase_order p
            JOIN supplybrain.sku_unit su ON su.article_id = ((p.id * 7919) % {A}) + 1
            WHERE random() < 0.6"""),
        # Orders: per WB barcode a daily probability p of an order (singles: 5 % fast at 0.7,
        # 20 % medium at 0.2, 60 % sparse at 0.03, 15 % dead; bundles: 30 % at 0.3, the rest
        # at 0.05; MoySklad orders for every 10th SKU unit at 0.05). Rather than a coin per
        # item and day (11M+ coins at 50k), each item draws -days*ln(1-p) days with
        # replacement, slightly favouring recent days; the distinct days average days*p.
        # 1-6 units a day for fast singles, 1-2 otherwise; ~12 % of order days have one
        # cancelled unit.
        ("orders_daily", f"""
            WITH items AS (
                SELECT m.wb_sku, m.article_id, m.bundle_type_id, m.color_id, m.size_id,
                       su.id AS sku_unit_id,
                       CASE WHEN m.bundle_type_id IS NULL THEN
                                CASE WHEN m.r < 0.05 THEN 0.7 WHEN m.r < 0.25 THEN 0.2
                                     WHEN m.r < 0.85 THEN 0.03 ELSE 0 END
                            ELSE CASE WHEN m.r < 0.3 THEN 0.3 ELSE 0.05 END END AS p,
                       CASE WHEN m.bundle_type_id IS NULL AND m.r < 0.05 THEN 6 ELSE 2 END
                           AS max_units,
                       (400 + (m.article_id % 20) * 50)
                           * CASE WHEN m.bundle_type_id IS NULL THEN 1
                                  ELSE 2 + m.bundle_type_id END AS price
                FROM (SELECT *, random() AS r FROM supplybrain.article_wb_mapping) m
                LEFT JOIN supplybrain.sku_unit su ON m.bundle_type_id IS NULL
                     AND su.article_id = m.article_id AND su.color_id = m.color_id
                     AND su.size_id = m.size_id
                UNION ALL
                SELECT 'ms-' || su.id, su.article_id, NULL, su.color_id, su.size_id, su.id,
                       0.05, 2, 450
                FROM supplybrain.sku_unit su WHERE su.id % 10 = 3
            ),
            draws AS (
                SELECT i.*, floor({days} * power(random(), 1.1))::int AS ago
                FROM items i
                CROSS JOIN LATERAL generate_series(
                    1, floor(-{days} * ln(1 - i.p) + random())::int) k
            ),
            days AS (SELECT DISTINCT ON (wb_sku, ago) * FROM draws ORDER BY wb_sku, ago),
            hits AS (
                SELECT d.*, 1 + floor(random() * d.max_units) AS ordered,
                       CASE WHEN random() < 0.12 THEN 1 ELSE 0 END AS cancelled
                FROM days d
            )
            INSERT INTO supplybrain.orders_daily (day, channel, account_id, item_key, article_id,
                bundle_type_id, color_id, size_id, sku_unit_id, units_ordered, units_cancelled,
                units_net, revenue)
            SELECT CAST(:as_of AS date) - ago,
                   CASE WHEN wb_sku LIKE 'ms-%' THEN 'moysklad' ELSE 'wb' END, 1, wb_sku,
                   article_id, bundle_type_id, color_id, size_id, sku_unit_id, ordered,
                   cancelled, ordered - cancelled, (ordered - cancelled) * price
            FROM hits"""),
        # What earlier daily supply runs recorded: ~10 % of SKU-days out of stock.
        ("stock_history", f"""
            INSERT INTO supplybrain.stock_history (day, sku_unit_id, available)
            SELECT CAST(:as_of AS date) - g, su.id,
                   CASE WHEN random() < 0.1 THEN 0 ELSE 1 + floor(random() * 100) END
            FROM supplybrain.sku_unit su CROSS JOIN generate_series(1, {history_days}) g
            WHERE {history_days} > 0"""),
    ]


SEQUENCED = ("size", "color", "article", "sku_unit", "bundle_type", "warehouse",
             "purchase_order")


def generate(url_text: str, skus: int, days: int, history_days: int, as_of: date,
             seed: float) -> dict:
    """Fill a migrated, empty database; returns row counts and the seconds it took."""
    import psycopg

    from supplybrain_pipelines.assets.planning._common import ACTIVE_SKUS

    articles = max(skus // SKUS_PER_ARTICLE, 1)
    started = time.perf_counter()
    counts: dict[str, int] = {}
    conninfo = url_text.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET work_mem = '256MB'")  # the orders' DISTINCT sorts in memory
        conn.execute("SELECT setseed(%s)", (seed,))
        for table, statement in generation_sql(articles, days, history_days):
            sql = statement.replace("%", "%%").replace(":as_of", "%(as_of)s")
            cur = conn.execute(sql, {"as_of": as_of})
            counts[table] = counts.get(table, 0) + cur.rowcount
        for table in SEQUENCED:  # explicit ids above: move the sequences past them
            conn.execute(f"SELECT setval(pg_get_serial_sequence('supplybrain.{table}', 'id'), "
                         f"(SELECT max(id) FROM supplybrain.{table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
        active = conn.execute(f"SELECT count(*) FROM ({ACTIVE_SKUS}) a").fetchone()[0]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {"articles": articles, "counts": counts, "active_skus": active,
            "seconds": time.perf_counter() - started, "db_mib": size / 2**20}


def reset_outputs(url_text: str, as_of: date) -> None:
    """Empty the planning outputs and today's stock_history row, then CHECKPOINT."""
    import psycopg

    conninfo = url_text.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(f"supplybrain.{t}" for t in OUTPUT_TABLES))
        conn.execute("DELETE FROM supplybrain.stock_history WHERE day = %s", (as_of,))
        conn.execute("CHECKPOINT")


# -- "what if": the two known blockers, patched in the child at run time (no file is changed) ----
#: supply_is_sound's as_of_mismatch as shipped: a semi join on ``<>``, which PostgreSQL can only
#: run as a nested loop, so it compares every supply row with every demand row (quadratic).
QUADRATIC_MISMATCH = """  (SELECT count(*) FROM supplybrain.supply s
   WHERE EXISTS (SELECT 1 FROM supplybrain.demand d WHERE d.as_of <> s.as_of)) AS as_of_mismatch"""
#: The same count in one pass: some demand row differs from s.as_of iff min or max differs
#: (demand.as_of is NOT NULL; an empty demand gives NULLs and counts nothing, as EXISTS does).
LINEAR_MISMATCH = """  (SELECT count(*) FROM supplybrain.supply s,
          (SELECT min(as_of) AS lo, max(as_of) AS hi FROM supplybrain.demand) d
   WHERE s.as_of <> d.lo OR s.as_of <> d.hi) AS as_of_mismatch"""
#: supply's stock_history write as one statement from the supply rows it just wrote (the same
#: rows: day = as_of, available = on_hand), instead of a multi-row VALUES with 3 binds per SKU.
HISTORY_FROM_SUPPLY = """
INSERT INTO supplybrain.stock_history (day, sku_unit_id, available)
SELECT as_of, sku_unit_id, on_hand FROM supplybrain.supply
ON CONFLICT (day, sku_unit_id) DO UPDATE SET available = EXCLUDED.available
"""
WHAT_IF = {
    "check": "supply_is_sound: as_of_mismatch from min/max(demand.as_of), not a <> semi join",
    "history": "supply: stock_history by INSERT ... SELECT FROM supply, not VALUES with "
               "3 binds per SKU unit",
}


def what_if_needed() -> list[str]:
    """The blockers still in the code (a fix that has landed is left alone)."""
    import importlib
    import inspect

    import supplybrain_pipelines.checks as checks

    needed = []
    if QUADRATIC_MISMATCH in checks.SUPPLY_CHECK:
        needed.append("check")
    supply_mod = importlib.import_module("supplybrain_pipelines.assets.planning.supply")
    if "insert(t.stock_history).values(" in inspect.getsource(supply_mod):
        needed.append("history")
    return needed


def apply_what_if() -> list[str]:
    """Patch the blockers still in the code, in this process; returns the ones applied."""
    import importlib

    import sqlalchemy as sa

    import supplybrain_pipelines.checks as checks

    needed = what_if_needed()
    if "check" in needed:
        checks.SUPPLY_CHECK = checks.SUPPLY_CHECK.replace(QUADRATIC_MISMATCH, LINEAR_MISMATCH)
    if "history" in needed:
        supply_mod = importlib.import_module("supplybrain_pipelines.assets.planning.supply")

        class HistoryFromSupply:
            """Stands in for ``insert`` in supply.py: ``insert(t.stock_history).values(rows)
            .on_conflict_do_update(...)`` becomes :data:`HISTORY_FROM_SUPPLY`."""

            excluded = type("Excluded", (), {"available": None})()

            def __init__(self, table) -> None:
                pass

            def values(self, rows) -> HistoryFromSupply:
                return self

            def on_conflict_do_update(self, **kwargs) -> sa.TextClause:
                return sa.text(HISTORY_FROM_SUPPLY)

        supply_mod.insert = HistoryFromSupply
    return needed


# -- the child: one timed materialize (or one profiled step) ------------------------------------
def child(url_text: str, as_of: str, profile_step: str | None, what_if: bool) -> None:
    """Runs in a fresh interpreter; the last stdout line is a JSON object."""
    import_start = time.perf_counter()
    import cProfile
    import importlib
    import io
    import pstats

    import dagster as dg
    import sqlalchemy as sa

    from supplybrain_pipelines.assets.planning import PLANNING_ASSETS
    from supplybrain_pipelines.checks import CHECKS
    from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
    import_s = time.perf_counter() - import_start
    rss_imports = _rss_mib()
    applied = apply_what_if() if what_if else []

    # Wall-clock intervals of SQL executions and bulk writes, bucketed into steps afterwards by
    # the steps' own start/end timestamps (the in-process executor runs one step at a time).
    intervals: list[tuple[str, float, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("_bench_t0", []).append(time.time())

    def after(conn, cursor, statement, parameters, context, executemany):
        t0 = conn.info["_bench_t0"].pop()
        intervals.append(("sql", t0, time.time()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", before)
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", after)

    def timed_bulk(fn):
        def wrapper(*args, **kwargs):
            t0 = time.time()
            try:
                return fn(*args, **kwargs)
            finally:
                intervals.append(("bulk", t0, time.time()))
        return wrapper

    def timed_copy(fn):
        """``copy_rows`` streams rows from a generator that computes them, so the time spent
        inside the generator is Python, not the write: it is taken off the interval's end."""
        def wrapper(conn, table, columns, rows):
            producing = 0.0

            def timed_rows():
                nonlocal producing
                source = iter(rows)
                while True:
                    t0 = time.perf_counter()
                    try:
                        row = next(source)
                    except StopIteration:
                        producing += time.perf_counter() - t0
                        return
                    producing += time.perf_counter() - t0
                    yield row

            t0 = time.time()
            try:
                return fn(conn, table, columns, timed_rows())
            finally:
                intervals.append(("bulk", t0, max(t0, time.time() - producing)))
        return wrapper

    # The package re-exports the assets under the modules' names: take the modules themselves.
    for name in ("demand", "supply", "proposals", "risk"):
        module = importlib.import_module(f"supplybrain_pipelines.assets.planning.{name}")
        if hasattr(module, "bulk_upsert"):
            module.bulk_upsert = timed_bulk(module.bulk_upsert)
        if hasattr(module, "copy_rows"):
            module.copy_rows = timed_copy(module.copy_rows)

    resources = {"warehouse": PostgresWarehouse(database_url=url_text)}
    out: dict = {"import_s": import_s, "rss_imports_mib": rss_imports, "what_if": applied}
    if profile_step:
        instance = dg.DagsterInstance.ephemeral()
        config = ({"ops": {profile_step: {"config": {"as_of": as_of}}}}
                  if profile_step in ("demand", "supply") else None)
        profiler = cProfile.Profile()
        profiler.enable()
        result = dg.materialize([*PLANNING_ASSETS, *CHECKS], instance=instance,
                                run_config=config, resources=resources,
                                selection=[profile_step], raise_on_error=False)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=io.StringIO())
        total = max(stats.total_tt, 1e-9)
        # Dagster's own frames (the executor and generator glue around the step) would fill
        # the cumulative list; they are left out, the step's code and its libraries stay.
        glue = ("/dagster/", "/dagster_shared/", "/contextlib.py", "/threading.py")

        def table(order: str, limit: int) -> list[str]:
            stats.sort_stats(order)
            lines = [f"{'ncalls':>15} {'tottime':>8} {'cumtime':>8} {'cum %':>6}  function"]
            for func in stats.fcn_list:
                filename, lineno, name = func
                if any(g in filename for g in glue) or name in (
                        "<built-in method builtins.next>", "<built-in method builtins.exec>"):
                    continue
                cc, nc, tt, ct, _callers = stats.stats[func]
                calls = f"{nc}/{cc}" if nc != cc else str(nc)
                where = name if filename == "~" else f"{filename}:{lineno}({name})"
                lines.append(f"{calls:>15} {tt:8.3f} {ct:8.3f} {ct / total:6.1%}  {where}")
                if len(lines) > limit:
                    break
            return lines

        out.update(success=result.success, profile_total_s=total,
                   cumulative=table("cumulative", 20), own=table("tottime", 15))
        print(json.dumps(out), flush=True)
        return

    run_config = {"ops": {"demand": {"config": {"as_of": as_of}},
                          "supply": {"config": {"as_of": as_of}}}}
    start = time.perf_counter()
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([*PLANNING_ASSETS, *CHECKS], instance=instance,
                            run_config=run_config, resources=resources, raise_on_error=False)
    seconds = time.perf_counter() - start

    steps: dict[str, dict] = {}
    errors: list[str] = []
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        step = steps.setdefault(event.step_key, {})
        kind = event.event_type_value
        if kind == "STEP_START":
            step["start"] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            step["end"] = entry.timestamp
            step["status"] = kind
            if kind == "STEP_FAILURE":
                err = event.step_failure_data.error
                while err is not None and err.cause is not None:
                    err = err.cause
                message = (err.message if err is not None else "unknown error").strip()
                errors.append(f"{event.step_key}: {message.split(chr(10) + '[SQL:')[0][:300]}")
        elif kind == "STEP_SKIPPED":
            step["status"] = kind
    for step in steps.values():
        if "start" in step and "end" in step:
            step["seconds"] = step["end"] - step["start"]
            for kind in ("sql", "bulk"):
                step[kind] = sum(max(0.0, min(t1, step["end"]) - max(t0, step["start"]))
                                 for k, t0, t1 in intervals if k == kind)
        step.pop("start", None)
        step.pop("end", None)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    out.update(success=result.success, seconds=seconds, rss_peak_mib=_rss_mib(), steps=steps,
               errors=errors, checks=checks)
    print(json.dumps(out), flush=True)


# -- the parent ---------------------------------------------------------------------------------
def run_child(url_text: str, as_of: date, *, what_if: bool = False,
              profile_step: str | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", url_text,
           "--as-of", as_of.isoformat()]
    if what_if:
        cmd.append("--what-if-child")
    if profile_step:
        cmd += ["--profile-step", profile_step]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path.cwd(),
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-25:])
        raise RuntimeError(f"child exited {proc.returncode}:\n{tail}")
    return json.loads(lines[-1])


def _step_groups(steps: dict) -> dict[str, dict]:
    """Per asset step, with the checks' steps summed under "checks"."""
    groups: dict[str, dict] = {}
    for key, step in steps.items():
        name = key if key in ASSET_STEPS else "checks"
        g = groups.setdefault(name, {"seconds": 0.0, "sql": 0.0, "bulk": 0.0, "ran": False})
        for field in ("seconds", "sql", "bulk"):
            g[field] += step.get(field, 0.0)
        g["ran"] = g["ran"] or "seconds" in step
    return groups


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _span(values: list[float]) -> str:
    return f"{min(values):.1f}..{max(values):.1f}" if values else "-"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Phase:
    """The timed repetitions of one variant (the shipped code, or the what-if patches)."""

    def __init__(self, name: str, what_if: bool, sizes: dict[str, int]) -> None:
        self.name = name
        self.what_if = what_if
        self.sizes = sizes
        self.runs: dict[str, list[dict]] = {label: [] for label in sizes}

    def ok_runs(self, label: str) -> list[dict]:
        return [r for r in self.runs[label] if r["success"]]

    def failed(self, label: str) -> bool:
        return any(not r["success"] for r in self.runs[label])

    def median(self, label: str) -> float:
        return _med([r["seconds"] for r in self.ok_runs(label)])


def run_phase(phase: Phase, urls: dict[str, str], as_of: date, repeat: int, deadline: float,
              reserve_s: float) -> None:
    """Up to ``repeat`` repetitions, N and 2N alternating, each in a fresh child. A size whose
    run failed is not repeated (the failure is deterministic). Stops early when the next
    repetition would end after ``deadline`` minus ``reserve_s``."""
    for rep in range(1, repeat + 1):
        rep_start = time.perf_counter()
        ran = False
        for label in phase.sizes:
            if phase.failed(label):
                continue
            if label != "N" and phase.failed("N"):
                if rep == 1:
                    _say(f"  {phase.name} {label:>2}: not run, N already failed (the targets "
                         "cannot pass)")
                continue
            reset_outputs(urls[label], as_of)
            out = run_child(urls[label], as_of, what_if=phase.what_if)
            phase.runs[label].append(out)
            ran = True
            status = "ok" if out["success"] else "FAILED"
            _say(f"  {phase.name} rep {rep}/{repeat} {label:>2}: {out['seconds']:6.2f} s end to "
                 f"end, peak RSS {out['rss_peak_mib']:5.0f} MiB  ({status})")
            for error in out["errors"]:
                _say(f"      step failure: {error}")
            failed = [k for k, v in out["checks"].items() if not v]
            if failed:
                _say(f"      failed checks: {', '.join(failed)}")
            skipped = [k for k, v in out["steps"].items() if v.get("status") == "STEP_SKIPPED"]
            if skipped:
                _say(f"      skipped steps: {', '.join(skipped)}")
        if not ran:
            break
        took = time.perf_counter() - rep_start
        runnable = not phase.failed("N") and not all(phase.failed(x) for x in phase.sizes)
        if rep < repeat and runnable and time.perf_counter() + took > deadline - reserve_s:
            _say(f"  (stopping after {rep} repetition(s): another one ({took:.0f} s) would "
                 "exceed --budget)")
            break


def report_phase(phase: Phase, data: dict[str, dict], skus: int) -> dict[str, bool]:
    """Print the tables, ratio and verdicts of one phase; returns the verdicts."""
    sizes = [label for label in phase.sizes if phase.runs[label]]
    reps = ", ".join(f"{len(phase.runs[label])} at {label}" for label in phase.sizes)
    _say(f"results [{phase.name}]: median over repetitions ({reps}), each in a fresh child "
         f"process (machine: {os.cpu_count()} vCPU, shared)")
    header = (f"{'size':<4} {'SKU units':>10} {'order rows':>11} {'end-to-end s':>13} "
              f"{'min..max':>11} {'imports s':>9} {'peak RSS MiB':>12} {'after imports':>13}")
    _say(header)
    _say("-" * len(header))
    peaks: dict[str, float] = {}
    for label in phase.sizes:
        runs = phase.runs[label]
        counts = data[label]["counts"]
        head = f"{label:<4} {counts['sku_unit']:>10,} {counts['orders_daily']:>11,}"
        if not runs:
            _say(f"{head} {'not run':>13}")
            continue
        secs = [r["seconds"] for r in phase.ok_runs(label)]
        peaks[label] = max(r["rss_peak_mib"] for r in runs)
        shown = f"{phase.median(label):13.2f}" if secs else f"{'FAILED':>13}"
        _say(f"{head} {shown} {_span(secs):>11} {_med([r['import_s'] for r in runs]):>9.2f} "
             f"{peaks[label]:>12.0f} {_med([r['rss_imports_mib'] for r in runs]):>13.0f}")
        if phase.failed(label):
            first = next(r for r in runs if not r["success"])
            _say(f"     FAILED after {first['seconds']:.2f} s: "
                 f"{first['errors'][0] if first['errors'] else 'a blocking check failed'}")
    _say()
    _say("where the time goes (median seconds per step: total (sql / bulk / py); sql = "
         "SQLAlchemy executions incl. fetch,")
    _say("bulk = COPY writes (copy_rows, bulk_upsert), py = the rest of the step; checks = "
         "both blocking checks; other = end to end minus steps):")
    names = [*ASSET_STEPS, "checks"]
    header = f"{'size':<4} " + " ".join(f"{SHORT[n]:>20}" for n in names) + f" {'other':>6}"
    _say(header)
    _say("-" * len(header))
    totals: dict[str, dict[str, float]] = {label: {} for label in phase.sizes}
    for label in sizes:
        runs = phase.ok_runs(label) or phase.runs[label]
        groups = [_step_groups(r["steps"]) for r in runs]
        cells = []
        for n in names:
            if not any(g.get(n, {}).get("ran") for g in groups):
                cells.append("not run")
                continue
            tot = _med([g.get(n, {}).get("seconds", 0.0) for g in groups])
            sql = _med([g.get(n, {}).get("sql", 0.0) for g in groups])
            bulk = _med([g.get(n, {}).get("bulk", 0.0) for g in groups])
            totals[label][n] = tot
            flag = "!" if any(n in _failed_steps(r) for r in runs) else " "
            py = max(tot - sql - bulk, 0.0)
            cells.append(f"{tot:6.2f}{flag}({sql:4.1f}/{bulk:4.1f}/{py:4.1f})")
        other = _med([r["seconds"] - sum(g["seconds"] for g in _step_groups(r["steps"]).values())
                      for r in runs])
        _say(f"{label:<4} " + " ".join(f"{c:>20}" for c in cells) + f" {other:>6.2f}")
    if len(sizes) == 2:
        ratios = [f"{totals['2N'][n] / totals['N'][n]:.2f}x"
                  if totals["N"].get(n) and n in totals["2N"] else "-" for n in names]
        _say(f"{'2N/N':<4} " + " ".join(f"{c:>20}" for c in ratios))
    if any(phase.failed(label) for label in sizes):
        _say("     ! = the step failed (its time is up to the failure)")
    _say()

    complete = len(sizes) == 2 and not any(phase.failed(label) for label in sizes)
    ratio = phase.median("2N") / phase.median("N") if complete else float("nan")
    if complete:
        paired = [b["seconds"] / a["seconds"]
                  for a, b in zip(phase.runs["N"], phase.runs["2N"], strict=False)]
        _say(f"t(2N)/t(N) = {ratio:.2f}x (ratio of medians); per repetition: "
             f"[{', '.join(f'{x:.2f}' for x in paired)}]")
    else:
        _say("t(2N)/t(N) = n/a (a size did not complete)")
    _say()
    n_done = bool(phase.runs["N"]) and not phase.failed("N")
    t_ok = n_done and phase.median("N") <= TARGET_SECONDS
    r_ok = complete and ratio <= TARGET_RATIO
    m_ok = n_done and peaks["N"] <= TARGET_RSS_MIB
    t_text = f"{phase.median('N'):.2f} s" if n_done else "did not complete"
    at_2n = f"; at 2N {peaks['2N']:.0f} MiB" if "2N" in peaks else ""
    m_text = (f"{peaks['N']:.0f} MiB{at_2n}" if n_done else
              f"did not complete; {peaks['N']:.0f} MiB up to the failure{at_2n}")
    _say(f"[{phase.name}] target N={skus:,} end to end <= {TARGET_SECONDS:.0f} s : "
         f"{verdict(t_ok)} ({t_text})")
    _say(f"[{phase.name}] target t(2N)/t(N) <= {TARGET_RATIO}x          : {verdict(r_ok)} "
         f"({f'{ratio:.2f}x' if complete else 'n/a'})")
    _say(f"[{phase.name}] target peak RSS <= 1 GiB at N        : {verdict(m_ok)} ({m_text})")
    _say("  (peak RSS = max ru_maxrss of the pipeline's Python process; PostgreSQL's backends "
         "are not counted)")
    _say()
    return {"time": t_ok, "ratio": r_ok, "memory": m_ok}


def _failed_steps(run: dict) -> set[str]:
    return {k for k, v in run["steps"].items() if v.get("status") == "STEP_FAILURE"}


def explain_quadratic_check(url_text: str) -> list[str]:
    """The plan nodes of the shipped supply check that compare every row with every row."""
    import psycopg

    from supplybrain_pipelines.checks import SUPPLY_CHECK

    conninfo = url_text.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        plan = [r[0] for r in conn.execute("EXPLAIN " + SUPPLY_CHECK)]
    keep = [i for i, line in enumerate(plan) if "Nested Loop Semi Join" in line]
    lines: list[str] = []
    for i in keep:
        lines += [line.rstrip() for line in plan[i:i + 6]]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=50_000, help="SKU units at size N")
    parser.add_argument("--days", type=int, default=180, help="days of orders_daily")
    parser.add_argument("--history-days", type=int, default=30,
                        help="days of stock_history before the as-of date (earlier runs)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed repetitions per size and variant (at most; see --budget)")
    parser.add_argument("--budget", type=float, default=360,
                        help="seconds for the whole run: repetitions stop early to fit")
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() value in [-1, 1]")
    parser.add_argument("--what-if", choices=("auto", "always", "never"), default="auto",
                        help="also time the code with the two known blockers patched at run "
                        "time (auto: when the shipped code fails or misses 15 s)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="cProfile the proposals step (auto: when N misses 15 s)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--profile-step", help=argparse.SUPPRESS)
    parser.add_argument("--what-if-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.as_of, args.profile_step, args.what_if_child)
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    import dagster as dg
    import psycopg
    import sqlalchemy as sa

    from supplybrain_pipelines.db.migrate import upgrade
    from supplybrain_pipelines.devstack.embedded import EmbeddedPostgres, free_port

    started = time.perf_counter()
    deadline = started + args.budget
    as_of = datetime.now(UTC).date()
    _say(f"planning_scale  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
         f"python {platform.python_version()}  dagster {dg.__version__}  "
         f"sqlalchemy {sa.__version__}  psycopg {psycopg.__version__}  cpus {os.cpu_count()}  "
         f"load {os.getloadavg()[0]:.1f}")
    sizes = {"N": args.skus, "2N": 2 * args.skus}
    root = Path(tempfile.mkdtemp(prefix="supplybrain-bench-pg-"))
    server = EmbeddedPostgres(root / "data", free_port(), fast_unsafe=False)
    try:
        server.start()
        urls: dict[str, str] = {}
        for label in sizes:
            db = f"supplybrain_bench_{label.lower()}"
            server.ensure_database(db)
            url = server.url(db)
            upgrade(url)
            urls[label] = url.render_as_string(hide_password=False)
        with psycopg.connect(urls["N"].replace("postgresql+psycopg://", "postgresql://")) as c:
            pg_version = c.execute("SHOW server_version").fetchone()[0]
        _say(f"PostgreSQL {pg_version} (embedded, fsync on, synchronous_commit on) "
             f"on 127.0.0.1:{server.port}; as-of {as_of}; demand window 30 days; "
             f"in-process executor, ephemeral instance")
        _say()
        _say("data sets (set-based SQL, not timed; both generated at once):")
        with ThreadPoolExecutor(max_workers=len(sizes)) as pool:
            futures = {label: pool.submit(generate, urls[label], skus, args.days,
                                          args.history_days, as_of, args.seed)
                       for label, skus in sizes.items()}
            data = {label: future.result() for label, future in futures.items()}
        for label in sizes:
            d = data[label]
            counts = d["counts"]
            _say(f"  {label:>2}: {d['articles']:,} articles x {COLORS_PER_ARTICLE} colours x "
                 f"{len(SIZES)} sizes = {counts['sku_unit']:,} SKU units "
                 f"({d['active_skus']:,} active), {args.days} days; generated in "
                 f"{d['seconds']:.1f} s, database {d['db_mib']:,.0f} MiB")
            _say("      " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        _say()

        # -- the shipped code ------------------------------------------------------------------
        _say("timed runs:")
        shipped = Phase("shipped code", False, sizes)
        # Keep time for a what-if phase and the profiles when the shipped code fails fast.
        run_phase(shipped, urls, as_of, args.repeat, deadline, reserve_s=150)
        _say()
        verdicts = report_phase(shipped, data, args.skus)
        profile_phase = shipped

        # -- what if the two known blockers were fixed ---------------------------------------
        shipped_bad = (any(shipped.failed(label) for label in sizes) or not verdicts["time"])
        needed = what_if_needed()
        if args.what_if == "always" or (args.what_if == "auto" and shipped_bad and needed):
            what_if = Phase("what-if", True, sizes)
            _say("what-if: the same runs with two fixes patched into the child at run time "
                 "(NOT the shipped code; no file is changed):")
            _say("timed runs:")
            run_phase(what_if, urls, as_of, args.repeat, deadline, reserve_s=60)
            applied = what_if.runs["N"][0]["what_if"]
            for key in ("history", "check"):
                state = "patched" if key in applied else "not needed (already fixed)"
                _say(f"  - {WHAT_IF[key]}: {state}")
            _say()
            report_phase(what_if, data, args.skus)
            if "check" in applied:
                plan = explain_quadratic_check(urls["N"])
                if plan:
                    _say("the shipped supply_is_sound check at N (EXPLAIN; supply and demand "
                         "as the what-if run left them):")
                    for line in plan:
                        _say("  " + line)
                    _say()
            if shipped.failed("N"):
                profile_phase = what_if

        # -- where the proposals step spends its time ----------------------------------------
        n_runs = profile_phase.ok_runs("N")
        n_ok = bool(n_runs) and profile_phase.median("N") <= TARGET_SECONDS
        if n_runs and (args.profile == "always" or (args.profile == "auto" and not n_ok)):
            groups = _step_groups(n_runs[-1]["steps"])
            ranked = sorted((n for n in ASSET_STEPS if groups.get(n, {}).get("ran")),
                            key=lambda n: -groups[n]["seconds"])
            others = [n for n in ranked if n != "planning_proposals"][:1]
            # The last N repetition left demand and supply in place for a step run alone.
            for step in ["planning_proposals", *others]:
                out = run_child(urls["N"], as_of, what_if=profile_phase.what_if,
                                profile_step=step)
                for key, title in (("cumulative", "top 20 by cumulative time"),
                                   ("own", "top 15 by own time")):
                    _say(f"--- cProfile [{profile_phase.name}] of the {step} step alone at N "
                         f"(selection=[{step}]; {out['profile_total_s']:.1f} s under the "
                         f"profiler; Dagster's glue frames hidden), {title} ---")
                    for line in out[key]:
                        _say(line.replace(str(Path.cwd()) + "/", "")
                             .replace(sys.prefix + "/", "").rstrip())
                    _say()
        _say(f"total wall time {time.perf_counter() - started:.0f} s")
        return 0
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
