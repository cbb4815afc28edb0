"""``bulk_upsert(…, new_rows=…)``: rows the caller found new are COPYed straight into the table
(binary), with the same result as the upsert, also when one of them exists after all."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import (
    NewRowsCopy,
    PostgresWarehouse,
    UpsertResult,
    bulk_upsert,
)
from supplybrain_pipelines_tests.fixtures_db import fetch_all, url_text

COLUMNS = ["code", "name"]
KEY = ["code"]
ORDER_COLUMNS = ("srid", "account_id", "ordered_at", "last_change_at", "barcode", "total_price",
                 "price_with_disc", "is_cancel")
AT = datetime(2026, 3, 4, 15, 8, 31, tzinfo=UTC)


@pytest.fixture
def warehouse(migrated_db_url: URL) -> PostgresWarehouse:
    return PostgresWarehouse(database_url=url_text(migrated_db_url))


def articles(url: URL) -> list[tuple]:
    return fetch_all(url, "SELECT code, name, xmin::text FROM supplybrain.article ORDER BY code")


def test_new_rows_count_as_inserted_beside_the_upserted_ones(warehouse, migrated_db_url):
    warehouse.bulk_upsert(t.article, COLUMNS, [("A", "a"), ("B", "b")], KEY)
    before = {code: xmin for code, _, xmin in articles(migrated_db_url)}
    with warehouse.transaction() as conn:
        result = bulk_upsert(conn, t.article, COLUMNS, [("A", "a"), ("B", "B!")], KEY,
                             new_rows=[("C", "c"), ("D", None)])
    assert result == UpsertResult(inserted=2, updated=1)
    after = articles(migrated_db_url)
    assert [(code, name) for code, name, _ in after] == [("A", "a"), ("B", "B!"), ("C", "c"),
                                                          ("D", None)]
    assert after[0][2] == before["A"]  # unchanged, not rewritten


def test_a_new_row_that_exists_after_all_is_upserted_with_the_rest(warehouse, migrated_db_url):
    warehouse.bulk_upsert(t.article, COLUMNS, [("A", "a")], KEY)
    with warehouse.transaction() as conn:
        result = bulk_upsert(conn, t.article, COLUMNS, [], KEY,
                             new_rows=[("A", "a changed"), ("Z", "z")])
        # the transaction goes on after the rolled-back COPY
        assert conn.execute(sa.text("SELECT count(*) FROM supplybrain.article")).scalar() == 2
    assert result == UpsertResult(inserted=1, updated=1)
    assert [(c, n) for c, n, _ in articles(migrated_db_url)] == [("A", "a changed"), ("Z", "z")]


def test_a_failing_new_row_writes_nothing(warehouse, migrated_db_url):
    with pytest.raises(psycopg.errors.StringDataRightTruncation), warehouse.transaction() as conn:
        bulk_upsert(conn, t.article, COLUMNS, [("A", "a")], KEY,
                    new_rows=[("B", "b"), ("C", "x" * 300)])  # name is varchar(255)
    assert articles(migrated_db_url) == []


def test_binary_copy_keeps_every_numeric_exactly(warehouse, migrated_db_url):
    shared = Decimal("1547.5")  # one object in many rows: encoded once
    prices = [shared, shared, Decimal("5"), Decimal("5.0"), Decimal("0.05"), Decimal("-0.0"),
              Decimal("99999999999.99"), 12, None]
    rows = [(f"s{n}", 1, AT, AT, "b", price if price is not None else Decimal(1), price, False)
            for n, price in enumerate(prices)]
    with warehouse.transaction() as conn:
        result = bulk_upsert(conn, t.wb_orders, ORDER_COLUMNS, [], ["srid"], new_rows=rows)
    assert result == UpsertResult(len(rows), 0)
    stored = dict(fetch_all(migrated_db_url, "SELECT srid, price_with_disc "
                            "FROM supplybrain.wb_orders"))
    assert [stored[f"s{n}"] for n in range(len(prices))] == [
        None if p is None else Decimal(p).quantize(Decimal("0.01")) for p in prices]
    assert fetch_all(migrated_db_url, "SELECT DISTINCT ordered_at FROM supplybrain.wb_orders") \
        == [(AT,)]


def test_equal_numerics_of_another_scale_keep_their_text_in_an_unscaled_column(migrated_db_url):
    """Encodings are shared by equal value only where PostgreSQL rescales anyway
    (``numeric(p, s)``); an unscaled ``numeric`` column stores each value as it was given."""
    table = sa.Table("scale_probe", sa.MetaData(), sa.Column("k", sa.Text, primary_key=True),
                     sa.Column("plain", sa.Numeric), sa.Column("scaled", sa.Numeric(10, 2)))
    engine = sa.create_engine(migrated_db_url, poolclass=sa.pool.NullPool)
    table.create(engine)
    try:
        values = [Decimal("1.0"), Decimal("1.00"), Decimal("1"), Decimal("2.50")]
        with engine.begin() as conn:
            result = bulk_upsert(conn, table, ["k", "plain", "scaled"], [], ["k"],
                                 new_rows=[(str(n), v, v) for n, v in enumerate(values)])
            assert result == UpsertResult(len(values), 0)
            stored = conn.execute(sa.text(
                "SELECT plain::text, scaled::text FROM scale_probe ORDER BY k")).all()
        assert stored == [("1.0", "1.00"), ("1.00", "1.00"), ("1", "1.00"), ("2.50", "2.50")]
    finally:
        table.drop(engine)
        engine.dispose()


def test_batches_stream_into_one_copy(warehouse, migrated_db_url):
    with warehouse.transaction() as conn, NewRowsCopy(conn, t.article, COLUMNS) as copying:
        copying.write([("A", "a"), ("B", "b")])
        copying.write(iter([("C", "c")]))
        status = conn.connection.driver_connection.info.transaction_status
        assert status == psycopg.pq.TransactionStatus.ACTIVE  # one COPY, still going on
        assert copying.close() == 3
        copying.write([("D", "d")])  # a second COPY after the first one ended
        assert copying.close() == 1
    assert [(c, n) for c, n, _ in articles(migrated_db_url)] == [
        ("A", "a"), ("B", "b"), ("C", "c"), ("D", "d")]


def test_a_key_there_after_all_in_a_later_batch_writes_none_of_the_copy(warehouse,
                                                                        migrated_db_url):
    warehouse.bulk_upsert(t.article, COLUMNS, [("B", "old")], KEY)
    with warehouse.transaction() as conn, NewRowsCopy(conn, t.article, COLUMNS) as copying:
        copying.write([("A", "a")])
        copying.write([("B", "b"), ("C", "c")])
        assert copying.close() is None
        assert copying.written == [("A", "a"), ("B", "b"), ("C", "c")]
        # the transaction goes on: the caller upserts them
        assert bulk_upsert(conn, t.article, COLUMNS, copying.written, KEY) == UpsertResult(2, 1)
    assert [(c, n) for c, n, _ in articles(migrated_db_url)] == [("A", "a"), ("B", "b"),
                                                                  ("C", "c")]


def test_an_error_in_an_open_copy_rolls_back_cleanly(warehouse, migrated_db_url):
    with (pytest.raises(RuntimeError, match="the page was given up"),
          warehouse.transaction() as conn, NewRowsCopy(conn, t.article, COLUMNS) as copying):
        copying.write([("A", "a")])
        raise RuntimeError("the page was given up")  # the COPY is still open here
    with (pytest.raises(psycopg.errors.StringDataRightTruncation),
          warehouse.transaction() as conn, NewRowsCopy(conn, t.article, COLUMNS) as copying):
        copying.write([("B", "b")])
        copying.write([("C", "x" * 300)])  # name is varchar(255)
        copying.close()
    assert articles(migrated_db_url) == []
    warehouse.bulk_upsert(t.article, COLUMNS, [("Z", "z")], KEY)  # the connection pool is fine
    assert [c for c, _, _ in articles(migrated_db_url)] == ["Z"]
