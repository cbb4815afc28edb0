"""The monitoring bench's data: the current tables the snapshot reads, and the order history.

Owns the set-based SQL (``:now`` is bound) for accounts and their health, articles and planning
settings, bundle risk, proposals, stock, quarantine and unmatched items (:func:`load_current`),
and for ``supplybrain.orders`` rows ``lo..hi`` of ``n`` with the indexes rebuilt after
(:func:`load_orders`).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

ARTICLES = 120
SKUS = ARTICLES * 50  # 10 colours × 5 sizes per article
BUNDLE_BARCODES = ARTICLES * 3 * 5  # 4-, 5- and 6-packs in 5 sizes
RUNS = 8  # proposal runs kept (one a day)


# -- the data: set-based SQL; :now is bound ------------------------------------------------------
#: The snapshot only counts accounts, so their tokens are placeholders shaped like a ciphertext
#: (the tables' CHECK); nothing decrypts them.
CURRENT_TABLES = [
    ("wb_integration_accounts", """
        INSERT INTO supplybrain.wb_integration_accounts (name, supplier_id,
            api_token_encrypted, is_active, created_at)
        VALUES ('Maconly WB', '1001', 'gAAAAA-bench-1', true, :now - interval '400 days'),
               ('Maconly WB 2', '1002', 'gAAAAA-bench-2', true, :now - interval '200 days'),
               ('old cabinet', '0999', 'gAAAAA-bench-0', false, :now - interval '600 days')"""),
    ("moysklad_integration_accounts", """
        INSERT INTO supplybrain.moysklad_integration_accounts (name, account_id,
            api_token_encrypted, is_active, created_at)
        VALUES ('Maconly MoySklad', 'ms-1', 'gAAAAA-bench-ms', true, :now - interval '400 days')
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
            recommended_quantity, reason, days_of_cover, stockout_date, cover_risk,
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
                                            reason, record, quarantined_at, record_digest)
        SELECT 'wb', 1 + i % 2, (ARRAY['orders', 'sales', 'stocks'])[1 + i % 3],
               (ARRAY['missing_field', 'wrong_type', 'bad_date'])[1 + i % 3],
               'field: invalid', jsonb_build_object('srid', 'q' || i),
               :now - power(random(), 2) * interval '400 days', md5('q' || i)
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
