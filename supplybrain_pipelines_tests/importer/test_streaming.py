"""A large file streams through the import in chunks (a tiny chunk size makes a few hundred
rows take the multi-chunk path): it is written whole, an error in a late chunk writes nothing
of the file and names its line, a re-import changes nothing, and progress shows on stderr."""

from __future__ import annotations

import io
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from supplybrain_pipelines.importer import import_directory
from supplybrain_pipelines.importer.progress import Progress
from supplybrain_pipelines.importer.report import FAILED, KEPT_ERRORS, LOADED
from supplybrain_pipelines_tests.fixtures_db import cli_env, engine, fetch_all
from supplybrain_pipelines_tests.importer import SCENARIO_SMALL
from supplybrain_pipelines_tests.importer.test_cli import supplybrain_import

CHUNK = 100  # 450 order lines: chunks of lines 2-101, …, 402-451
HEADER = "channel,account_id,order_id,ordered_at,barcode,quantity,price\n"
SINGLE = "4601234500111"  # TR-100 BLK M, a single piece (scenario_small/wb_barcodes.csv)


def order_line(i: int, day: int | None = None) -> str:
    """Line i + 2 of the file: order srid-i, one unit at 100.00 at noon Moscow time on
    1, 2 or 3 September 2026 (i mod 3)."""
    return (f"wb,1,srid-{i},2026-09-0{day or 1 + i % 3}T12:00:00+03:00,{SINGLE},1,100.00\n")


@pytest.fixture
def master(tmp_path) -> Path:
    """scenario_small's files but its orders, and a folder for a large orders.csv."""
    folder = Path(shutil.copytree(SCENARIO_SMALL, tmp_path / "master",
                                  ignore=shutil.ignore_patterns("orders.csv", "*.md")))
    (tmp_path / "orders").mkdir()
    return folder


def write_orders(folder: Path, lines: dict[int, str] | None = None, n: int = 450) -> Path:
    """orders.csv of n lines, with the given file lines (2 = the first order) replaced."""
    body = [order_line(i) for i in range(n)]
    for line, text in (lines or {}).items():
        body[line - 2] = text
    path = folder / "orders.csv"
    path.write_text(HEADER + "".join(body), encoding="utf-8")
    return path


def daily(url) -> list[tuple]:
    return fetch_all(url, "SELECT day::text, units_ordered, units_net, revenue "
                          "FROM supplybrain.orders_daily ORDER BY day")


def test_a_file_of_several_chunks_is_written_whole(migrated_db_url, master):
    assert import_directory(migrated_db_url, master).ok
    write_orders(master.parent / "orders")
    report = import_directory(migrated_db_url, master.parent / "orders", chunk_size=CHUNK)
    result = report.result("orders.csv")
    assert (result.status, result.counts.inserted, result.counts.unchanged,
            result.days_rebuilt) == (LOADED, 450, 0, 3)
    assert fetch_all(migrated_db_url, "SELECT count(*), min(order_id), max(order_id) FROM "
                     "supplybrain.orders") == [(450, "srid-0", "srid-99")]
    # 150 lines a day (i mod 3), one unit at 100.00 each
    assert daily(migrated_db_url) == [
        ("2026-09-01", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00")),
        ("2026-09-02", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00")),
        ("2026-09-03", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00"))]


def test_a_reimport_changes_nothing_and_a_moved_line_rebuilds_both_days(migrated_db_url,
                                                                           master):
    assert import_directory(migrated_db_url, master).ok
    orders = master.parent / "orders"
    write_orders(orders)
    assert import_directory(migrated_db_url, orders, chunk_size=CHUNK).ok
    before = fetch_all(migrated_db_url, "SELECT * FROM supplybrain.orders ORDER BY order_id")
    days_before = daily(migrated_db_url)
    again = import_directory(migrated_db_url, orders, chunk_size=CHUNK).result("orders.csv")
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged,
            again.days_rebuilt) == (0, 0, 450, 0)
    assert fetch_all(migrated_db_url, "SELECT * FROM supplybrain.orders ORDER BY order_id"
                     ) == before
    assert daily(migrated_db_url) == days_before
    # srid-0 (line 2, 1 September) moves to 2 September, in the last chunk's file position
    write_orders(orders, {2: order_line(0, day=2)})
    moved = import_directory(migrated_db_url, orders, chunk_size=CHUNK).result("orders.csv")
    assert (moved.counts.inserted, moved.counts.updated, moved.counts.unchanged,
            moved.days_rebuilt) == (0, 1, 449, 2)
    assert daily(migrated_db_url) == [
        ("2026-09-01", Decimal("149.000"), Decimal("149.000"), Decimal("14900.00")),
        ("2026-09-02", Decimal("151.000"), Decimal("151.000"), Decimal("15100.00")),
        ("2026-09-03", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00"))]


@pytest.mark.parametrize(("lines", "expected"), [
    ({437: "wb,1,srid-435,2026-09-01T12:00:00+03:00,4601234500111,x,100.00\n",
      420: order_line(3)},
     ["orders.csv line 420: duplicate of line 5: the same channel 'wb', account_id '1', "
      "order_id 'srid-3'.",
      "orders.csv line 437: quantity 'x' is not a number."]),
    ({449: "wb,1,srid-447,2026-09-01T12:00:00+03:00,4609999999999,1,100.00\n"},
     ["orders.csv line 449: unknown barcode '4609999999999'; add it to wb_barcodes.csv."]),
], ids=["parse-and-duplicate", "unknown-reference"])
def test_an_error_in_a_late_chunk_writes_nothing_of_the_file(migrated_db_url, master, lines,
                                                              expected):
    assert import_directory(migrated_db_url, master).ok
    write_orders(master.parent / "orders", lines)
    report = import_directory(migrated_db_url, master.parent / "orders", chunk_size=CHUNK)
    result = report.result("orders.csv")
    assert result.status == FAILED
    assert [str(e) for e in result.errors] == expected
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.orders") == [(0,)]
    assert daily(migrated_db_url) == []


def test_a_bad_byte_in_a_late_chunk_is_the_only_error_and_nothing_is_written(
        migrated_db_url, master):
    assert import_directory(migrated_db_url, master).ok
    path = write_orders(master.parent / "orders", {400: "wb,1,srid-398,x,1,1\n"})
    data = path.read_bytes().replace(b"srid-398,x", b"srid-398,\xff")
    path.write_bytes(data)
    result = import_directory(migrated_db_url, master.parent / "orders",
                              chunk_size=CHUNK).result("orders.csv")
    assert [str(e) for e in result.errors] == [
        "orders.csv line 400: byte 0xff is not valid UTF-8; save the file as UTF-8."]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.orders") == [(0,)]


def test_on_a_connection_a_late_error_rolls_back_the_file_only(migrated_db_url, master):
    write_orders(master, {437: order_line(435).replace(",1,100.00", ",0,100.00")})
    eng = engine(migrated_db_url)
    try:
        with eng.connect() as conn:
            report = import_directory(conn, master, chunk_size=CHUNK)
            conn.commit()
    finally:
        eng.dispose()
    assert [str(e) for e in report.result("orders.csv").errors] == [
        "orders.csv line 437: quantity 0 must be greater than 0."]
    assert report.result("articles.csv").status == LOADED
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.orders") == [(0,)]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.article") == [(2,)]


def test_stock_history_duplicates_across_chunks_are_named(migrated_db_url, master):
    rows = [f"2026-08-{d:02d},TR-100,{c},M,{d}\n"  # 56 distinct (day, colour) lines
            for d in range(1, 29) for c in ("BLK", "NVY")]
    rows.append("2026-08-01,TR-100,BLK,M,7\n")  # line 58 repeats line 2
    (master / "stock_history.csv").write_text(
        "day,article_code,color_code,size_label,available\n" + "".join(rows))
    result = import_directory(migrated_db_url, master, chunk_size=10).result(
        "stock_history.csv")
    assert [str(e) for e in result.errors] == [
        "stock_history.csv line 58: duplicate of line 2: the same day '2026-08-01', "
        "article_code 'TR-100', color_code 'BLK', size_label 'M'."]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.stock_history") == [
        (0,)]
    (master / "stock_history.csv").write_text(
        "day,article_code,color_code,size_label,available\n" + "".join(rows[:-1]))
    loaded = import_directory(migrated_db_url, master, chunk_size=10).result(
        "stock_history.csv")
    assert (loaded.status, loaded.counts.inserted) == (LOADED, 56)
    assert fetch_all(migrated_db_url, "SELECT available FROM supplybrain.stock_history h "
                     "JOIN supplybrain.sku_unit u ON u.id = h.sku_unit_id JOIN "
                     "supplybrain.color c ON c.id = u.color_id WHERE h.day = '2026-08-28' "
                     "ORDER BY c.inner_code") == [(Decimal("28"),), (Decimal("28"),)]


def test_errors_beyond_the_kept_ones_are_counted(migrated_db_url, master):
    bad = KEPT_ERRORS + 30
    (master.parent / "orders" / "orders.csv").write_text(HEADER + "".join(
        f"wb,1,srid-{i},2026-09-01T12:00:00Z,{SINGLE},0,1.00\n" for i in range(bad)))
    report = import_directory(migrated_db_url, master.parent / "orders")
    result = report.result("orders.csv")
    assert (len(result.errors), result.error_count) == (10_000, 10_030)
    assert str(result.errors[-1]) == "orders.csv line 10001: quantity 0 must be greater than 0."
    lines = report.lines(max_errors=20)
    assert lines[0] == "orders.csv -> orders: FAILED, 10030 errors, nothing written"
    assert lines[21] == "  … and 10010 more errors in orders.csv"


def test_progress_shows_rows_read_for_every_chunk_when_asked(migrated_db_url, master):
    assert import_directory(migrated_db_url, master).ok
    write_orders(master.parent / "orders")
    out = io.StringIO()
    import_directory(migrated_db_url, master.parent / "orders", chunk_size=CHUNK,
                     progress=Progress(out, after=0, every=0))
    lines = out.getvalue().splitlines()
    read = [re.fullmatch(r"orders\.csv: read ([\d,]+) rows in [\d.]+ s \([\d,]+ rows/s\)"
                         r"(; writing)?", line) for line in lines[:-1]]
    assert all(read), lines
    assert [(m.group(1), bool(m.group(2))) for m in read] == [
        ("100", False), ("200", False), ("300", False), ("400", False), ("450", False),
        ("450", True)]
    assert re.fullmatch(r"orders\.csv: done in [\d.]+ s", lines[-1])


def test_progress_waits_for_the_threshold_then_every_interval():
    times = iter([0.0, 1.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 11.0, 12.0])
    out = io.StringIO()
    progress = Progress(out, after=3, every=2, clock=lambda: next(times))
    progress.start("orders.csv")  # 0
    for _ in range(4):  # at 1 (too early), 4 (shown), 5 (within 2 s), 6 (shown)
        progress.read(100_000)
    progress.writing()  # 7
    progress.done()  # 8
    assert out.getvalue().splitlines() == [
        "orders.csv: read 200,000 rows in 4.0 s (50,000 rows/s)",
        "orders.csv: read 400,000 rows in 6.0 s (66,667 rows/s)",
        "orders.csv: read 400,000 rows in 7.0 s (57,143 rows/s); writing",
        "orders.csv: done in 8.0 s"]
    progress.start("articles.csv")  # 10: a quick file says nothing
    progress.read(2)  # 11
    progress.done()  # 12
    assert len(out.getvalue().splitlines()) == 4


def test_the_command_shows_progress_on_stderr_only_when_asked(migrated_db_url):
    done = supplybrain_import(SCENARIO_SMALL, cli_env(migrated_db_url), "--progress",
                              "always", "--progress-after", "0")
    assert done.returncode == 0, done.stderr
    err = done.stderr.splitlines()
    assert any(re.fullmatch(r"orders\.csv: read 590 rows in [\d.]+ s \([\d,]+ rows/s\)"
                            r"; writing", line) for line in err), err
    assert any(re.fullmatch(r"orders\.csv: done in [\d.]+ s", line) for line in err), err
    assert "orders.csv" not in done.stdout.split("orders.csv ->")[0]  # report unchanged
