"""Take the sandbox's business out of the application database (``supplybrain sandbox remove``).

What the sandbox's seed inserted is recorded in ``sandbox_rows`` (``record_seeded``, called by
``devstack/sandbox.seed_sandbox``). :func:`remove_sandbox` deletes, in one transaction:

1. the sandbox's accounts and every row scoped to them: raw WB and MoySklad rows, cursors,
   health, quarantine, unmatched items, and their unified ``orders``, ``orders_daily`` and
   ``stock`` rows (:data:`ACCOUNT_SCOPED` says how each table names its account);
2. the sandbox's articles, unless a unified order or stock row of another source (a real
   account, a CSV import) still names one: then that article is kept and reported. With an
   article go its SKU units and every row of any table that names one of them by
   ``article_id`` or ``sku_unit_id`` (settings, recipes, barcodes, own stock, purchase-order
   lines, demand, supply, proposals, bundle risk, planning health, ...), found from the
   table definitions, so a table added later is covered without a change here;
3. the sandbox's purchase orders that have no line left, and its colours, sizes, bundle types
   and warehouses that no row of any table names any more;
4. the monitoring snapshots (and their alerts): they describe the sandbox's business.

It then forgets the record (what is left is the user's) and leaves the marker :data:`REMOVED`,
so that ``supplybrain dev`` does not seed the sandbox again.

The global planning settings stay (there is one row; the user edits it). Dagster's own history
(materialisations, runs) stays; the next runs recompute every derived table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert

from supplybrain_pipelines.db import tables as t

#: Every table with an ``account_id`` column, and how it tells the account's kind: a column and
#: that column's value for each kind it holds (``stock`` names MoySklad's stores channel
#: ``own``), or no column for a table of one kind. A test fails when a table with an
#: ``account_id`` is missing here.
_BOTH = {"wb": "wb", "moysklad": "moysklad"}
ACCOUNT_SCOPED: dict[str, tuple[str | None, dict[str, str | None]]] = {
    "ingest_cursors": ("account_kind", _BOTH),
    "account_health": ("account_kind", _BOTH),
    "quarantine": ("account_kind", _BOTH),
    "unmatched_items": ("source", _BOTH),
    "orders": ("channel", _BOTH),
    "orders_daily": ("channel", _BOTH),
    "stock": ("channel", {"wb": "wb", "moysklad": "own"}),
    "wb_orders": (None, {"wb": None}),
    "wb_sales": (None, {"wb": None}),
    "wb_stocks": (None, {"wb": None}),
    # its positions go with it (ON DELETE CASCADE)
    "ms_customer_orders": (None, {"moysklad": None}),
    "ms_assortment": (None, {"moysklad": None}),
    "ms_stocks": (None, {"moysklad": None}),
}

#: Master-data tables the seed fills and the removal empties of the sandbox's rows, in the
#: order their rows are recorded; ``global_planning_settings`` is left out on purpose.
SEEDED_TABLES = ("article", "color", "size", "bundle_type", "warehouse", "sku_unit",
                 "bundle_recipe", "article_wb_mapping", "planning_settings", "purchase_order",
                 "purchase_order_item", "wb_integration_accounts",
                 "moysklad_integration_accounts")

#: The ``sandbox_rows.table_name`` of the marker row that ``remove_sandbox`` leaves: ``supplybrain
#: dev`` seeds the sandbox no more (``supplybrain sandbox`` does, and clears the marker).
REMOVED = "(sandbox removed)"

#: Shared vocabulary: removed only when no row of any table names it any more.
VOCABULARY = ("color", "size", "bundle_type", "warehouse")


@dataclass
class Removal:
    """What :func:`remove_sandbox` deleted (rows per table) and the articles it kept."""

    deleted: dict[str, int] = field(default_factory=dict)
    kept_articles: list[str] = field(default_factory=list)

    def add(self, table: str, count: int) -> None:
        if count:
            self.deleted[table] = self.deleted.get(table, 0) + count

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def _tables() -> dict[str, sa.Table]:
    return {table.name: table for table in t.metadata.sorted_tables}


def existing_ids(conn: Connection) -> dict[str, set[int]]:
    """The ids each seeded table holds now (before a seed: what is not the sandbox's)."""
    tables = _tables()
    return {name: set(conn.execute(sa.select(tables[name].c.id)).scalars())
            for name in SEEDED_TABLES}


def record_seeded(conn: Connection, before: dict[str, set[int]]) -> int:
    """Record the rows that appeared since ``before`` as the sandbox's, and clear the marker
    :data:`REMOVED`; returns how many rows were recorded."""
    rows = [{"table_name": name, "row_id": row_id}
            for name, ids in existing_ids(conn).items() for row_id in ids - before[name]]
    conn.execute(sa.delete(t.sandbox_rows).where(t.sandbox_rows.c.table_name == REMOVED))
    if rows:
        stmt = pg_insert(t.sandbox_rows).values(rows)
        conn.execute(stmt.on_conflict_do_nothing())
    return len(rows)


def seeded(conn: Connection, table: str) -> list[int]:
    """The ids of ``table`` the sandbox's seed inserted (and that still exist)."""
    target = _tables()[table]
    s = t.sandbox_rows.c
    return list(conn.execute(
        sa.select(s.row_id).where(s.table_name == table,
                                  sa.exists().where(target.c.id == s.row_id))
        .order_by(s.row_id)).scalars())


def was_removed(conn: Connection) -> bool:
    """Whether ``remove_sandbox`` ran (and no explicit ``supplybrain sandbox`` since)."""
    s = t.sandbox_rows.c
    return conn.execute(sa.select(sa.exists().where(s.table_name == REMOVED))).scalar()


def summary(conn: Connection) -> dict[str, int]:
    """How many of the sandbox's accounts and articles are still in the database."""
    return {"accounts": len(seeded(conn, "wb_integration_accounts"))
            + len(seeded(conn, "moysklad_integration_accounts")),
            "articles": len(seeded(conn, "article"))}


def _delete(conn: Connection, table: sa.Table, where) -> int:
    return conn.execute(sa.delete(table).where(where)).rowcount


def _remove_accounts(conn: Connection, removal: Removal) -> None:
    tables = _tables()
    for kind, account_table in t.ACCOUNT_TABLES.items():
        ids = seeded(conn, account_table.name)
        if not ids:
            continue
        for name, (kind_column, values) in ACCOUNT_SCOPED.items():
            if kind not in values:
                continue
            table = tables[name]
            where = table.c.account_id.in_(ids)
            if kind_column is not None:
                where = sa.and_(where, table.c[kind_column] == values[kind])
            removal.add(name, _delete(conn, table, where))
        removal.add(account_table.name, _delete(conn, account_table,
                                                account_table.c.id.in_(ids)))


def _articles_to_remove(conn: Connection, removal: Removal) -> list[int]:
    """The sandbox's articles that no unified order or stock row of another source names
    (the sandbox's own rows are gone by now); the others are kept and reported."""
    ids = seeded(conn, "article")
    used = set()
    for table in (t.orders, t.stock):
        used |= set(conn.execute(sa.select(table.c.article_id).distinct()
                                 .where(table.c.article_id.in_(ids))).scalars())
    codes = conn.execute(sa.select(t.article.c.code).where(t.article.c.id.in_(used))
                         .order_by(t.article.c.code)).scalars()
    removal.kept_articles = list(codes)
    return [i for i in ids if i not in used]


def _remove_articles(conn: Connection, removal: Removal, article_ids: list[int]) -> None:
    if not article_ids:
        return
    sku_ids = list(conn.execute(sa.select(t.sku_unit.c.id)
                                .where(t.sku_unit.c.article_id.in_(article_ids))).scalars())
    # Dependants first: the reverse of the foreign-key order puts referencing tables before
    # the tables they reference (sku_unit before article).
    for table in reversed(t.metadata.sorted_tables):
        if table.name in ("article", "sku_unit"):
            continue
        clauses = []
        if "article_id" in table.c:
            clauses.append(table.c.article_id.in_(article_ids))
        if "sku_unit_id" in table.c and sku_ids:
            clauses.append(table.c.sku_unit_id.in_(sku_ids))
        if clauses:
            removal.add(table.name, _delete(conn, table, sa.or_(*clauses)))
    if sku_ids:
        removal.add("sku_unit", _delete(conn, t.sku_unit, t.sku_unit.c.id.in_(sku_ids)))
    removal.add("article", _delete(conn, t.article, t.article.c.id.in_(article_ids)))


def _unreferenced(conn: Connection, name: str, ids: list[int]):
    """``<name>.id IN ids`` and no column ``<name>_id`` of any table holds it."""
    target = _tables()[name]
    clauses = [target.c.id.in_(ids)]
    for table in t.metadata.sorted_tables:
        column = table.c.get(f"{name}_id")
        if column is not None:
            clauses.append(~sa.exists().where(column == target.c.id))
    return sa.and_(*clauses)


def _remove_leftovers(conn: Connection, removal: Removal) -> None:
    po_ids = seeded(conn, "purchase_order")
    if po_ids:
        removal.add("purchase_order", _delete(
            conn, t.purchase_order, _unreferenced(conn, "purchase_order", po_ids)))
    for name in VOCABULARY:
        ids = seeded(conn, name)
        if ids:
            removal.add(name, _delete(conn, _tables()[name], _unreferenced(conn, name, ids)))


def remove_sandbox(conn: Connection) -> Removal:
    """Delete the sandbox's business (see the module docstring), in the caller's transaction."""
    removal = Removal()
    _remove_accounts(conn, removal)
    _remove_articles(conn, removal, _articles_to_remove(conn, removal))
    _remove_leftovers(conn, removal)
    removal.add("monitoring_snapshots", _delete(conn, t.monitoring_snapshots, sa.true()))
    # Whatever is left (kept articles, a colour the user's data names) is the user's now.
    conn.execute(sa.delete(t.sandbox_rows))
    conn.execute(sa.insert(t.sandbox_rows).values(table_name=REMOVED, row_id=0))
    return removal
