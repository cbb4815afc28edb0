"""The page write of the incremental WB feeds on real PostgreSQL: stale check, COPY of new rows,
upsert of the others, quarantine, unmatched barcodes and the cursor, all in one transaction; and
the overlap of the next page's preparation with the write of the one before."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.ingest import _pages
from supplybrain_pipelines.assets.ingest import wb as wb_asset
from supplybrain_pipelines.assets.ingest._pages import (
    PageChunks,
    PageWriter,
    stored_versions,
    write_page,
)
from supplybrain_pipelines.assets.ingest._run import IngestConfig
from supplybrain_pipelines.assets.ingest.state import note_unmatched
from supplybrain_pipelines.assets.ingest.wb import ORDERS, SALES, ingest_incremental
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.records_fast import check_page
from supplybrain_pipelines.resources.marketplace import Account, ApiError, WbPage
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.token_crypto import encrypt_token
from supplybrain_pipelines_tests.fixtures_db import fetch_all, url_text

ACCOUNT = Account(kind="wb", id=1, name="shop", token="secret-token")
MAPPED = "2037401340280"


def order(srid: str, changed: str = "2026-03-06T10:11:07", **changes) -> dict:
    return {"srid": srid, "date": "2026-03-04T18:08:31", "lastChangeDate": changed,
            "barcode": MAPPED, "supplierArticle": "MC-1001", "techSize": "M", "nmId": 1,
            "warehouseName": "Коледино", "totalPrice": 1887.5, "priceWithDisc": 1500,
            "finishedPrice": None, "isCancel": False, "cancelDate": "0001-01-01T00:00:00",
            "gNumber": "g", **changes}


@pytest.fixture
def engine(migrated_db_url):
    eng = sa.create_engine(migrated_db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO supplybrain.article (code, name) VALUES ('A', 'A')"))
        conn.execute(sa.insert(t.article_wb_mapping).values(
            article_id=sa.select(t.article.c.id).scalar_subquery(), wb_sku=MAPPED))
    yield eng
    eng.dispose()


def store(engine, *records: dict) -> None:
    with engine.begin() as conn:
        write_page(conn, ORDERS, ACCOUNT, check_page(list(records), ORDERS.model, (1,)), "r0")


def stored(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {row.srid: row for row in conn.execute(sa.text(
            "SELECT srid, last_change_at, is_cancel, total_price, xmin::text AS xmin "
            "FROM supplybrain.wb_orders"))}


def test_a_page_inserts_new_rows_updates_changed_ones_and_quarantines_stale_ones(engine):
    store(engine, order("same"), order("changed"), order("older"))
    before = stored(engine)
    page = check_page([
        order("same"),  # unchanged: left alone
        order("changed", "2026-03-07T09:00:00", isCancel=True,
              cancelDate="2026-03-07T09:00:00"),
        order("older", "2026-03-05T00:00:00"),  # older than the stored version: stale
        order("new", "2026-03-08T12:00:00", barcode="999000111"),  # unknown barcode: kept
        order("bad", totalPrice="1887"),
    ], ORDERS.model, (ACCOUNT.id,))
    with engine.begin() as conn:
        written = write_page(conn, ORDERS, ACCOUNT, page, "r1")
    assert (written.rows, written.inserted, written.updated) == (3, 1, 1)
    assert (written.quarantined, written.unmatched) == (2, 1)
    after = stored(engine)
    assert after["same"].xmin == before["same"].xmin  # not rewritten
    assert after["changed"].is_cancel and not before["changed"].is_cancel
    assert after["older"] == before["older"]
    assert after["new"].total_price == Decimal("1887.50")
    quarantined = fetch_all(engine.url, "SELECT reason_code, reason, record ->> 'srid', "
                            "record ->> 'lastChangeDate' FROM supplybrain.quarantine "
                            "WHERE run_id = 'r1' ORDER BY id")
    assert [row[0] for row in quarantined] == ["wrong_type", "stale_duplicate"]
    # the stale record is the raw payload as received, with why
    assert quarantined[1][2:] == ("older", "2026-03-05T00:00:00")
    assert quarantined[1][1].startswith("srid: the stored record changed later")
    assert fetch_all(engine.url, "SELECT item_key FROM supplybrain.unmatched_items") == \
        [("999000111",)]
    assert fetch_all(engine.url, "SELECT cursor_raw, cursor_at FROM supplybrain.ingest_cursors") \
        == [("2026-03-08T12:00:00", datetime(2026, 3, 8, 9, 0, tzinfo=UTC))]


def _chunks_of(page, keys=None) -> PageChunks:
    parts = PageChunks(frozenset(row[0] for row in page.rows) if keys is None else keys)
    parts.put(page)
    parts.close()
    return parts


def test_rows_checked_as_new_are_decided_when_the_page_is_written(engine):
    page = check_page([order("a", "2026-03-06T10:00:00"), order("b", "2026-03-06T10:00:00"),
                       order("c")], ORDERS.model, (1,))
    # meanwhile the page before commits "a" in a newer version and "b" in an older one
    store(engine, order("a", "2026-03-06T11:00:00"), order("b", "2026-03-06T09:00:00"))
    with engine.begin() as conn:
        written = write_page(conn, ORDERS, ACCOUNT, _chunks_of(page), "r1")
    assert (written.rows, written.inserted, written.updated, written.quarantined) == (2, 1, 1, 1)
    assert stored(engine)["a"].last_change_at == datetime(2026, 3, 6, 8, 0, tzinfo=UTC)
    assert stored(engine)["b"].last_change_at == datetime(2026, 3, 6, 7, 0, tzinfo=UTC)


def test_a_new_key_that_another_writer_stored_meanwhile_is_upserted_not_duplicated(
        engine, monkeypatch):
    page = check_page([order("x"), order("y")], ORDERS.model, (1,))
    store(engine, order("x", "2026-03-05T00:00:00"))
    # as if it landed between the look-up and the COPY
    monkeypatch.setattr(_pages, "stored_versions", lambda *args: {})
    with engine.begin() as conn:
        written = write_page(conn, ORDERS, ACCOUNT, page, "r1")
    assert (written.inserted, written.updated) == (1, 1)
    assert sorted(stored(engine)) == ["x", "y"]


def test_a_key_stored_meanwhile_in_a_later_chunk_sends_the_whole_page_to_the_upsert(
        engine, monkeypatch):
    first = check_page([order("p"), order("q")], ORDERS.model, (1,))
    second = check_page([order("r"), order("x")], ORDERS.model, (1,))
    store(engine, order("x", "2026-03-05T00:00:00"))
    monkeypatch.setattr(_pages, "stored_versions", lambda *args: {})  # as if it landed after
    parts = PageChunks(frozenset("pqrx"))
    parts.put(first)
    parts.put(second)
    parts.close()
    with engine.begin() as conn:
        written = write_page(conn, ORDERS, ACCOUNT, parts, "r1")
    assert (written.rows, written.inserted, written.updated) == (4, 3, 1)
    assert sorted(stored(engine)) == ["p", "q", "r", "x"]
    assert stored(engine)["x"].last_change_at == datetime(2026, 3, 6, 7, 11, 7, tzinfo=UTC)


def test_a_key_the_page_names_under_another_name_is_looked_up_too(engine):
    store(engine, order("a"))
    page = check_page([order("a", "2026-03-05T00:00:00"), order("b")], ORDERS.model, (1,))
    with engine.begin() as conn:  # the page's key list lacks "a"
        written = write_page(conn, ORDERS, ACCOUNT, _chunks_of(page, frozenset({"b"})), "r")
    assert (written.rows, written.inserted, written.quarantined) == (1, 1, 1)


def test_stored_versions_takes_any_number_of_keys_and_any_key(engine):
    page = check_page([order("s-69999"), order("odd")], ORDERS.model, (1,))
    # a control character is screened out of a record: the key is stored by hand
    page.rows[1] = ("odd\x1fkey", *page.rows[1][1:])
    with engine.begin() as conn:
        write_page(conn, ORDERS, ACCOUNT, page, "r0")
    keys = [f"s-{n}" for n in range(70_000)]
    with engine.connect() as conn:
        assert list(stored_versions(conn, t.wb_orders, "srid", keys)) == ["s-69999"]
        # a key holding the separator goes as an array parameter
        found = stored_versions(conn, t.wb_orders, "srid", [*keys, "odd\x1fkey"])
        assert set(found) == {"s-69999", "odd\x1fkey"}


def test_unmatched_items_are_noted_in_one_statement_however_many(engine):
    items = {f"99{n:011d}": "WB barcode not in article_wb_mapping" for n in range(20_000)}
    with engine.begin() as conn:  # one bind parameter per value would stop at 65 535
        note_unmatched(conn, "wb", ACCOUNT, items)
        note_unmatched(conn, "wb", ACCOUNT, dict(list(items.items())[:10]))
    assert fetch_all(engine.url, "SELECT count(*), count(DISTINCT detail) "
                     "FROM supplybrain.unmatched_items") == [(20_000, 1)]


def test_sales_pages_go_the_same_way(engine):
    sale = {"saleID": "R1", "srid": "x", "date": "2026-03-07T10:00:00",
            "lastChangeDate": "2026-03-07T12:00:00", "barcode": MAPPED,
            "warehouseName": None, "forPay": -1100.257, "finishedPrice": 1145}
    page = check_page([sale], SALES.model, (1,))
    with engine.begin() as conn:
        assert write_page(conn, SALES, ACCOUNT, page, "r").inserted == 1
    assert fetch_all(engine.url, "SELECT kind, for_pay FROM supplybrain.wb_sales") == \
        [("return", Decimal("-1100.26"))]


# -- the overlap --------------------------------------------------------------------------
def _connect(log: list):
    """A stand-in for ``warehouse.connection`` that logs what the writer does with it."""
    @contextmanager
    def begin():
        log.append("begin")
        try:
            yield
        except BaseException:
            log.append("rollback")
            raise
        log.append("commit")

    @contextmanager
    def connect():
        log.append("connect")
        try:
            yield SimpleNamespace(begin=begin)
        finally:
            log.append("close")
    return connect


def test_the_writer_writes_in_order_and_stops_at_the_first_failure():
    log, done = [], []

    def write(n):
        def run(conn):
            log.append(f"write {n}")
            if n == 2:
                raise RuntimeError("page 2 failed")
            return n
        return run

    with pytest.raises(RuntimeError, match="page 2"), PageWriter(_connect(log)) as writer:
        for n in (1, 2, 3):
            writer.submit(write(n), done.append)
    assert done == [1]
    assert log == ["connect", "begin", "write 1", "commit", "begin", "write 2", "rollback",
                   "close"]


def test_the_caller_runs_ahead_of_the_writer_by_one_page_and_no_more():
    log, done, released = [], [], threading.Event()

    def slow_first(conn):
        log.append(f"write 1, released in time: {released.wait(10)}")
        return 1

    with PageWriter(_connect(log), ahead=1) as writer:
        writer.submit(slow_first, done.append)
        writer.submit(lambda conn: log.append("write 2") or 2, done.append)  # does not wait
        assert done == []
        released.set()
        writer.submit(lambda conn: log.append("write 3") or 3, done.append)  # waits for 1
        assert done[:1] == [1]
    assert done == [1, 2, 3]
    assert [entry for entry in log if entry.startswith("write")] == [
        "write 1, released in time: True", "write 2", "write 3"]


def test_leaving_with_an_error_still_waits_for_the_page_in_flight():
    log, done = [], []
    with pytest.raises(KeyError), PageWriter(_connect(log)) as writer:
        writer.submit(lambda conn: log.append("write") or 1, done.append)
        raise KeyError("the next fetch failed")
    assert done == [1]
    assert log[-2:] == ["commit", "close"]


# -- the asset's loop ---------------------------------------------------------------------
class _Replay:
    def __init__(self, pages, fail_after=None):
        self._pages, self._fail_after = pages, fail_after

    def wb(self, account, *, logger=None):
        return self

    def pages(self, endpoint, date_from, *, flag=0, max_pages=None):
        for n, page in enumerate(self._pages, 1):
            yield page
            if n == self._fail_after:
                raise ApiError("network", endpoint="wb/orders", account_id=1)


def _ingest(url, marketplace):
    context = SimpleNamespace(log=logging.getLogger("test"), run=SimpleNamespace(run_id="r"))
    warehouse = PostgresWarehouse(database_url=url_text(url))
    try:
        # no page budget: this stand-in context has no instance to read the run's start from
        return ingest_incremental(context, IngestConfig(page_budget_seconds=None), warehouse,
                                  marketplace, ORDERS)
    finally:
        warehouse.teardown_after_execution(None)


@pytest.fixture
def with_account(engine):
    with engine.begin() as conn:
        conn.execute(sa.insert(t.wb_integration_accounts).values(
            id=ACCOUNT.id, name=ACCOUNT.name,
            api_token_encrypted=encrypt_token(ACCOUNT.token)))
    return engine


def _pages_of(*srids_per_page):
    """Pages of orders whose version follows the srid ("a" oldest), as WB pages them: a row at
    a page boundary comes again, unchanged, at the start of the next page."""
    return [WbPage([order(s, f"2026-03-06T10:00:{ord(s) - ord('a'):02d}") for s in srids],
                   "x", None) for srids in srids_per_page]


def test_a_failed_write_keeps_the_pages_before_it_and_their_cursor(with_account, monkeypatch):
    real, calls = _pages.write_page, []

    def flaky(conn, feed, account, page, run_id):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(conn, feed, account, page, run_id)

    monkeypatch.setattr(wb_asset, "write_page", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        _ingest(with_account.url, _Replay(_pages_of(["a", "b"], ["b", "c"], ["d"])))
    assert sorted(stored(with_account)) == ["a", "b"]
    assert len(calls) == 2  # the third page was never written
    assert fetch_all(with_account.url, "SELECT cursor_raw FROM supplybrain.ingest_cursors") == \
        [("2026-03-06T10:00:01",)]


def test_a_failed_fetch_keeps_the_page_in_flight_and_skips_the_account(with_account):
    outcomes = _ingest(with_account.url, _Replay(_pages_of(["a", "b"], ["c"]), fail_after=1))
    assert (outcomes[0].pages, outcomes[0].inserted, outcomes[0].skipped) == (1, 2, "network")
    assert sorted(stored(with_account)) == ["a", "b"]
    health = fetch_all(with_account.url, "SELECT consecutive_failures, last_error_class "
                       "FROM supplybrain.account_health")
    assert health == [(1, "network")]


def test_consecutive_pages_that_share_boundary_rows_store_each_order_once(with_account):
    outcomes = _ingest(with_account.url, _Replay(_pages_of(["a", "b"], ["b", "c"], ["c", "d"])))
    assert (outcomes[0].pages, outcomes[0].inserted, outcomes[0].updated) == (3, 4, 0)
    assert sorted(stored(with_account)) == ["a", "b", "c", "d"]
    assert fetch_all(with_account.url, "SELECT count(*) FROM supplybrain.quarantine") == [(0,)]


# -- pages in chunks ------------------------------------------------------------------------
def test_a_page_is_cut_in_chunks_unless_a_key_may_come_twice(monkeypatch):
    monkeypatch.setattr(_pages, "CHUNK_ROWS", 2)

    def chunks(records, feed):
        return _pages.split_page(records, feed)[1]

    records = [order(s) for s in "abcde"]
    assert [len(chunk) for chunk in chunks(records, ORDERS)] == [2, 2, 1]
    assert chunks([*records, order("b")], ORDERS) == [[*records, order("b")]]
    # invalid keys cannot meet a valid one: they do not keep a page whole
    assert len(chunks([*records, order(""), {"srid": 5}, ["x"]], ORDERS)) == 4
    sales = [{"saleID": f"S{n}"} for n in range(3)]
    assert len(chunks(sales, SALES)) == 2
    # pydantic would also read "sale_id": the key may hide there, so the page stays whole
    assert len(chunks([*sales, {"sale_id": "S1"}], SALES)) == 1


def test_a_page_names_its_raw_keys_whether_it_is_cut_or_not(monkeypatch):
    monkeypatch.setattr(_pages, "CHUNK_ROWS", 2)
    records = [order(s) for s in "abc"] + [order(""), {"srid": 5}, ["x"], order("a")]
    assert _pages.split_page(records, ORDERS)[0] == frozenset({"a", "b", "c", ""})
    assert _pages.split_page(records[:3], ORDERS)[0] == frozenset("abc")
    assert _pages.split_page([{"saleID": "S1"}, {"sale_id": "S2"}], SALES)[0] == {"S1"}


def _outcome_and_tables(url, pages):
    outcome = _ingest(url, _Replay(pages))[0]
    tables = (fetch_all(url, "SELECT srid, last_change_at, is_cancel, total_price "
                        "FROM supplybrain.wb_orders ORDER BY srid"),
              fetch_all(url, "SELECT reason_code, reason, record FROM supplybrain.quarantine "
                        "ORDER BY id"),
              fetch_all(url, "SELECT cursor_raw, cursor_at FROM supplybrain.ingest_cursors"),
              fetch_all(url, "SELECT item_key FROM supplybrain.unmatched_items"))
    return (outcome.pages, outcome.inserted, outcome.updated, outcome.quarantined,
            outcome.unmatched), tables


def test_chunked_pages_write_what_whole_pages_write(with_account, monkeypatch):
    pages = _pages_of(["a", "b", "c", "d", "e"], ["e", "f", "g", "h", "i", "j"], ["k", "l"])
    pages[0].records.insert(2, order("x", totalPrice=-1))  # rejected
    pages[1].records[3] = order("h", "2026-03-06T09:00:00", barcode="999")  # unmatched
    pages[1].records.append(order("c", "2026-03-06T09:59:00"))  # older than stored: stale
    pages[2].records.extend([order("k", "2026-03-06T10:00:30"), order("b", isCancel=True)])
    whole = _outcome_and_tables(with_account.url, pages)
    with with_account.begin() as conn:
        conn.execute(sa.text("TRUNCATE supplybrain.wb_orders, supplybrain.quarantine, "
                             "supplybrain.ingest_cursors, supplybrain.unmatched_items, "
                             "supplybrain.account_health"))
    monkeypatch.setattr(_pages, "CHUNK_ROWS", 2)
    assert _outcome_and_tables(with_account.url, pages) == whole
    assert whole[0] == (3, 12, 1, 3, 1)  # x rejected, c stale, the older k a duplicate


def test_a_page_that_fails_half_way_through_writes_none_of_it(with_account, monkeypatch):
    monkeypatch.setattr(_pages, "CHUNK_ROWS", 2)
    real, calls = wb_asset.check_page, []

    def failing(records, model, tail=()):
        calls.append(1)
        if len(calls) == 4:  # the second chunk of the second page
            raise MemoryError("out of memory")
        return real(records, model, tail)

    monkeypatch.setattr(wb_asset, "check_page", failing)
    with pytest.raises(MemoryError):
        _ingest(with_account.url, _Replay(_pages_of(["a", "b", "c"], ["d", "e", "f"])))
    assert sorted(stored(with_account)) == ["a", "b", "c"]
    assert fetch_all(with_account.url, "SELECT cursor_raw FROM supplybrain.ingest_cursors") == \
        [("2026-03-06T10:00:02",)]
