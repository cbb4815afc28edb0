"""The ``orders`` watermark does not lean on Dagster's one-run queue (issue 13, item 2).

Raw rows are stamped with their writing transaction's start (``ingested_at = now()``), so a page
can commit after a refresh began with a stamp older than that refresh. These tests hold such
page transactions open on real connections while refreshes run (also two at once, as an
out-of-queue ``dagster asset materialize`` would), and check that the next refresh still reads
every row. And a line whose business day moves leaves no stale day in ``orders_daily``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.unified import next_watermark
from supplybrain_pipelines_tests.assets.test_unified_orders import (
    UNKNOWN,
    raw_order,
    raw_order_at,
    refresh,
)
from supplybrain_pipelines_tests.fixtures_db import engine, fetch_all

INSERT_RAW = ("INSERT INTO supplybrain.wb_orders (srid, account_id, ordered_at, last_change_at, "
              "barcode, total_price, price_with_disc, is_cancel) VALUES (:srid, 1, :at, :at, "
              ":barcode, 100, 90, false)")
LOCK = "hashtext('supplybrain.orders')"


def stored_watermark(url) -> datetime:
    return fetch_all(url, "SELECT watermark FROM supplybrain.refresh_watermarks "
                     "WHERE target = 'orders'")[0][0]


def order_ids(url) -> list[str]:
    return [row[0] for row in fetch_all(url, "SELECT order_id FROM supplybrain.orders "
                                        "ORDER BY order_id")]


def daily(url, item_key: str) -> list[tuple]:
    return fetch_all(url, "SELECT day, units_net FROM supplybrain.orders_daily "
                     "WHERE item_key = :key ORDER BY day", key=item_key)


# --- the rule -------------------------------------------------------------------------------

def test_next_watermark_is_the_oldest_open_transactions_start_less_the_margin():
    previous = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    oldest = datetime(2026, 3, 1, 12, 0, 7, tzinfo=UTC)
    assert next_watermark(previous, oldest, 0) == datetime(2026, 3, 1, 12, 0, 2, tzinfo=UTC)
    assert next_watermark(previous, oldest, 0, margin=timedelta(0)) == oldest


def test_next_watermark_stays_while_sessions_of_other_roles_hide_their_transactions():
    previous = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    oldest = datetime(2026, 3, 1, 12, 0, 7, tzinfo=UTC)
    assert next_watermark(previous, oldest, 1) == previous


def test_next_watermark_stays_when_no_transaction_start_is_known():
    # track_activities = off: pg_stat_activity has no xact_start at all
    previous = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert next_watermark(previous, None, 0) == previous


# --- a page that commits after the refresh began --------------------------------------------

@pytest.mark.parametrize("writes_first", [True, False],
                         ids=["page-written-before-the-refresh", "page-begun-before-written-after"])
def test_a_page_committed_after_a_refresh_began_is_read_by_the_next(db, writes_first):
    raw_order(db, "s-early", UNKNOWN, 1)
    writer = engine(db)
    try:
        with writer.connect() as page:
            page.begin()
            page_start = page.execute(sa.text("SELECT now()")).scalar_one()
            if writes_first:
                page.execute(sa.text(INSERT_RAW), {"srid": "s-late", "barcode": UNKNOWN,
                                                   "at": "2026-03-02T10:00:00+00:00"})
            assert refresh(db) == {"changed": 1, "unmatched_lines": 1}
            assert order_ids(db) == ["s-early"]
            # the oldest open transaction was the page's: the watermark stops 5 s before it
            assert stored_watermark(db) == page_start - timedelta(seconds=5)
            if not writes_first:
                page.execute(sa.text(INSERT_RAW), {"srid": "s-late", "barcode": UNKNOWN,
                                                   "at": "2026-03-02T10:00:00+00:00"})
            page.commit()
    finally:
        writer.dispose()

    assert refresh(db) == {"changed": 1, "unmatched_lines": 2}
    assert order_ids(db) == ["s-early", "s-late"]
    assert daily(db, UNKNOWN) == [(date(2026, 3, 1), 1), (date(2026, 3, 2), 1)]
    # nothing open any more but the refresh itself: the page no longer holds the watermark
    assert stored_watermark(db) > page_start - timedelta(seconds=5)
    assert refresh(db) == {"changed": 0, "unmatched_lines": 2}


def _waiting_for_the_lock(url) -> int:
    return fetch_all(url, "SELECT count(*) FROM pg_locks l JOIN pg_database d "
                     "ON d.oid = l.database WHERE l.locktype = 'advisory' AND NOT l.granted "
                     "AND d.datname = current_database()")[0][0]


def test_two_overlapping_refreshes_and_an_open_page_lose_nothing(db):
    """Two refreshes at once (the scheduled one and an out-of-queue materialisation) while a
    page transaction is open: they take turns on the advisory lock, the second does what the
    first left, and once the page commits the next refresh reads it."""
    raw_order(db, "s-a", UNKNOWN, 1)
    results: list[dict] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(refresh(db))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    holder, writer = engine(db), engine(db)
    try:
        with holder.connect() as lock, writer.connect() as page:
            lock.execute(sa.text(f"SELECT pg_advisory_lock({LOCK})"))
            lock.commit()
            page.begin()
            page.execute(sa.text(INSERT_RAW), {"srid": "s-late", "barcode": UNKNOWN,
                                               "at": "2026-03-03T10:00:00+00:00"})
            threads = [threading.Thread(target=run) for _ in range(2)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while _waiting_for_the_lock(db) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _waiting_for_the_lock(db) == 2
            # committed while both refreshes wait: whichever goes first reads it
            raw_order(db, "s-b", UNKNOWN, 2)
            lock.execute(sa.text(f"SELECT pg_advisory_unlock({LOCK})"))
            lock.commit()
            for thread in threads:
                thread.join(120)
            page.commit()
    finally:
        holder.dispose()
        writer.dispose()

    assert errors == []
    # s-a and s-b were each written once, by one of the two; the other found them in place
    assert sorted(r["changed"] for r in results) == [0, 2]
    assert order_ids(db) == ["s-a", "s-b"]
    assert refresh(db) == {"changed": 1, "unmatched_lines": 3}
    assert order_ids(db) == ["s-a", "s-b", "s-late"]
    assert daily(db, UNKNOWN) == [(date(2026, 3, 1), 1), (date(2026, 3, 2), 1),
                                  (date(2026, 3, 3), 1)]


# --- a line whose business day moves ---------------------------------------------------------

def test_a_line_moved_to_another_business_day_leaves_no_stale_day(db, monkeypatch):
    monkeypatch.setenv("SUPPLYBRAIN_BUSINESS_TZ", "Europe/Moscow")
    # 20:00 UTC is 23:00 in Moscow: both lines are on 1 March
    raw_order_at(db, "s-stay", UNKNOWN, "2026-03-01T20:00:00+00:00")
    raw_order_at(db, "s-move", UNKNOWN, "2026-03-01T20:00:00+00:00")
    assert refresh(db) == {"changed": 2, "unmatched_lines": 2}
    assert daily(db, UNKNOWN) == [(date(2026, 3, 1), 2)]

    # 21:30 UTC is 00:30 on 2 March in Moscow: the same UTC date, the next business day
    eng = engine(db)
    try:
        with eng.begin() as conn:
            conn.execute(sa.text("UPDATE supplybrain.wb_orders SET ordered_at = :at "
                                 "WHERE srid = 's-move'"), {"at": "2026-03-01T21:30:00+00:00"})
    finally:
        eng.dispose()
    assert refresh(db) == {"changed": 1, "unmatched_lines": 2}
    assert daily(db, UNKNOWN) == [(date(2026, 3, 1), 1), (date(2026, 3, 2), 1)]


def test_a_line_moved_off_a_day_it_was_alone_on_removes_that_day(db, monkeypatch):
    monkeypatch.setenv("SUPPLYBRAIN_BUSINESS_TZ", "Europe/Moscow")
    raw_order(db, "s-move", UNKNOWN, 4)  # 10:00 UTC, 13:00 in Moscow: 4 March
    assert refresh(db) == {"changed": 1, "unmatched_lines": 1}
    eng = engine(db)
    try:
        with eng.begin() as conn:
            conn.execute(sa.text("UPDATE supplybrain.wb_orders SET ordered_at = :at "
                                 "WHERE srid = 's-move'"), {"at": "2026-03-06T10:00:00+00:00"})
    finally:
        eng.dispose()
    assert refresh(db) == {"changed": 1, "unmatched_lines": 1}
    assert daily(db, UNKNOWN) == [(date(2026, 3, 6), 1)]


def test_a_moysklad_order_moved_to_another_business_day_leaves_no_stale_day(db, monkeypatch):
    monkeypatch.setenv("SUPPLYBRAIN_BUSINESS_TZ", "Europe/Moscow")
    eng = engine(db)
    try:
        with eng.begin() as conn:
            # 20:00 UTC on 1 March is 23:00 in Moscow: 1 March; two positions of 2 and 3 units
            conn.execute(sa.text(
                "INSERT INTO supplybrain.ms_customer_orders (id, account_id, name, moment_at, "
                "updated_at_source, applicable) VALUES ('ms-o1', 1, '00001', "
                "'2026-03-01T20:00:00+00:00', '2026-03-01T20:00:00+00:00', true)"))
            conn.execute(sa.text(
                "INSERT INTO supplybrain.ms_order_positions (id, order_id, assortment_id, "
                "quantity, price) VALUES ('ms-p1', 'ms-o1', 'ms-item', 2, 50), "
                "('ms-p2', 'ms-o1', 'ms-item', 3, 50)"))
        assert refresh(db) == {"changed": 2, "unmatched_lines": 2}
        assert daily(db, "ms-item") == [(date(2026, 3, 1), 5)]
        with eng.begin() as conn:
            # 21:30 UTC is 00:30 on 2 March in Moscow: the whole order moves to 2 March
            conn.execute(sa.text("UPDATE supplybrain.ms_customer_orders SET moment_at = "
                                 "'2026-03-01T21:30:00+00:00' WHERE id = 'ms-o1'"))
    finally:
        eng.dispose()
    assert refresh(db) == {"changed": 2, "unmatched_lines": 2}
    assert daily(db, "ms-item") == [(date(2026, 3, 2), 5)]


# --- writers and refreshes at once ------------------------------------------------------------

def test_pages_of_two_writers_committing_during_repeated_refreshes_all_arrive(db):
    """Two writers commit 12 pages of 5 rows each, every page open for a while before and after
    its rows (as a page transaction is while it validates and writes), while refreshes run one
    after another; after the writers finish, one more refresh. Every row is in ``orders``."""
    done = threading.Event()
    errors: list[BaseException] = []
    refreshes: list[dict] = []

    def write(writer: str) -> None:
        eng = engine(db)
        try:
            for page in range(12):
                with eng.connect() as conn:
                    conn.begin()
                    conn.execute(sa.text("SELECT now()"))  # the stamp is fixed here
                    time.sleep(0.15)
                    for row in range(5):
                        conn.execute(sa.text(INSERT_RAW), {
                            "srid": f"{writer}-{page:02d}-{row}", "barcode": UNKNOWN,
                            "at": f"2026-03-{page + 1:02d}T10:00:00+00:00"})
                    time.sleep(0.15)
                    conn.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            eng.dispose()

    def refresh_until_done() -> None:
        try:
            while not done.is_set():
                refreshes.append(refresh(db))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    writers = [threading.Thread(target=write, args=(name,)) for name in ("w1", "w2")]
    refresher = threading.Thread(target=refresh_until_done)
    refresher.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    done.set()
    refresher.join(120)
    assert errors == []
    assert len(refreshes) >= 2  # refreshes did run while pages were open
    refresh(db)
    # 2 writers x 12 pages x 5 rows; each writer's page p is on 1 + p March (10:00 UTC)
    assert fetch_all(db, "SELECT count(*) FROM supplybrain.orders")[0][0] == 120
    assert daily(db, UNKNOWN) == [(date(2026, 3, day), 10) for day in range(1, 13)]
