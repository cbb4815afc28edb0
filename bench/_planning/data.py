"""The planning bench's data sets: generated with set-based SQL only, and reset between runs.

Owns the shape of a data set (N/50 articles × 10 colours × 5 sizes, palette, bundles, settings,
orders, stock, purchase orders, stock history), :func:`generate` that fills a migrated database
with it, and :func:`reset_outputs` that empties the planning outputs before a timed repetition.
"""

from __future__ import annotations

import time
from datetime import date

from _support.postgres import connect

COLORS_PER_ARTICLE = 10
SIZES = (("XS", 1), ("S", 2), ("M", 3), ("L", 4), ("XL", 5))
SKUS_PER_ARTICLE = COLORS_PER_ARTICLE * len(SIZES)
PALETTE = 60
#: Planning outputs, emptied before every timed repetition.
OUTPUT_TABLES = ("demand", "demand_barcode", "supply", "planning_proposals", "bundle_risk",
                 "planning_health")


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
    from supplybrain_pipelines.assets.planning._common import ACTIVE_SKUS

    articles = max(skus // SKUS_PER_ARTICLE, 1)
    started = time.perf_counter()
    counts: dict[str, int] = {}
    with connect(url_text) as conn:
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
    with connect(url_text, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(f"supplybrain.{t}" for t in OUTPUT_TABLES))
        conn.execute("DELETE FROM supplybrain.stock_history WHERE day = %s", (as_of,))
        conn.execute("CHECKPOINT")
