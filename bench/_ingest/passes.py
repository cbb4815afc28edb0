"""The ingestion bench's measured paths and the table resets between them.

Owns the five paths, each a function that does one pass and returns the rows it handled: A
(:func:`run_pipeline`, the real ``ingest_incremental``), V (:func:`run_validate`, with
:func:`check_all`), W (:func:`run_writes`), B (:func:`run_bulk`) and C (:func:`run_row_by_row`
and its statement), the once-only pydantic reference (:func:`run_pydantic`), and
:func:`reset` / :func:`count_orders` on the tables the orders ingestion writes.
"""

from __future__ import annotations

import sqlalchemy as sa

from _ingest.replay import CONTEXT, ReplayMarketplace
from supplybrain_pipelines.assets.ingest._pages import write_page
from supplybrain_pipelines.assets.ingest._run import IngestConfig
from supplybrain_pipelines.assets.ingest.wb import ORDERS, ingest_incremental
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.records import validate_page
from supplybrain_pipelines.logic.records_fast import CheckedPage, check_page
from supplybrain_pipelines.resources.marketplace import WbPage
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse, bulk_upsert

#: Every table the orders ingestion writes: emptied before each timed pass.
STATE_TABLES = (t.wb_orders, t.ingest_cursors, t.quarantine, t.unmatched_items,
                t.account_health)


def run_pipeline(warehouse, pages_by_account: dict[int, list[WbPage]]) -> int:
    """A: what the ``wb_orders`` asset does, page by page; returns records processed.
    ``warehouse`` is a :class:`PostgresWarehouse` or a :class:`StepTimer` in front of one."""
    outcomes = ingest_incremental(CONTEXT, IngestConfig(page_budget_seconds=None), warehouse,
                                  ReplayMarketplace(pages_by_account), ORDERS)
    skipped = [o for o in outcomes if o.skipped]
    if skipped:
        raise RuntimeError(f"accounts skipped in the pipeline pass: {skipped}")
    return sum(len(p.records) for pages in pages_by_account.values() for p in pages)


def check_all(pages_by_account: dict[int, list[WbPage]]) -> dict[int, list[CheckedPage]]:
    """V: ``check_page`` of every page exactly as the asset calls it."""
    out: dict[int, list[CheckedPage]] = {}
    for account_id, pages in pages_by_account.items():
        out[account_id] = []
        for page in pages:
            checked = check_page(page.records, ORDERS.model, (account_id,))
            if checked.rejected:
                raise RuntimeError(f"{len(checked.rejected)} records rejected; the benchmark "
                                   "expects a clean business")
            out[account_id].append(checked)
    return out


def run_validate(pages_by_account: dict[int, list[WbPage]]) -> int:
    """V, timed: check every page; returns records processed (as A counts them)."""
    check_all(pages_by_account)
    return sum(len(p.records) for pages in pages_by_account.values() for p in pages)


def run_pydantic(pages_by_account: dict[int, list[WbPage]]) -> int:
    """Reference: ``validate_page`` (the pydantic model for every record), as A did before."""
    for pages in pages_by_account.values():
        for page in pages:
            validate_page(page.records, ORDERS.model.model, key=lambda r: r.srid,
                          version=lambda r: r.last_change)
    return sum(len(p.records) for pages in pages_by_account.values() for p in pages)


def run_writes(warehouse: PostgresWarehouse, accounts: dict[int, object],
               checked: dict[int, list[CheckedPage]]) -> int:
    """W: A's page transactions alone, on already-checked pages."""
    for account_id, pages in checked.items():
        for page in pages:
            with warehouse.transaction() as conn:
                write_page(conn, ORDERS, accounts[account_id], page, CONTEXT.run.run_id)
    return sum(len(p.rows) + len(p.rejected) for pages in checked.values() for p in pages)


def run_bulk(warehouse: PostgresWarehouse, tuples_by_page: list[list[tuple]]) -> int:
    """B: ``bulk_upsert`` of prebuilt row tuples, one transaction per page."""
    for rows in tuples_by_page:
        with warehouse.transaction() as conn:
            bulk_upsert(conn, t.wb_orders, ORDERS.columns, rows, [ORDERS.key])
    return sum(len(rows) for rows in tuples_by_page)


def _row_by_row_sql() -> str:
    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    cols = ORDERS.columns
    update = [c for c in cols if c != ORDERS.key]
    return (f"INSERT INTO {q(t.wb_orders.schema)}.{q(t.wb_orders.name)} AS t "
            f"({', '.join(q(c) for c in cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
            f"ON CONFLICT ({q(ORDERS.key)}) DO UPDATE SET "
            f"{', '.join(f'{q(c)} = EXCLUDED.{q(c)}' for c in update)} "
            f"WHERE ROW({', '.join(f't.{q(c)}' for c in update)}) IS DISTINCT FROM "
            f"ROW({', '.join(f'EXCLUDED.{q(c)}' for c in update)})")


ROW_BY_ROW_SQL = _row_by_row_sql()


def run_row_by_row(warehouse: PostgresWarehouse, rows: list[tuple]) -> int:
    """C: one INSERT ... ON CONFLICT statement per row, one transaction (psycopg's default
    prepare_threshold applies: the statement is prepared server-side after 5 executions)."""
    with warehouse.transaction() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            for row in rows:
                cur.execute(ROW_BY_ROW_SQL, row)
    return len(rows)


def reset(engine: sa.Engine) -> None:
    names = ", ".join(f"{tb.schema}.{tb.name}" for tb in STATE_TABLES)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names}"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("CHECKPOINT"))


def count_orders(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(t.wb_orders)).scalar_one()
