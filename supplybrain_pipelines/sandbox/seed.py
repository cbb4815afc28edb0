"""Write a generated business into the application schema, so the pipeline agrees with itself.

``load_master_data`` upserts the master data by natural keys (article.code, color.inner_code,
size.label, bundle_type.code, warehouse.code, purchase_order.external_ref, and the unique keys
of the linking tables); re-running it changes nothing. It never deletes: rows of another
business stay. ``register_accounts`` points the business's accounts at a sandbox URL.
Both run in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import bulk_upsert
from supplybrain_pipelines.sandbox.model import MS_PREFIX, Account, Business
from supplybrain_pipelines.token_crypto import (
    TokenKeyError,
    TokenKeys,
    configured_keys,
    decrypt_token,
    encrypt_token,
    token_hint,
)

TABLES = ("article", "color", "size", "bundle_type", "warehouse", "sku_unit", "bundle_recipe",
          "article_wb_mapping", "planning_settings", "global_planning_settings",
          "purchase_order", "purchase_order_item")


def master_data_counts(business: Business) -> dict[str, int]:
    """How many rows of each master-data table the business has."""
    return {
        "article": len(business.articles), "color": len(business.colors),
        "size": len(business.sizes), "bundle_type": len(business.bundle_types),
        "warehouse": len(business.warehouses), "sku_unit": len(business.sku_units),
        "bundle_recipe": len(business.bundle_recipes),
        "article_wb_mapping": len(business.wb_barcodes),
        "planning_settings": len(business.planning_settings), "global_planning_settings": 1,
        "purchase_order": len(business.purchase_orders),
        "purchase_order_item": sum(len(po.items) for po in business.purchase_orders),
    }


def _ids(conn: Connection, table: sa.Table, key: str) -> dict[Any, int]:
    return {k: v for k, v in conn.execute(sa.select(table.c[key], table.c.id))}


def _upsert(conn: Connection, table: sa.Table, columns: list[str], rows: list[tuple],
            keys: list[str]) -> int:
    return bulk_upsert(conn, table, columns, rows, keys).written


def _upsert_one(conn: Connection, table: sa.Table, where: Any, values: dict[str, Any],
                touch: bool = False) -> tuple[int, int]:
    """Insert ``values`` or update the lowest-id row matching ``where`` when it differs.

    Returns (id, rows written: 0 or 1). ``touch`` also sets ``updated_at`` on a change.
    """
    row = conn.execute(sa.select(table).where(where).order_by(table.c.id).limit(1)).mappings()
    found = row.first()
    if found is None:
        new_id = conn.execute(sa.insert(table).values(values).returning(table.c.id)).scalar_one()
        return new_id, 1
    if all(found[k] == v for k, v in values.items()):
        return found["id"], 0
    changes = dict(values, **({"updated_at": sa.func.now()} if touch else {}))
    conn.execute(sa.update(table).where(table.c.id == found["id"]).values(changes))
    return found["id"], 1


def load_master_data(conn: Connection, business: Business) -> dict[str, int]:
    """Upsert the business's master data; returns rows written (inserted or changed) per table.

    On an empty schema the counts equal :func:`master_data_counts`; a second run returns zeros
    and rewrites no row.
    """
    b, written = business, {}
    written["article"] = _upsert(conn, t.article, ["code", "name"],
                                 [(a.code, a.name) for a in b.articles], ["code"])
    written["color"] = _upsert(conn, t.color, ["inner_code", "pantone_code", "description"],
                               [(c.inner_code, c.pantone_code, c.description) for c in b.colors],
                               ["inner_code"])
    written["size"] = _upsert(conn, t.size, ["label", "sort_order"],
                              [(s.label, s.sort_order) for s in b.sizes], ["label"])
    written["bundle_type"] = _upsert(conn, t.bundle_type, ["code", "name", "is_assorti"],
                                     [(x.code, x.name, x.is_assorti) for x in b.bundle_types],
                                     ["code"])
    written["warehouse"] = _upsert(conn, t.warehouse, ["code", "name", "type"],
                                   [(w.code, w.name, w.type) for w in b.warehouses], ["code"])
    art, col = _ids(conn, t.article, "code"), _ids(conn, t.color, "inner_code")
    siz, bt = _ids(conn, t.size, "label"), _ids(conn, t.bundle_type, "code")
    unit_keys = ["article_id", "color_id", "size_id"]
    written["sku_unit"] = _upsert(
        conn, t.sku_unit, unit_keys,
        [(art[u.article], col[u.color], siz[u.size]) for u in b.sku_units], unit_keys)
    written["bundle_recipe"] = _upsert(
        conn, t.bundle_recipe, ["article_id", "bundle_type_id", "color_id", "position"],
        [(art[r.article], bt[r.bundle_type], col[r.color], r.position) for r in b.bundle_recipes],
        ["article_id", "bundle_type_id", "color_id"])
    written["article_wb_mapping"] = _upsert(
        conn, t.article_wb_mapping,
        ["article_id", "wb_sku", "bundle_type_id", "color_id", "size_id"],
        [(art[x.article], x.barcode, bt[x.bundle_type] if x.bundle_type else None,
          col[x.color] if x.color else None, siz[x.size]) for x in b.wb_barcodes],
        ["article_id", "wb_sku"])
    written["planning_settings"] = _upsert(
        conn, t.planning_settings,
        ["article_id", "is_active", "min_fabric_batch", "min_elastic_batch",
         "alert_threshold_days", "safety_stock_days", "strictness", "notes"],
        [(art[p.article], p.is_active, p.min_fabric_batch, p.min_elastic_batch,
          p.alert_threshold_days, p.safety_stock_days, p.strictness, p.notes)
         for p in b.planning_settings], ["article_id"])
    g = b.global_planning_settings
    written["global_planning_settings"] = _upsert_one(
        conn, t.global_planning_settings, sa.true(), {
            "default_target_coverage_days": g.default_target_coverage_days,
            "default_lead_time_days": g.default_lead_time_days,
            "default_service_level_percent": g.default_service_level_percent,
            "default_fabric_min_batch_qty": g.default_fabric_min_batch_qty,
            "default_elastic_min_batch_qty": g.default_elastic_min_batch_qty,
        })[1]
    written["purchase_order"], items = 0, []
    for po in b.purchase_orders:
        po_id, changed = _upsert_one(
            conn, t.purchase_order, t.purchase_order.c.external_ref == po.external_ref,
            {"external_ref": po.external_ref, "status": po.status,
             "target_date": po.target_date, "comment": po.comment}, touch=True)
        written["purchase_order"] += changed
        items += [(po_id, art[i.article], col[i.color], siz[i.size], i.quantity, "auto")
                  for i in po.items]
    item_keys = ["purchase_order_id", "article_id", "color_id", "size_id"]
    written["purchase_order_item"] = _upsert(
        conn, t.purchase_order_item, [*item_keys, "quantity", "source"], items, item_keys)
    return written


def _stored_ciphertext(conn: Connection, table: sa.Table, account: Account,
                       keys: TokenKeys) -> str:
    """The account's stored ciphertext when it already holds ``account.token`` (Fernet is
    randomised: encrypting again would rewrite an unchanged row), else a new one."""
    stored = conn.execute(sa.select(table.c.api_token_encrypted).where(
        table.c.name == account.name).order_by(table.c.id).limit(1)).scalar_one_or_none()
    if stored is not None:
        try:
            if decrypt_token(stored, keys) == account.token:
                return stored
        except TokenKeyError:  # under a key no longer configured: store it again
            pass
    return encrypt_token(account.token, keys)


def _register(conn: Connection, table: sa.Table, id_column: str, account: Account,
              base_url: str, keys: TokenKeys) -> None:
    values = {"name": account.name, id_column: account.external_id,
              "api_token_encrypted": _stored_ciphertext(conn, table, account, keys),
              "token_hint": token_hint(account.token), "is_active": True, "base_url": base_url}
    try:
        _upsert_one(conn, table, table.c.name == account.name, values, touch=True)
    except DBAPIError as exc:  # the statement's parameters hold the token: keep them out
        raise RuntimeError(f"could not register the sandbox account {account.name!r} in "
                           f"{table.name}: {type(exc.orig).__name__}") from None


def register_accounts(conn: Connection, business: Business, base_url: str) -> None:
    """Upsert the business's accounts (matched by name), active, pointing at the sandbox:
    WB at ``base_url``, MoySklad at ``base_url + "/api/remap/1.2"``. Tokens are stored encrypted
    under the configured key (``token_crypto``; a ``TokenKeyError`` without one)."""
    root = base_url.rstrip("/")
    keys = configured_keys()
    for account in business.wb_accounts:
        _register(conn, t.wb_integration_accounts, "supplier_id", account, root, keys)
    for account in business.moysklad_accounts:
        _register(conn, t.moysklad_integration_accounts, "account_id", account,
                  root + MS_PREFIX, keys)
