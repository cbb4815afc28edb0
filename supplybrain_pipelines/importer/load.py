"""Database side of the import: read the natural-key lookups, and write one file's rows, staged
in ``stage.STAGE``, in the caller's transaction.

Writes are upserts by natural key (a row equal to the stored one is left alone), so importing
the same files again changes nothing. Orders and plain upserts (``stock_history.csv`` and the
master data without a scope) are written chunk by chunk as they are staged (``ChunkWrites``:
``orders.OrderWrites``, ``warehouse.upsert_from``, set-based), whatever their size; the other
writes read the staged rows back once the file is staged (they are files of master data,
settings, stock and purchase orders, whose size is that of the catalogue) and write them as
before. Exceptions, each documented in
docs/csv_import.md: a file with a ``replace_scope`` replaces the rows of each scope it names
(the recipe of an article's bundle type, the items of a purchase order, the mapping of a
barcode); ``purchase_order`` (no unique key in the table) and ``global_planning_settings``
(one row) update the lowest-id matching row; ``stock_balance.updated_at`` moves only when the
quantity does (or as the file says).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Connection

from supplybrain_pipelines.importer.orders import OrderWrites, write_orders
from supplybrain_pipelines.importer.report import Counts
from supplybrain_pipelines.importer.resolve import Lookups, Resolved
from supplybrain_pipelines.importer.spec import FileSpec
from supplybrain_pipelines.importer.stage import CHUNK, STAGE, Staged

if TYPE_CHECKING:  # resources.warehouse pulls in Dagster: imported where it is used
    from supplybrain_pipelines.resources.warehouse import UpsertResult

S = "supplybrain"

#: Each lookup's query: the natural-key columns, then the value (one column, or several that
#: make a tuple).
LOOKUP_SQL: dict[str, tuple[str, int]] = {
    "article": (f"SELECT code, id FROM {S}.article", 1),
    "color": (f"SELECT inner_code, id FROM {S}.color", 1),
    "size": (f"SELECT label, id FROM {S}.size", 1),
    "bundle_type": (f"SELECT code, id FROM {S}.bundle_type", 1),
    "warehouse": (f"SELECT code, id FROM {S}.warehouse", 1),
    "sku_unit": (f"SELECT a.code, c.inner_code, s.label, u.id FROM {S}.sku_unit u "
                 f"JOIN {S}.article a ON a.id = u.article_id JOIN {S}.color c ON c.id = "
                 f"u.color_id JOIN {S}.size s ON s.id = u.size_id", 3),
    "recipe": (f"SELECT DISTINCT a.code, b.code, true FROM {S}.bundle_recipe r "
               f"JOIN {S}.article a ON a.id = r.article_id "
               f"JOIN {S}.bundle_type b ON b.id = r.bundle_type_id", 2),
    "purchase_order": (f"SELECT DISTINCT ON (external_ref) external_ref, id "
                       f"FROM {S}.purchase_order WHERE external_ref IS NOT NULL "
                       "ORDER BY external_ref, id", 1),
    # As the ingestion maps a barcode (assets/unified.py WB_ORDERS): lowest mapping id first.
    "barcode": (f"SELECT DISTINCT ON (m.wb_sku) m.wb_sku, m.article_id, m.bundle_type_id, "
                f"m.color_id, m.size_id, su.id FROM {S}.article_wb_mapping m "
                f"LEFT JOIN {S}.sku_unit su ON m.bundle_type_id IS NULL "
                "AND su.article_id = m.article_id AND su.color_id = m.color_id "
                "AND su.size_id = m.size_id ORDER BY m.wb_sku, m.id", 1),
    "barcode_by_item": (
        f"SELECT DISTINCT ON (a.code, b.code, c.inner_code, s.label) a.code, "
        "coalesce(b.code, ''), coalesce(c.inner_code, ''), s.label, m.wb_sku "
        f"FROM {S}.article_wb_mapping m JOIN {S}.article a ON a.id = m.article_id "
        f"JOIN {S}.size s ON s.id = m.size_id "
        f"LEFT JOIN {S}.bundle_type b ON b.id = m.bundle_type_id "
        f"LEFT JOIN {S}.color c ON c.id = m.color_id "
        "ORDER BY a.code, b.code, c.inner_code, s.label, m.id", 4),
}


def fetch_lookups(conn: Connection, names: tuple[str, ...]) -> Lookups:
    """The named lookups as they are in the database now (in the caller's transaction)."""
    lookups: Lookups = {}
    for name in names:
        sql, key_len = LOOKUP_SQL[name]
        values: dict[tuple, Any] = {}
        for row in conn.execute(sa.text(sql)):
            rest = tuple(row[key_len:])
            values[tuple(row[:key_len])] = rest[0] if len(rest) == 1 else rest
        lookups[name] = values
    return lookups


def _replace_scopes(conn: Connection, spec: FileSpec, res: Resolved) -> tuple[int, int]:
    """Delete the rows of the scopes the file names that the file does not have (and, with
    ``delete_changed``, those it changes). Returns (removed, deleted as changed)."""
    table, cols = spec.table, res.columns
    scope_at = [cols.index(c) for c in spec.replace_scope]
    key_at = [cols.index(c) for c in spec.conflict]
    value_cols = [c for c in cols if c not in spec.conflict]
    in_file = {tuple(r[i] for i in key_at): tuple(r[cols.index(c)] for c in value_cols)
               for r in res.rows}
    scopes = {tuple(r[i] for i in scope_at) for r in res.rows}
    query = sa.select(table.c.id, *(table.c[c] for c in (*spec.replace_scope, *spec.conflict,
                                                          *value_cols)))
    removed, changed = [], []
    n_scope, n_key = len(spec.replace_scope), len(spec.conflict)
    for row in conn.execute(query):
        scope = tuple(row[1:1 + n_scope])
        if scope not in scopes:
            continue
        key = tuple(row[1 + n_scope:1 + n_scope + n_key])
        if key not in in_file:
            removed.append(row[0])
        elif spec.delete_changed and tuple(row[1 + n_scope + n_key:]) != in_file[key]:
            changed.append(row[0])
    if removed or changed:
        conn.execute(sa.delete(table).where(table.c.id.in_(removed + changed)))
    return len(removed), len(changed)


def _upsert(conn: Connection, spec: FileSpec, res: Resolved) -> Counts:
    from supplybrain_pipelines.resources.warehouse import bulk_upsert

    removed, changed = _replace_scopes(conn, spec, res) if spec.replace_scope else (0, 0)
    result = bulk_upsert(conn, spec.table, res.columns, res.rows, spec.conflict)
    return Counts(inserted=result.inserted - changed, updated=result.updated + changed,
                  unchanged=len(res.rows) - result.written, removed=removed)


def _upsert_first(conn: Connection, table: sa.Table, where: Any, values: dict[str, Any],
                  touch: bool = False) -> str:
    """Insert ``values``, or update the lowest-id row matching ``where`` when it differs
    (``touch`` also moves ``updated_at``). Returns inserted, updated or unchanged."""
    found = conn.execute(sa.select(table).where(where).order_by(table.c.id).limit(1)
                         ).mappings().first()
    if found is None:
        conn.execute(sa.insert(table).values(values))
        return "inserted"
    if all(found[k] == v for k, v in values.items()):
        return "unchanged"
    changes = dict(values, **({"updated_at": sa.func.now()} if touch else {}))
    conn.execute(sa.update(table).where(table.c.id == found["id"]).values(changes))
    return "updated"


def _first_rows(conn: Connection, spec: FileSpec, res: Resolved) -> Counts:
    done = []
    for row in res.rows:
        values = dict(zip(res.columns, row, strict=True))
        if spec.write == "purchase_order":
            where = spec.table.c.external_ref == values["external_ref"]
            done.append(_upsert_first(conn, spec.table, where, values, touch=True))
        else:
            done.append(_upsert_first(conn, spec.table, sa.true(), values))
    return Counts(inserted=done.count("inserted"), updated=done.count("updated"),
                  unchanged=done.count("unchanged"))


def _stock(conn: Connection, spec: FileSpec, res: Resolved) -> Counts:
    """Own stock: ``updated_at`` as the file gives it; else kept while the quantity is the
    stored one, and the import's time when it changes (or the row is new)."""
    from supplybrain_pipelines.resources.warehouse import bulk_upsert

    sb = spec.table.c
    stored = {(r.sku_unit_id, r.warehouse_id): (r.quantity, r.updated_at) for r in conn.execute(
        sa.select(sb.sku_unit_id, sb.warehouse_id, sb.quantity, sb.updated_at))}
    now = conn.execute(sa.select(sa.func.now())).scalar_one()
    columns = ["sku_unit_id", "warehouse_id", "quantity", "updated_at"]
    rows = []
    for row in res.rows:
        values = dict(zip(res.columns, row, strict=True))
        key = (values["sku_unit_id"], values["warehouse_id"])
        updated_at = values.get("updated_at")
        if updated_at is None:
            old = stored.get(key)
            updated_at = old[1] if old is not None and old[0] == values["quantity"] else now
        rows.append((*key, values["quantity"], updated_at))
    result = bulk_upsert(conn, spec.table, columns, rows, spec.conflict)
    return Counts(inserted=result.inserted, updated=result.updated,
                  unchanged=len(rows) - result.written)


def _staged_rows(conn: Connection, staged: Staged) -> Resolved:
    """The staged rows, in file order, as the row-by-row writes take them."""
    cols = ", ".join(f'"{c}"' for c in staged.columns)
    rows = conn.execute(sa.text(f"SELECT {cols} FROM {STAGE} ORDER BY _line")).all()
    return Resolved(list(staged.columns), [tuple(r) for r in rows])


class ChunkWrites:
    """The writes of a file whose rows go to its table chunk by chunk as they are staged
    (``stage.ChunkWrite``): orders, and plain upserts (no replace scope). Called once per
    chunk with the rows in ``stage.CHUNK``; ``finish`` gives the file's counts."""

    def __init__(self, spec: FileSpec) -> None:
        self.spec, self.orders = spec, OrderWrites()
        self.inserted = self.updated = 0

    def __call__(self, conn: Connection, columns: list[str], rows: int) -> None:
        if self.spec.write == "orders":
            self.orders.write(conn, CHUNK, rows)
            return
        result = _upsert_from(conn, self.spec, CHUNK, columns)
        self.inserted += result.inserted
        self.updated += result.updated

    @property
    def keys_unique(self) -> bool:
        """Every chunk went in by plain insert under the table's primary key, which is the
        file's only key: no key repeats in the file (orders only)."""
        return self.spec.write == "orders" and self.orders.keys_unique

    def finish(self, conn: Connection, staged: Staged) -> tuple[Counts, int]:
        if self.spec.write == "orders":
            return self.orders.finish(conn, staged.rows)
        return Counts(inserted=self.inserted, updated=self.updated,
                      unchanged=staged.rows - self.inserted - self.updated), 0


def chunk_writes(spec: FileSpec) -> ChunkWrites | None:
    """The chunk-by-chunk writes of a file, or None when it is written once staged."""
    if spec.write == "orders" or (spec.write == "upsert" and not spec.replace_scope):
        return ChunkWrites(spec)
    return None


def _upsert_from(conn: Connection, spec: FileSpec, source: str, cols: list[str]
                 ) -> UpsertResult:
    from supplybrain_pipelines.resources.warehouse import upsert_from

    with conn.connection.driver_connection.cursor() as cur:
        return upsert_from(cur, spec.table, source, cols, spec.conflict,
                           [c for c in cols if c not in spec.conflict])


def write(conn: Connection, spec: FileSpec, staged: Staged) -> tuple[Counts, int]:
    """Write a staged file's rows in the caller's transaction; returns the counts and, for
    orders, the number of days whose ``orders_daily`` rows were rebuilt."""
    if spec.write == "orders":
        return write_orders(conn, staged.rows)
    if spec.write == "upsert" and not spec.replace_scope:
        result = _upsert_from(conn, spec, STAGE, staged.columns)
        return Counts(inserted=result.inserted, updated=result.updated,
                      unchanged=staged.rows - result.written), 0
    res = _staged_rows(conn, staged)
    if spec.write in ("first_row", "purchase_order"):
        return _first_rows(conn, spec, res), 0
    if spec.write == "stock":
        return _stock(conn, spec, res), 0
    return _upsert(conn, spec, res), 0
