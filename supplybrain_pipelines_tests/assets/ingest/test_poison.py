"""Poison-proof pages on real PostgreSQL: the idempotent quarantine (one row per record, its
sightings counted, a form JSONB accepts), and the batch fallback that leaves out only the rows
PostgreSQL refuses (tested with rows that bypass screening, so that it is the bisect, not the
screen, that saves the page); and migration 0011 on rows stored before it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.assets.ingest._fallback import write_in_batches
from supplybrain_pipelines.assets.ingest._pages import PageChunks, write_page
from supplybrain_pipelines.assets.ingest.state import quarantine
from supplybrain_pipelines.assets.ingest.wb import ORDERS
from supplybrain_pipelines.db import migrate
from supplybrain_pipelines.logic.records import Rejected
from supplybrain_pipelines.logic.records_fast import check_page
from supplybrain_pipelines.resources.marketplace import Account
from supplybrain_pipelines.resources.warehouse import bulk_upsert
from supplybrain_pipelines_tests.assets.ingest.test_pages import MAPPED, order
from supplybrain_pipelines_tests.db.test_migration_0007 import upgrade_to
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all

TOKEN = "wb-token-" + "t" * 40
ACCOUNT = Account(kind="wb", id=1, name="shop", token=TOKEN)


@pytest.fixture
def engine(migrated_db_url):
    eng = sa.create_engine(migrated_db_url, poolclass=NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO supplybrain.article (code, name) VALUES ('A', 'A')"))
        conn.execute(sa.text("INSERT INTO supplybrain.article_wb_mapping (article_id, wb_sku) "
                             f"SELECT id, '{MAPPED}' FROM supplybrain.article"))
    yield eng
    eng.dispose()


def rows(engine, query: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(query)).all()


QUARANTINE = ("SELECT reason_code, reason, record, record_size, sightings, quarantined_at, "
              "last_seen_at, run_id FROM supplybrain.quarantine ORDER BY id")


def test_a_record_is_quarantined_once_and_its_sightings_counted(engine):
    poisoned = {"srid": "p1", "supplierArticle": "a\u0000b", "note": f"token {TOKEN}",
                "sticker": "\udc80", "spp": float("nan"), "big": "x" * 2000}
    other = {"srid": "p2", "totalPrice": "1"}
    with engine.begin() as conn:
        assert quarantine(conn, ACCOUNT, "wb/orders",
                          [Rejected(poisoned, "unstorable_text", "supplierArticle: NUL"),
                           Rejected(other, "wrong_type", "totalPrice: a string"),
                           Rejected(dict(other), "wrong_type", "totalPrice: a string")],
                          "run-1") == 3
    first = rows(engine, QUARANTINE)
    assert [(r.reason_code, r.sightings, r.run_id) for r in first] == [
        ("unstorable_text", 1, "run-1"), ("wrong_type", 2, "run-1")]
    stored = first[0].record
    assert stored["supplierArticle"] == "a\\u0000b"
    assert stored["sticker"] == "\\udc80"
    assert stored["spp"] == "nan"
    assert stored["note"] == "token ***"
    assert stored["big"] == "x" * 1000 + "...[cut: 2000 characters]"
    # the original's JSON: {"srid":"p1","supplierArticle":"a\u0000b","note":"token <49>",
    # "sticker":"<the surrogate, 1 character>","spp":NaN,"big":"<2000 x>"}
    assert first[0].record_size == len('{"srid":"p1","supplierArticle":"a\\u0000b","note":"token '
                                       '","sticker":"?","spp":NaN,"big":""}') + 49 + 2000

    with engine.begin() as conn:  # the next run's overlap sees the same records again
        assert quarantine(conn, ACCOUNT, "wb/orders",
                          [Rejected(poisoned, "unstorable_text", "supplierArticle: NUL"),
                           Rejected(other, "stale_duplicate", "srid: newer stored")],
                          "run-2") == 2
    again = rows(engine, QUARANTINE)
    assert [(r.reason_code, r.sightings, r.run_id) for r in again] == [
        ("unstorable_text", 2, "run-1"), ("stale_duplicate", 3, "run-1")]
    assert [r.quarantined_at for r in again] == [r.quarantined_at for r in first]
    assert all(a.last_seen_at > f.last_seen_at for a, f in zip(again, first, strict=True))
    assert rows(engine, "SELECT count(*) FROM supplybrain.quarantine "
                f"WHERE record::text LIKE '%{TOKEN[-20:]}%' OR reason LIKE '%{TOKEN[-20:]}%'"
                ) == [(0,)]


def test_another_endpoint_or_account_is_another_row(engine):
    record = [Rejected({"srid": "x"}, "missing_field", "date: missing")]
    with engine.begin() as conn:
        quarantine(conn, ACCOUNT, "wb/orders", record, None)
        quarantine(conn, ACCOUNT, "wb/sales", record, None)
        quarantine(conn, Account(kind="wb", id=2, name="b", token="t2"), "wb/orders", record,
                   None)
    assert rows(engine, "SELECT count(*), sum(sightings) FROM supplybrain.quarantine") == [(3, 3)]


def test_the_bisect_leaves_out_only_the_rows_postgresql_refuses(engine):
    """Rows built by hand, past screening and the model: two overflow numeric(14,2)."""
    good = check_page([order(f"g{n}", f"2026-03-06T10:{n:02d}:00") for n in range(10)],
                      ORDERS.model, (ACCOUNT.id,))
    price_at = ORDERS.model.fields.index("total_price")
    for at in (3, 8):  # 10^13 has 14 digits before the point: more than numeric(14,2) holds
        good.rows[at] = good.rows[at][:price_at] + (Decimal("1e13"),) + \
            good.rows[at][price_at + 1:]
    with engine.begin() as conn:
        written = write_page(conn, ORDERS, ACCOUNT, good, "run-1")
    assert (written.rows, written.inserted, written.quarantined) == (10, 8, 2)
    assert [r.srid for r in rows(engine, "SELECT srid FROM supplybrain.wb_orders ORDER BY srid")
            ] == ["g0", "g1", "g2", "g4", "g5", "g6", "g7", "g9"]
    assert [(r.reason_code, r.reason, r.record["srid"]) for r in rows(engine, QUARANTINE)] == [
        ("write_rejected", "PostgreSQL refused the row: numeric field overflow", "g3"),
        ("write_rejected", "PostgreSQL refused the row: numeric field overflow", "g8")]
    # the cursor moved past the page, refused rows included (g9 is the newest)
    assert rows(engine, "SELECT cursor_raw FROM supplybrain.ingest_cursors") == [
        ("2026-03-06T10:09:00",)]


def test_a_streamed_page_refused_in_its_second_chunk_is_written_again_in_batches(engine):
    first = check_page([order("a1"), order("a2")], ORDERS.model, (ACCOUNT.id,))
    second = check_page([order("b1"), order("b2", "2026-03-06T11:00:00")], ORDERS.model,
                        (ACCOUNT.id,))
    size_at = ORDERS.model.fields.index("nm_id")
    second.rows[0] = second.rows[0][:size_at] + (2 ** 63,) + second.rows[0][size_at + 1:]
    chunks = PageChunks(frozenset({"a1", "a2", "b1", "b2"}))
    for chunk in (first, second):
        chunks.put(chunk)
    chunks.close()
    with engine.begin() as conn:
        written = write_page(conn, ORDERS, ACCOUNT, chunks, None)
    assert (written.inserted, written.quarantined) == (3, 1)
    assert [r.srid for r in rows(engine, "SELECT srid FROM supplybrain.wb_orders ORDER BY srid")
            ] == ["a1", "a2", "b2"]
    [refused] = rows(engine, QUARANTINE)
    assert refused.reason_code == "write_rejected" and refused.record["srid"] == "b1"


def test_write_in_batches_raises_what_is_not_a_data_error(engine):
    with engine.begin() as conn, pytest.raises(sa.exc.ProgrammingError):
        write_in_batches(conn, [1, 2], lambda batch: conn.execute(sa.text("SELECT nope")))


def test_write_in_batches_bisects_down_to_the_refused_rows(engine):
    columns = ("srid", "account_id", "ordered_at", "last_change_at", "barcode", "is_cancel",
               "total_price")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    batch = [(f"s{n}", 1, now, now, MAPPED, False,
              Decimal("1e20") if n in (0, 5, 6) else Decimal(n)) for n in range(7)]
    attempts = []

    def write(part):
        attempts.append(len(part))
        return bulk_upsert(conn, ORDERS.table, columns, part, ["srid"])

    with engine.begin() as conn:
        written, refused = write_in_batches(conn, batch, write)
    assert [at for at, _ in refused] == [0, 5, 6]
    assert sum(w.inserted for w in written) == 4
    # 7 -> 3 + 4; 3 -> 1 + 2 (row 0 alone, then 1-2 fine); 4 -> 2 + 2 (3-4 fine; 5-6 -> 1 + 1)
    assert attempts == [7, 3, 1, 2, 4, 2, 2, 1, 1]


def test_migration_0011_gives_old_rows_a_digest_and_merges_duplicates(empty_db_url):
    upgrade_to(empty_db_url, "0010")
    insert = ("INSERT INTO supplybrain.quarantine (account_kind, account_id, endpoint, "
              "reason_code, reason, record, quarantined_at) VALUES ('wb', 1, 'wb/orders', "
              "'wrong_type', :reason, CAST(:record AS jsonb), :at)")
    for day, record in [(1, '{"srid": "x", "n": 1}'), (2, '{"n": 1, "srid": "x"}'),
                        (3, '{"srid": "x", "n": 1}'), (2, '{"srid": "y"}'), (4, None)]:
        execute(empty_db_url, insert, reason=f"day {day}", record=record,
                at=datetime(2026, 3, day, tzinfo=UTC))
    migrate.upgrade(empty_db_url)
    got = fetch_all(empty_db_url, "SELECT reason, record, sightings, quarantined_at, "
                    "last_seen_at, record_digest FROM supplybrain.quarantine ORDER BY id")
    assert [(r[0], r[1], r[2], r[3].day, r[4].day) for r in got] == [
        ("day 1", {"srid": "x", "n": 1}, 3, 1, 3),
        ("day 2", {"srid": "y"}, 1, 2, 2),
        ("day 4", None, 1, 4, 4)]
    assert got[0][5] == hashlib.sha256(b'{"n":1,"srid":"x"}').hexdigest()
    assert got[2][5] == hashlib.sha256(b"null").hexdigest()


def test_write_in_batches_starts_with_the_halves_when_the_whole_was_refused(engine):
    columns = ("srid", "account_id", "ordered_at", "last_change_at", "barcode", "is_cancel",
               "total_price")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    batch = [(f"s{n}", 1, now, now, MAPPED, False,
              Decimal("1e20") if n in (0, 5, 6) else Decimal(n)) for n in range(7)]
    attempts = []

    def write(part):
        attempts.append(len(part))
        return bulk_upsert(conn, ORDERS.table, columns, part, ["srid"])

    with engine.begin() as conn:
        _, refused = write_in_batches(conn, batch, write, refused_whole=True)
    assert [at for at, _ in refused] == [0, 5, 6]
    assert attempts == [3, 1, 2, 4, 2, 2, 1, 1]  # as before, without the first 7
