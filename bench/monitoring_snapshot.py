"""Monitoring snapshot at scale, and a schedule tick through the real queue and daemon (issue 5).

Run from the repository root (about 5-6 minutes on 2 shared vCPUs with the defaults)::

    .venv/bin/python bench/monitoring_snapshot.py [--orders 10000000] [--days 400] [--repeat 11]
            [--ticks 3] [--no-half] [--explain auto|always|never]

One run prints both targets of issue 5:

1. **Snapshot cost.** An embedded PostgreSQL 18 (durable settings) gets a freshly migrated
   database. ``--orders`` rows go into ``supplybrain.orders`` with ``INSERT … SELECT
   generate_series`` (not timed): ``--days`` days of history up to now with a growing rate (the
   last day has 4/3 of the average), two WB accounts and a MoySklad one, WB singles and bundles
   on skewed barcodes, 1.5 % unmatched, 8 % cancelled. The current tables the snapshot reads are
   filled too: accounts and their ``account_health``, 120 articles with planning settings,
   ``bundle_risk`` for 360 (article, bundle type), ``planning_proposals`` for 6 000 SKU units × 8
   runs, ``stock`` (about 21 000 rows), ``quarantine`` (3 000 rows over the history) and
   ``unmatched_items``. Then ``VACUUM ANALYZE``. Timed, best of ``--repeat``, interleaved and on
   one connection (no prepared statements: every tick runs in a fresh process):
   (a) ``compute_snapshot(conn, window_start, now)``, the full set-based snapshot;
   (b) the bare aggregate over the order rows the snapshot reads (the 8 days before the window);
   (c) for context, the same aggregate over every row.
   It prints a/b (target ≤ 1.5), a/c, the time of each ``queries.read_*`` inside the snapshot
   and, when a/b misses (or ``--explain always``), EXPLAIN ANALYZE of the order queries.
   Unless ``--no-half``, the newest half of the rows is loaded and measured first, then the
   table is truncated and all rows loaded (so the heap is in time order, as ingestion leaves
   it): the same window is timed with 5M and with 10M rows of history.
2. **Tick latency.** A real code server, dagster-daemon and webserver (the run-queue test's
   harness, ``supplybrain_pipelines_tests/run_queue/stack.py``) on the project's dagster.yaml
   (QueuedRunCoordinator, max_concurrent_runs 1), with Dagster's storage in a second database of
   the same server and the application on the 10M-row database. The code location
   (:func:`tick_definitions`) is the project's (assets, checks, jobs, resources) with one
   schedule: ``guarded_schedule`` + ``monitoring_job`` + ``_tick_window`` on a cron of every
   minute, RUNNING. The one change: ``snapshot.is_window_start`` accepts any whole minute
   there, since the asset refuses windows that are not on a quarter hour. For ``--ticks`` ticks
   it prints the time from the scheduled tick to the commit of the snapshot row
   (``pg_xact_commit_timestamp`` of the row, with ``track_commit_timestamp`` on), split into
   scheduler, queue + launch, and run, and the max against the 15 s target.

Every server is started and stopped by this script (loopback only) and its temporary folder
removed. It never asserts on timings.
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

TARGET_RATIO = 1.5
TARGET_TICK_SECONDS = 15.0
TICK_TIMEOUT_SECONDS = 120.0
ARTICLES = 120
SKUS = ARTICLES * 50  # 10 colours × 5 sizes per article
BUNDLE_BARCODES = ARTICLES * 3 * 5  # 4-, 5- and 6-packs in 5 sizes
RUNS = 8  # proposal runs kept (one a day)
BARE = ("SELECT count(*), sum(quantity) FROM supplybrain.orders "
        "WHERE ordered_at >= :ws - interval '8 days' AND ordered_at < :ws")
BARE_ALL = "SELECT count(*), sum(quantity) FROM supplybrain.orders"


def _say(text: str = "") -> None:
    print(text, flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- the data: set-based SQL; :now is bound ------------------------------------------------------
CURRENT_TABLES = [
    ("wb_integration_accounts", """
        INSERT INTO supplybrain.wb_integration_accounts (name, supplier_id, api_token, is_active,
                                                         created_at)
        VALUES ('Maconly WB', '1001', 'bench-token-1', true, :now - interval '400 days'),
               ('Maconly WB 2', '1002', 'bench-token-2', true, :now - interval '200 days'),
               ('old cabinet', '0999', 'bench-token-0', false, :now - interval '600 days')"""),
    ("moysklad_integration_accounts", """
        INSERT INTO supplybrain.moysklad_integration_accounts (name, account_id, api_token,
                                                               is_active, created_at)
        VALUES ('Maconly MoySklad', 'ms-1', 'bench-token-ms', true, :now - interval '400 days')
    """),
    # Every endpoint synced a few minutes ago; one rate-limited twice; tokens expire in 3 months.
    ("account_health", """
        INSERT INTO supplybrain.account_health (account_kind, account_id, endpoint,
            token_expires_at, token_days_left, last_attempt_at, last_success_at,
            consecutive_failures, last_error_class, last_error_at)
        SELECT kind, id, endpoint, :now + interval '90 days', 90, :now - interval '3 minutes',
               :now - (3 + failed * 30) * interval '1 minute', failed,
               CASE WHEN failed > 0 THEN 'rate_limited' END,
               CASE WHEN failed > 0 THEN :now - interval '3 minutes' END
        FROM (SELECT 'wb' AS kind, a.id, e AS endpoint,
                     CASE WHEN a.id = 2 AND e = 'orders' THEN 2 ELSE 0 END AS failed
              FROM supplybrain.wb_integration_accounts a,
                   unnest(ARRAY['orders', 'sales', 'stocks']) e WHERE a.is_active
              UNION ALL
              SELECT 'moysklad', a.id, e, 0 FROM supplybrain.moysklad_integration_accounts a,
                   unnest(ARRAY['customer_orders', 'assortment', 'stock']) e) x"""),
    ("article", f"""
        INSERT INTO supplybrain.article (id, code, name)
        SELECT a, 'ART-' || lpad(a::text, 4, '0'), 'Article ' || a
        FROM generate_series(1, {ARTICLES}) a"""),
    # Every 25th article switched off; every 40th excluded from planning.
    ("planning_settings", f"""
        INSERT INTO supplybrain.planning_settings (article_id, is_active, min_fabric_batch,
            min_elastic_batch, alert_threshold_days, safety_stock_days, strictness)
        SELECT a, a % 25 <> 0, 7000, 3000, 14, 7, 1.0 FROM generate_series(1, {ARTICLES}) a"""),
    ("article_planning_settings", f"""
        INSERT INTO supplybrain.article_planning_settings (article_id, include_in_planning,
                                                           target_coverage_days)
        SELECT a, a % 40 <> 0, 45 FROM generate_series(10, {ARTICLES}, 10) a"""),
    ("bundle_risk", f"""
        INSERT INTO supplybrain.bundle_risk (as_of, article_id, bundle_type_id, wb_ready,
            potential_from_singles, total_available, avg_daily, days_of_cover, safety_days,
            alert_days, overstock_days, risk_level, explanation)
        SELECT CAST(:now AS date), a, bt, ready, pot, ready + pot, avg, cover, 7, 14, 120,
               CASE WHEN avg = 0 THEN 'no_data' WHEN cover < 7 THEN 'critical'
                    WHEN cover < 14 THEN 'warning' WHEN cover > 120 THEN 'overstock'
                    ELSE 'ok' END,
               format('%s ready + %s from singles at %s a day', ready, pot, avg)
        FROM (SELECT a, bt, floor(random() * 80) AS ready, floor(random() * 300) AS pot,
                     CASE WHEN random() < 0.1 THEN 0 ELSE round((random() * 9)::numeric, 2)
                     END::float AS avg
              FROM generate_series(1, {ARTICLES}) a, generate_series(1, 3) bt) r
        CROSS JOIN LATERAL (SELECT CASE WHEN avg > 0 THEN (ready + pot) / avg END AS cover) c"""),
    # One run a day, each with every SKU unit and a ~1 KB explanation.
    ("planning_proposals", f"""
        INSERT INTO supplybrain.planning_proposals (run_id, as_of, computed_at, sku_unit_id,
            article_id, color_id, size_id, demand_rate, sigma_daily, on_hand,
            on_order_within_lead, position, lead_time_days, target_coverage_days,
            service_level, safety_stock, reorder_point, target_level, raw_quantity,
            recommended_quantity, reason, days_of_cover, stockout_date, risk_level,
            limiting_constraint, explanation)
        SELECT 'run-' || d, CAST(:now AS date) - d, :now - d * interval '1 day'
                   - interval '2 hours', s, 1 + (s - 1) / 50, 1 + (s - 1) / 5 % 10,
               1 + (s - 1) % 5, rate, rate * 0.6, on_hand, 0, on_hand, 70, 60, 0.9,
               rate * 9, rate * 79, rate * 139, q, q, CASE WHEN q > 0 THEN 'below_reorder_point'
               ELSE 'covered' END, CASE WHEN rate > 0 THEN on_hand / rate END, NULL,
               CASE WHEN q > 0 THEN 'warning' ELSE 'ok' END, 'none',
               jsonb_build_object('rate', rate, 'on_hand', on_hand, 'steps',
                   (SELECT jsonb_agg(jsonb_build_object('step', k, 'added', k * 3,
                                                        'note', repeat('x', 40)))
                    FROM generate_series(1, 12) k))
        FROM (SELECT d, s, round((power(random(), 3) * 6)::numeric, 3)::float AS rate,
                     floor(random() * 400)::float AS on_hand
              FROM generate_series(0, {RUNS - 1}) d, generate_series(1, {SKUS}) s) v
        CROSS JOIN LATERAL (SELECT greatest(0, floor(rate * 139 - on_hand))::int AS q) w"""),
    # WB stock of every barcode in about half of 4 warehouses, own stock of every SKU unit.
    ("stock", f"""
        INSERT INTO supplybrain.stock (channel, account_id, location, item_key, barcode,
            article_id, bundle_type_id, color_id, size_id, sku_unit_id, quantity, as_of)
        SELECT 'wb', 1, w, k.barcode, k.barcode, k.article_id, k.bundle_type_id, k.color_id,
               k.size_id, k.sku_unit_id, floor(random() * 40), :now - interval '20 minutes'
        FROM (SELECT (2000000000000 + s)::text AS barcode, 1 + (s - 1) / 50 AS article_id,
                     NULL::int AS bundle_type_id, 1 + (s - 1) / 5 % 10 AS color_id,
                     1 + (s - 1) % 5 AS size_id, s AS sku_unit_id
              FROM generate_series(1, {SKUS}) s
              UNION ALL
              SELECT (2100000000000 + b)::text, 1 + b / 15, 1 + b / 5 % 3, NULL, 1 + b % 5,
                     NULL
              FROM generate_series(0, {BUNDLE_BARCODES - 1}) b) k,
             unnest(ARRAY['Коледино', 'Электросталь', 'Казань', 'Краснодар']) w
        WHERE random() < 0.5
        UNION ALL
        SELECT 'own', 1, 'ms-store-1', 'sku:' || s, NULL, 1 + (s - 1) / 50, NULL,
               1 + (s - 1) / 5 % 10, 1 + (s - 1) % 5, s, floor(random() * 300),
               :now - interval '20 minutes'
        FROM generate_series(1, {SKUS}) s"""),
    ("quarantine", """
        INSERT INTO supplybrain.quarantine (account_kind, account_id, endpoint, reason_code,
                                            reason, record, quarantined_at)
        SELECT 'wb', 1 + i % 2, (ARRAY['orders', 'sales', 'stocks'])[1 + i % 3],
               (ARRAY['missing_field', 'wrong_type', 'bad_date'])[1 + i % 3],
               'field: invalid', jsonb_build_object('srid', 'q' || i),
               :now - power(random(), 2) * interval '400 days'
        FROM generate_series(1, 3000) i"""),
    ("unmatched_items", """
        INSERT INTO supplybrain.unmatched_items (source, account_id, item_key, detail)
        SELECT CASE WHEN i % 4 = 0 THEN 'moysklad' ELSE 'wb' END, 1, 'unknown-' || i, 'bench'
        FROM generate_series(1, 40) i"""),
]

#: Rows ``:lo``..``:hi`` of ``:n``: row i is at fraction sqrt(1 + 3u) - 1 of the history
#: (u = i/n), so the rate grows linearly to 4/3 of the average, ± 3 hours of noise.
ORDERS = f"""
INSERT INTO supplybrain.orders (channel, account_id, order_id, ordered_at, item_key, barcode,
    article_id, bundle_type_id, color_id, size_id, sku_unit_id, quantity, price, is_cancelled,
    cancelled_at, last_change_at)
SELECT CASE WHEN ms THEN 'moysklad' ELSE 'wb' END,
       CASE WHEN ms OR i % 3 <> 0 THEN 1 ELSE 2 END,
       CASE WHEN ms THEN 'pos-' || lpad(i::text, 10, '0')
            ELSE lpad(i::text, 12, '0') || '.0.0' END,
       at, item_key, CASE WHEN NOT ms THEN item_key END,
       CASE WHEN NOT unmatched THEN CASE WHEN bundle THEN 1 + b / 15 ELSE 1 + (s - 1) / 50 END
       END,
       CASE WHEN bundle AND NOT unmatched THEN 1 + b / 5 % 3 END,
       CASE WHEN NOT bundle AND NOT unmatched THEN 1 + (s - 1) / 5 % 10 END,
       CASE WHEN NOT unmatched THEN 1 + item % 5 END,
       CASE WHEN NOT bundle AND NOT unmatched THEN s END,
       CASE WHEN ms THEN 1 + floor(r3 * r3 * 5) ELSE 1 END,
       CASE WHEN bundle THEN 2400 ELSE 600 END + 50 * (item % 20),
       cancelled, CASE WHEN cancelled THEN at + r3 * interval '36 hours' END,
       at + CASE WHEN cancelled THEN r3 * interval '36 hours' ELSE interval '2 minutes' END
FROM (
    SELECT *, CASE WHEN unmatched THEN (2900000000000 + item)::text
                   WHEN ms THEN 'sku:' || s
                   WHEN bundle THEN (2100000000000 + b)::text
                   ELSE (2000000000000 + s)::text END AS item_key
    FROM (
        SELECT i, r1 < 0.08 AS ms, r2 < 0.3 AND r1 >= 0.08 AS bundle, r2 > 0.985 AS unmatched,
               r3 < 0.08 AS cancelled, r3, item, 1 + item % {SKUS} AS s,
               item % {BUNDLE_BARCODES} AS b,
               least(:start + (sqrt(1 + 3 * (i - 0.5) / :n) - 1) * :span
                     + (r1 - 0.5) * interval '6 hours', :now) AS at
        FROM (SELECT i, random() r1, random() r2, random() r3,
                     floor({SKUS + BUNDLE_BARCODES} * power(random(), 2.5))::int AS item
              FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i) g
    ) x
) y
"""


def load_current(conn, now: datetime) -> dict[str, int]:
    from sqlalchemy import text

    counts = {}
    conn.execute(text("SELECT setseed(0.5)"))
    for table, statement in CURRENT_TABLES:
        counts[table] = conn.execute(text(statement), {"now": now}).rowcount
    return counts


def load_orders(conn, lo: int, hi: int, n: int, now: datetime, days: int,
                rebuild_indexes: bool) -> float:
    """Insert rows lo..hi; with ``rebuild_indexes`` drop the order indexes first and build them
    again after (much faster than maintaining them row by row). Returns seconds."""
    from sqlalchemy import text

    started = time.perf_counter()
    if rebuild_indexes:
        conn.execute(text("DROP INDEX supplybrain.ix_orders_ordered_at"))
        conn.execute(text("ALTER TABLE supplybrain.orders DROP CONSTRAINT pk_orders"))
    conn.execute(text(ORDERS), {"start": now - timedelta(days=days), "span": timedelta(days=days),
                                "now": now, "n": n, "lo": lo, "hi": hi})
    if rebuild_indexes:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(text("ALTER TABLE supplybrain.orders ADD CONSTRAINT pk_orders "
                          "PRIMARY KEY (channel, account_id, order_id)"))
        conn.execute(text("CREATE INDEX ix_orders_ordered_at "
                          "ON supplybrain.orders (ordered_at)"))
    return time.perf_counter() - started


# -- part 1: snapshot against bare aggregates ---------------------------------------------------
def time_snapshot(engine, window_start: datetime, now: datetime, repeat: int,
                  full_repeat: int) -> dict[str, list[float]]:
    """(a) snapshot, (b) bare window aggregate, (c) bare aggregate over all rows: interleaved,
    each in its own transaction, after an untimed warm-up of each."""
    from sqlalchemy import text

    from supplybrain_pipelines.assets.monitoring.snapshot import compute_snapshot

    def run(kind: str) -> float:
        with engine.begin() as conn:
            started = time.perf_counter()
            if kind == "a":
                compute_snapshot(conn, window_start, now)
            elif kind == "b":
                conn.execute(text(BARE), {"ws": window_start}).one()
            else:
                conn.execute(text(BARE_ALL)).one()
            return time.perf_counter() - started

    for kind in ("a", "b", "c"):
        run(kind)
    times: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    for rep in range(repeat):
        order = ["a", "b"] if rep % 2 == 0 else ["b", "a"]
        if rep < full_repeat:
            order.insert(1, "c")
        for kind in order:
            times[kind].append(run(kind))
    return times


PARTS = ("read_latest_proposals", "read_counters", "read_sync_health", "read_order_volume",
         "read_watermarks", "read_data_quality")


def time_parts(engine, window_start: datetime, now: datetime, repeat: int) -> dict[str, float]:
    """Best time of each ``queries.read_*`` inside ``compute_snapshot`` (wrapped with timers
    for these runs only), and of the whole call."""
    from supplybrain_pipelines.assets.monitoring import queries as q
    from supplybrain_pipelines.assets.monitoring.snapshot import compute_snapshot

    samples: dict[str, list[float]] = {name: [] for name in (*PARTS, "compute_snapshot")}
    originals = {name: getattr(q, name) for name in PARTS}

    def timed(name: str, function):
        def wrapper(*args):
            started = time.perf_counter()
            try:
                return function(*args)
            finally:
                samples[name].append(time.perf_counter() - started)
        return wrapper

    try:
        for name in PARTS:
            setattr(q, name, timed(name, originals[name]))
        for _ in range(repeat):
            with engine.begin() as conn:
                timed("compute_snapshot", compute_snapshot)(conn, window_start, now)
    finally:
        for name, function in originals.items():
            setattr(q, name, function)
    return {name: min(values) for name, values in samples.items()}


def explain(engine, statement, params: dict) -> list[str]:
    from sqlalchemy import text

    sql = statement.text if hasattr(statement, "text") else statement
    with engine.begin() as conn:
        rows = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + sql), params)
        return [row[0] for row in rows]


def measure(engine, label: str, window_start: datetime, now: datetime, repeat: int,
            full_repeat: int) -> dict:
    from sqlalchemy import text

    with engine.begin() as conn:
        rows = conn.execute(text("SELECT count(*) FROM supplybrain.orders")).scalar_one()
        window_rows = conn.execute(text(BARE), {"ws": window_start}).one()[0]
    times = time_snapshot(engine, window_start, now, repeat, full_repeat)
    best = {kind: min(samples) for kind, samples in times.items()}
    _say(f"[{label}] {rows:,} order rows, {window_rows:,} in the 8 days before the window; "
         f"best of {repeat} (c: {full_repeat}), ms:")
    names = {"a": "(a) compute_snapshot", "b": "(b) bare aggregate, 8 days",
             "c": "(c) bare aggregate, all rows"}
    for kind, samples in times.items():
        spread = ", ".join(f"{s * 1000:.1f}" for s in samples)
        _say(f"  {names[kind]:<30} {best[kind] * 1000:9.1f}   [{spread}]")
    return {"rows": rows, "window_rows": window_rows, "best": best}


# -- part 2: schedule ticks through the real daemon and queue ------------------------------------
def _on_the_minute(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.second == 0 and moment.microsecond == 0


def tick_definitions() -> dg.Definitions:
    """The bench's code location (``dagster api grpc -f <this file> -a tick_definitions``).

    The project's assets, checks, jobs and resources, and one schedule built like
    ``monitoring_every_15m`` but every minute. No sensors: they would compete for the one run
    slot. Windows on any whole minute are accepted (the asset's check wants a quarter hour).
    """
    from supplybrain_pipelines.assets.monitoring import snapshot
    from supplybrain_pipelines.definitions import defs as project
    from supplybrain_pipelines.guards import guarded_schedule
    from supplybrain_pipelines.jobs import monitoring_job
    from supplybrain_pipelines.schedules import _tick_window

    snapshot.is_window_start = _on_the_minute
    every_minute = guarded_schedule(
        name="monitoring_every_minute", job=monitoring_job, cron_schedule="* * * * *",
        run_config_fn=_tick_window,
        description="Bench: monitoring_every_15m's schedule on a one-minute cron.")
    return dg.Definitions(assets=project.assets, asset_checks=project.asset_checks,
                          jobs=project.jobs, schedules=[every_minute],
                          resources=project.resources)


COMMITS = """
SELECT window_start, run_id, overall_status, pg_xact_commit_timestamp(xmin) AS committed_at
FROM supplybrain.monitoring_snapshots WHERE window_start >= :since ORDER BY window_start
"""


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_ticks(server, app_url, root: Path, ticks: int) -> list[dict]:
    """Start the stack, wait for ``ticks`` consecutive minute ticks; one dict per tick."""
    from sqlalchemy import create_engine, text

    from supplybrain_pipelines.devstack.environment import prepare_dagster_home
    from supplybrain_pipelines_tests.run_queue.stack import dagster_stack

    server.ensure_database("dagster_bench")
    home = prepare_dagster_home(root / "dagster_home")
    engine = create_engine(app_url)
    results: list[dict] = []
    started = time.monotonic()
    with dagster_stack(server.url("dagster_bench"), home, Path(__file__).resolve(),
                       attribute="tick_definitions", app_url=app_url) as stack:
        ready = datetime.now(UTC)
        _say(f"  stack up in {time.monotonic() - started:.1f} s (code server, daemon, webserver "
             f"on 127.0.0.1; webserver port {stack.webserver_port}) at {ready:%H:%M:%S}")
        os.environ.update({k: v for k, v in stack.env.items() if k.startswith("DAGSTER_PG_")})
        instance = dg.DagsterInstance.from_config(str(home))
        since = ready.replace(second=0, microsecond=0)
        expected: list[datetime] = []
        try:
            deadline = since + timedelta(minutes=2, seconds=TICK_TIMEOUT_SECONDS)
            while True:  # the first tick the daemon takes after the stack is up
                with engine.connect() as conn:
                    rows = conn.execute(text(COMMITS), {"since": since}).all()
                if rows or datetime.now(UTC) > deadline:
                    break
                time.sleep(0.5)
            if not rows:
                _say("  no snapshot row within 2 minutes of the stack being up; daemon log:")
                _say(_tail(stack.logs / "daemon.log"))
                return results
            expected = [rows[0].window_start + timedelta(minutes=k) for k in range(ticks)]
            for window in expected:
                row = _wait_for_row(engine, window)
                results.append(_tick_result(instance, window, row))
                _say_tick(results[-1])
        finally:
            instance.dispose()
            engine.dispose()
    return results


def _wait_for_row(engine, window: datetime):
    from sqlalchemy import text

    deadline = window + timedelta(seconds=TICK_TIMEOUT_SECONDS)
    while True:
        with engine.connect() as conn:
            row = conn.execute(text(COMMITS + " LIMIT 1"), {"since": window}).first()
        if row is not None and row.window_start == window:
            return row
        if datetime.now(UTC) > deadline:
            return None
        time.sleep(0.2)


def _tick_result(instance: dg.DagsterInstance, window: datetime, row) -> dict:
    result = {"window": window, "latency": None}
    if row is None:
        return result
    result["latency"] = (row.committed_at - window).total_seconds()
    result["status"] = row.overall_status
    record = None
    deadline = time.monotonic() + TICK_TIMEOUT_SECONDS
    while time.monotonic() < deadline:  # let the run finish to read its end time
        record = instance.get_run_record_by_id(row.run_id)
        if record is not None and record.end_time is not None:
            break
        time.sleep(0.5)
    if record is not None:
        tick = window.timestamp()
        created_at = record.create_timestamp
        if created_at.tzinfo is None:  # Dagster stores it as naive UTC
            created_at = created_at.replace(tzinfo=UTC)
        created = created_at.timestamp()
        result.update(
            created=created - tick,
            started=(record.start_time - tick) if record.start_time else None,
            ended=(record.end_time - tick) if record.end_time else None,
            run_status=record.dagster_run.status.value)
    return result


def _say_tick(r: dict) -> None:
    if r["latency"] is None:
        _say(f"  tick {r['window']:%H:%M:%S}: no snapshot row within "
             f"{TICK_TIMEOUT_SECONDS:.0f} s")
        return

    def at(key: str) -> str:
        return f"{r[key]:6.2f}" if r.get(key) is not None else "     -"

    _say(f"  tick {r['window']:%H:%M:%S}: run created +{at('created')} s, run started "
         f"+{at('started')} s, row committed +{r['latency']:6.2f} s, run ended +{at('ended')} s"
         f"  ({r.get('run_status', '?')}, status {r.get('status')})")


# -- the run --------------------------------------------------------------------------------------
def report_parts(engine, window_start: datetime, now: datetime, repeat: int) -> None:
    parts = time_parts(engine, window_start, now, repeat)
    whole = parts.pop("compute_snapshot")
    _say(f"  where (a) goes: each queries.read_* timed inside compute_snapshot, best of {repeat}"
         ", ms:")
    for name, seconds in parts.items():
        _say(f"    {name:<24} {seconds * 1000:8.1f}")
    _say(f"    {'compute_snapshot':<24} {whole * 1000:8.1f}   (the sum of the parts: "
         f"{sum(parts.values()) * 1000:.1f})")


def report_plans(engine, window_start: datetime, now: datetime) -> None:
    from supplybrain_pipelines.assets.monitoring import queries as q

    for title, statement, params in (
            ("ORDER_VOLUME", q.ORDER_VOLUME, {"window_start": window_start}),
            ("bare aggregate (b)", BARE, {"ws": window_start}),
            ("WATERMARKS", q.WATERMARKS, {})):
        _say(f"  EXPLAIN (ANALYZE, BUFFERS) {title}:")
        for line in explain(engine, statement, params):
            _say("    " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000_000, help="rows in orders")
    parser.add_argument("--days", type=int, default=400, help="days of order history")
    parser.add_argument("--repeat", type=int, default=11, help="repetitions of (a) and (b)")
    parser.add_argument("--full-repeat", type=int, default=3,
                        help="repetitions of (c), the aggregate over every row")
    parser.add_argument("--ticks", type=int, default=3, help="schedule ticks to time (0: none)")
    parser.add_argument("--no-half", action="store_true",
                        help="skip the measurement with the newest half of the rows")
    parser.add_argument("--explain", choices=("auto", "always", "never"), default="auto",
                        help="EXPLAIN ANALYZE the order queries (auto: when a/b misses)")
    args = parser.parse_args()

    import psycopg
    import sqlalchemy as sa
    from sqlalchemy import create_engine, text

    from supplybrain_pipelines.db.migrate import upgrade
    from supplybrain_pipelines.devstack.embedded import EmbeddedPostgres, free_port
    from supplybrain_pipelines.logic.monitoring.windows import floor_window

    started = time.perf_counter()
    _say(f"monitoring_snapshot  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
         f"python {platform.python_version()}  dagster {dg.__version__}  "
         f"sqlalchemy {sa.__version__}  psycopg {psycopg.__version__}  cpus {os.cpu_count()}  "
         f"load {os.getloadavg()[0]:.1f}")
    root = Path(tempfile.mkdtemp(prefix="supplybrain-bench-monitoring-"))
    server = EmbeddedPostgres(root / "data", free_port(), fast_unsafe=False)
    engine = None
    try:
        server.start()
        with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        server.stop()  # track_commit_timestamp needs a restart
        server.start()
        server.ensure_database("supplybrain_bench")
        url = server.url("supplybrain_bench")
        upgrade(url)
        engine = create_engine(url, connect_args={"prepare_threshold": None})
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
        now = datetime.now(UTC)
        window_start = floor_window(now)
        _say(f"PostgreSQL {version} (embedded, fsync and synchronous_commit on, default "
             f"shared_buffers) on 127.0.0.1:{server.port}; now {now:%H:%M:%S}, window_start "
             f"{window_start:%H:%M}")
        _say()
        _say("data (set-based SQL, not timed):")
        with engine.begin() as conn:
            counts = load_current(conn, now)
        _say("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

        def vacuum() -> float:
            t0 = time.perf_counter()
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.execute(text("VACUUM ANALYZE"))
                conn.execute(text("CHECKPOINT"))
            return time.perf_counter() - t0

        n = args.orders
        results = {}
        if not args.no_half:
            with engine.begin() as conn:
                seconds = load_orders(conn, n // 2 + 1, n, n, now, args.days, True)
            _say(f"  orders: the newest {n - n // 2:,} rows in {seconds:.1f} s (indexes "
                 f"rebuilt), VACUUM ANALYZE {vacuum():.1f} s")
            results["half"] = measure(engine, "newest half", window_start, now, args.repeat,
                                      args.full_repeat)
            with engine.begin() as conn:  # reload all, so the heap is in time order again
                conn.execute(text("TRUNCATE supplybrain.orders"))
        with engine.begin() as conn:
            seconds = load_orders(conn, 1, n, n, now, args.days, True)
        with engine.connect() as conn:
            size = conn.execute(text(
                "SELECT pg_total_relation_size('supplybrain.orders')")).scalar_one()
        _say(f"  orders: all {n:,} rows{' (truncated first)' if 'half' in results else ''} in "
             f"{seconds:.1f} s (indexes rebuilt), VACUUM ANALYZE {vacuum():.1f} s; table with "
             f"indexes {size / 2**20:,.0f} MiB")
        results["full"] = measure(engine, "all rows", window_start, now, args.repeat,
                                  args.full_repeat)
        best = results["full"]["best"]
        ratio_ab, ratio_ac = best["a"] / best["b"], best["a"] / best["c"]
        report_parts(engine, window_start, now, args.repeat)
        if args.explain == "always" or (args.explain == "auto" and ratio_ab > TARGET_RATIO):
            report_plans(engine, window_start, now)
        _say()

        ticks: list[dict] = []
        if args.ticks > 0:
            _say(f"schedule ticks (cron every minute, {args.ticks} ticks), through the queue "
                 "and the daemon:")
            ticks = run_ticks(server, url, root, args.ticks)
            _say()

        _say(f"results ({os.cpu_count()} vCPU, shared; load {os.getloadavg()[0]:.1f}):")
        if "half" in results:
            h, f = results["half"], results["full"]
            _say(f"  history {h['rows']:,} -> {f['rows']:,} rows (the window "
                 f"{h['window_rows']:,} -> {f['window_rows']:,} rows): snapshot "
                 f"{h['best']['a'] * 1000:.1f} -> "
                 f"{best['a'] * 1000:.1f} ms ({best['a'] / h['best']['a']:.2f}x), a/b "
                 f"{h['best']['a'] / h['best']['b']:.2f} -> {ratio_ab:.2f}, bare aggregate over "
                 f"all rows {h['best']['c'] * 1000:.0f} -> {best['c'] * 1000:.0f} ms "
                 f"({best['c'] / h['best']['c']:.2f}x)")
        _say(f"  a/c = {ratio_ac:.3f} (snapshot / aggregate over all {results['full']['rows']:,}"
             " rows)")
        _say(f"target at {results['full']['rows']:,} orders, snapshot <= {TARGET_RATIO}x the bare "
             f"aggregate over the same rows: {verdict(ratio_ab <= TARGET_RATIO)} "
             f"(a/b = {ratio_ab:.2f}x: {best['a'] * 1000:.1f} ms / {best['b'] * 1000:.1f} ms)")
        if args.ticks > 0:
            latencies = [r["latency"] for r in ticks]
            missing = len(latencies) < args.ticks or None in latencies
            worst = max((x for x in latencies if x is not None), default=float("nan"))
            shown = ", ".join("missed" if x is None else f"{x:.2f}" for x in latencies)
            ok = not missing and worst <= TARGET_TICK_SECONDS
            _say(f"target a tick commits its snapshot row within {TARGET_TICK_SECONDS:.0f} s: "
                 f"{verdict(ok)} (max {worst:.2f} s; per tick [{shown}] s)")
        _say(f"total wall time {time.perf_counter() - started:.0f} s")
        return 0
    finally:
        if engine is not None:
            engine.dispose()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
