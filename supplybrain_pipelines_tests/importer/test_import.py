"""``import_directory`` on a real, migrated PostgreSQL database: the scenario loads, a re-import
changes nothing, a bad file writes nothing of itself while the others load, a file that
refers to a failed file is not loaded, and imported orders rebuild ``orders_daily``."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supplybrain_pipelines.importer import import_directory
from supplybrain_pipelines.importer.report import BLOCKED, FAILED, IGNORED, LOADED
from supplybrain_pipelines.importer.spec import FILES
from supplybrain_pipelines_tests.fixtures_db import engine, execute, fetch_all
from supplybrain_pipelines_tests.importer import SCENARIO_SMALL

TABLES = ("article", "color", "size", "bundle_type", "warehouse", "sku_unit", "bundle_recipe",
          "article_wb_mapping", "global_planning_settings", "planning_settings",
          "article_planning_settings", "color_planning_settings",
          "production_order_size_weight_settings", "stock_balance", "purchase_order",
          "purchase_order_item", "orders", "orders_daily")


def rows_of(file: Path) -> list[dict[str, str]]:
    with file.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def snapshot(url) -> dict[str, list[tuple]]:
    return {table: fetch_all(url, f"SELECT * FROM supplybrain.{table} ORDER BY 1, 2, 3")
            for table in TABLES}


@pytest.fixture
def scenario(tmp_path) -> Path:
    """A writable copy of the small scenario."""
    return Path(shutil.copytree(SCENARIO_SMALL, tmp_path / "scenario"))


def edit(path: Path, line: int, new: str) -> None:
    """Replace line ``line`` (1-based, as in the file) of ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def net_units_by_day(orders_csv: Path) -> dict[date, Decimal]:
    net: dict[date, Decimal] = defaultdict(Decimal)
    for row in rows_of(orders_csv):
        at = datetime.fromisoformat(row["ordered_at"])
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        cancelled = row.get("is_cancelled") == "true" or bool(row.get("cancelled_at"))
        day = at.astimezone(ZoneInfo("Europe/Moscow")).date()  # the business day
        net[day] += Decimal(0) if cancelled else Decimal(row["quantity"])
    return dict(net)


def test_the_scenario_imports_every_file(migrated_db_url):
    report = import_directory(migrated_db_url, SCENARIO_SMALL)
    assert report.ok, "\n".join(report.lines())
    assert [f.file for f in report.files] == [s.file for s in FILES]  # load order
    for spec in FILES:
        result, expected = report.result(spec.file), len(rows_of(SCENARIO_SMALL / spec.file))
        assert (result.status, result.counts.inserted, result.counts.rows) == (
            LOADED, expected, expected), spec.file
        count = fetch_all(migrated_db_url, f"SELECT count(*) FROM {spec.table.fullname}")
        assert count == [(expected,)], spec.file
    # Natural keys became the right ids.
    assert fetch_all(migrated_db_url, """
        SELECT a.code, b.code, m.color_id, s.label FROM supplybrain.article_wb_mapping m
        JOIN supplybrain.article a ON a.id = m.article_id
        JOIN supplybrain.bundle_type b ON b.id = m.bundle_type_id
        JOIN supplybrain.size s ON s.id = m.size_id ORDER BY s.label""") == [
        ("TR-100", "P4", None, "L"), ("TR-100", "P4", None, "M"), ("TR-100", "P4", None, "XL")]
    assert fetch_all(migrated_db_url, """
        SELECT c.inner_code FROM supplybrain.bundle_recipe r
        JOIN supplybrain.color c ON c.id = r.color_id ORDER BY r.position""") == [
        ("BLK",), ("BLM",), ("NVY",), ("WHT",)]
    assert fetch_all(migrated_db_url, """
        SELECT count(DISTINCT pantone_code), count(*) FROM supplybrain.color""") == [(3, 4)]
    assert fetch_all(migrated_db_url, """
        SELECT p.status, p.target_date, sum(i.quantity) FROM supplybrain.purchase_order p
        JOIN supplybrain.purchase_order_item i ON i.purchase_order_id = p.id
        GROUP BY 1, 2""") == [("ordered", date(2026, 11, 20), 1600)]
    # Orders: every line mapped (bundles to article + bundle type, singles to a SKU unit).
    assert fetch_all(migrated_db_url, """
        SELECT count(*) FILTER (WHERE bundle_type_id IS NOT NULL AND sku_unit_id IS NULL),
               count(*) FILTER (WHERE bundle_type_id IS NULL AND sku_unit_id IS NOT NULL),
               count(*) FILTER (WHERE article_id IS NULL), count(*) FILTER (WHERE
               item_key <> barcode) FROM supplybrain.orders""")[0][2:] == (0, 0)


def test_orders_daily_holds_the_files_net_units_per_moscow_day(migrated_db_url):
    report = import_directory(migrated_db_url, SCENARIO_SMALL)
    assert report.result("orders.csv").days_rebuilt == 60
    expected = net_units_by_day(SCENARIO_SMALL / "orders.csv")
    got = dict(fetch_all(migrated_db_url, "SELECT day, sum(units_net) FROM "
                         "supplybrain.orders_daily GROUP BY day"))
    assert got == expected
    assert len(got) == 60 and min(got) == date(2026, 9, 1) and max(got) == date(2026, 10, 30)
    lines = rows_of(SCENARIO_SMALL / "orders.csv")
    assert fetch_all(migrated_db_url, "SELECT sum(units_ordered), sum(units_net), sum(revenue) "
                     "FROM supplybrain.orders_daily") == [(
                         Decimal(len(lines)), sum(expected.values()),
                         sum(Decimal(r["price"]) for r in lines if r["is_cancelled"] != "true"))]


def test_a_second_import_of_the_same_files_changes_nothing(migrated_db_url):
    assert import_directory(migrated_db_url, SCENARIO_SMALL).ok
    before = snapshot(migrated_db_url)
    again = import_directory(migrated_db_url, SCENARIO_SMALL)
    assert again.ok
    for result in again.files:
        c = result.counts
        assert (c.inserted, c.updated, c.removed, result.days_rebuilt) == (0, 0, 0, 0), result
        assert c.unchanged == len(rows_of(SCENARIO_SMALL / result.file))
    assert snapshot(migrated_db_url) == before


def test_a_file_with_one_bad_row_writes_nothing_of_itself_and_the_others_load(
        migrated_db_url, scenario):
    edit(scenario / "stock.csv", 4, "TR-100,BLK,XL,NSK,-5")
    report = import_directory(migrated_db_url, scenario)
    assert not report.ok
    stock = report.result("stock.csv")
    assert stock.status == FAILED
    assert [str(e) for e in stock.errors] == ["stock.csv line 4: quantity -5 is negative."]
    assert stock.summary() == "stock.csv -> stock_balance: FAILED, 1 error, nothing written"
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.stock_balance") == [(0,)]
    others = [f for f in report.files if f.file != "stock.csv"]
    assert {f.status for f in others} == {LOADED}


def test_a_bad_row_leaves_the_previously_imported_rows_of_that_file_as_they_were(
        migrated_db_url, scenario):
    assert import_directory(migrated_db_url, scenario).ok
    before = snapshot(migrated_db_url)
    edit(scenario / "stock.csv", 2, "TR-100,BLK,M,NSK,999")  # a good change…
    edit(scenario / "stock.csv", 5, "TR-100,BLM,L,NSK,sixty")  # …and a bad row
    edit(scenario / "stock.csv", 6, "TR-100,NVY,L,MSK,1")  # …and an unknown warehouse
    report = import_directory(migrated_db_url, scenario)
    assert [str(e) for e in report.result("stock.csv").errors] == [
        "stock.csv line 5: quantity 'sixty' is not a whole number."]
    assert snapshot(migrated_db_url) == before
    edit(scenario / "stock.csv", 5, "TR-100,BLM,L,NSK,60")
    report = import_directory(migrated_db_url, scenario)
    assert [str(e) for e in report.result("stock.csv").errors] == [
        "stock.csv line 6: unknown warehouse_code 'MSK'; add it to warehouses.csv."]
    assert snapshot(migrated_db_url) == before


def test_a_file_that_refers_to_a_failed_file_is_reported_as_not_loaded(
        migrated_db_url, scenario):
    edit(scenario / "articles.csv", 3, ",Men's briefs")
    (scenario / "notes.csv").write_text("anything\n")
    report = import_directory(migrated_db_url, scenario)
    assert not report.ok
    status = {f.file: f.status for f in report.files}
    assert status.pop("articles.csv") == FAILED
    assert status.pop("notes.csv") == IGNORED
    loaded = {f for f, s in status.items() if s == LOADED}
    assert loaded == {"colors.csv", "sizes.csv", "bundle_types.csv", "warehouses.csv",
                      "global_planning_settings.csv", "purchase_orders.csv"}
    assert {s for f, s in status.items() if f not in loaded} == {BLOCKED}
    assert [str(e) for e in report.result("articles.csv").errors] == [
        "articles.csv line 3: missing required value for article_code."]
    assert report.result("sku_units.csv").summary() == (
        "sku_units.csv -> sku_unit: NOT LOADED: it refers to articles.csv, which failed; "
        "fix that and import again")
    assert "bundle_recipes.csv, which was not loaded" in report.result("wb_barcodes.csv").note
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.sku_unit") == [(0,)]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.color") == [(4,)]
    text = "\n".join(report.lines())
    assert "articles.csv line 3: missing required value for article_code." in text
    assert text.endswith("6 files written, 1 failed (articles.csv), 11 not loaded ("
                         "sku_units.csv, bundle_recipes.csv, wb_barcodes.csv, "
                         "planning_settings.csv, article_planning_settings.csv, "
                         "color_planning_settings.csv, size_weights.csv, stock.csv, "
                         "stock_history.csv, purchase_order_items.csv, orders.csv), 1 ignored")


def test_references_to_rows_already_in_the_database_resolve(migrated_db_url, scenario,
                                                            tmp_path):
    assert import_directory(migrated_db_url, SCENARIO_SMALL).ok
    only = tmp_path / "only_stock"
    only.mkdir()
    (only / "stock.csv").write_text("article_code,color_code,size_label,warehouse_code,"
                                    "quantity,updated_at\nTR-200,NVY,M,NSK,7,"
                                    "2026-10-30T12:00:00+03:00\n")
    report = import_directory(migrated_db_url, only)
    assert report.ok and report.result("stock.csv").counts.inserted == 1
    assert fetch_all(migrated_db_url, """
        SELECT quantity, updated_at FROM supplybrain.stock_balance sb
        JOIN supplybrain.sku_unit u ON u.id = sb.sku_unit_id
        JOIN supplybrain.color c ON c.id = u.color_id JOIN supplybrain.size s ON s.id = u.size_id
        WHERE c.inner_code = 'NVY' AND s.label = 'M'""") == [
        (7, datetime(2026, 10, 30, 9, tzinfo=UTC))]


def test_orders_by_natural_keys_timezones_and_a_moved_order(migrated_db_url, scenario):
    (scenario / "orders.csv").write_text(
        "channel,account_id,order_id,ordered_at,barcode,article_code,color_code,size_label,"
        "bundle_type_code,quantity,price,is_cancelled,cancelled_at\n"
        "wb,1,a,2026-09-02T01:30:00+03:00,4601234500002,,,,,1,1490.00,,\n"
        "wb,1,b,2026-09-02T10:00:00,,TR-100,,L,P4,1,1490.00,,\n"
        "wb,1,c,2026-09-02T10:00:00Z,,TR-200,NVY,M,,1,390.00,,2026-09-03T08:00:00Z\n"
        "moysklad,7,d,2026-09-02T12:00:00+05:00,,TR-100,WHT,XL,,3,450.00,false,\n"
        "moysklad,7,e,2026-09-02T23:30:00-02:00,,TR-100,WHT,XL,,2,450.00,,\n")
    report = import_directory(migrated_db_url, scenario)
    assert report.ok, "\n".join(report.lines())
    # Days are Moscow days: a (22:30 UTC on 1 September) is on 2 September, e (01:30 UTC on
    # 3 September) on 3 September.
    assert report.result("orders.csv").days_rebuilt == 2
    daily = """SELECT day, channel, account_id, item_key, units_ordered, units_cancelled,
                      units_net, revenue FROM supplybrain.orders_daily ORDER BY 1, 2, 4"""
    assert fetch_all(migrated_db_url, daily) == [
        (date(2026, 9, 2), "moysklad", 7, "sku:TR-100:WHT:XL", 3, 0, 3, Decimal("1350.00")),
        (date(2026, 9, 2), "wb", 1, "4601234500002", 2, 0, 2, Decimal("2980.00")),
        (date(2026, 9, 2), "wb", 1, "4601234500204", 1, 1, 0, Decimal("0.00")),
        (date(2026, 9, 3), "moysklad", 7, "sku:TR-100:WHT:XL", 2, 0, 2, Decimal("900.00")),
    ]
    assert sum(r[0] for r in fetch_all(migrated_db_url, "SELECT units_net FROM "
                                       "supplybrain.orders_daily")) == 7  # the file's net
    # Order a moves from 2026-09-02 (Moscow) to 2026-09-04: both days are rebuilt.
    edit(scenario / "orders.csv", 2, "wb,1,a,2026-09-04T10:00:00Z,4601234500002,,,,,1,1490.00,,")
    moved = import_directory(migrated_db_url, scenario).result("orders.csv")
    assert (moved.counts.updated, moved.counts.unchanged, moved.days_rebuilt) == (1, 4, 2)
    assert fetch_all(migrated_db_url, "SELECT day, units_net FROM supplybrain.orders_daily "
                     "WHERE item_key = '4601234500002' ORDER BY day") == [
        (date(2026, 9, 2), 1), (date(2026, 9, 4), 1)]


def test_unresolvable_orders_fail_the_file(migrated_db_url, scenario):
    (scenario / "orders.csv").write_text(
        "channel,account_id,order_id,ordered_at,barcode,article_code,color_code,size_label,"
        "quantity\nwb,1,a,2026-09-02T10:00:00Z,4601234500002,,,,1\n"
        "wb,1,b,2026-09-02T10:00:00Z,,TR-100,WHT,XL,1\n"
        "moysklad,1,c,2026-09-02T10:00:00Z,,TR-200,WHT,M,1\n")
    result = import_directory(migrated_db_url, scenario).result("orders.csv")
    assert [str(e) for e in result.errors] == [
        "orders.csv line 3: no WB barcode maps to article 'TR-100', colour 'WHT', size 'XL'; "
        "add one to wb_barcodes.csv or give the barcode.",
        "orders.csv line 4: article 'TR-200' has no SKU unit in colour 'WHT' and size 'M'; "
        "add it to sku_units.csv."]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.orders") == [(0,)]


def test_recipes_purchase_order_items_and_barcodes_replace_what_they_name(
        migrated_db_url, scenario):
    assert import_directory(migrated_db_url, scenario).ok
    # Recipe: BLK and BLM swap positions, WHT leaves, a 3-pack keeps its own rows.
    (scenario / "bundle_types.csv").write_text(
        "bundle_type_code,name,is_assorti\nP4,4-pack,false\nP3,3-pack,true\n")
    (scenario / "bundle_recipes.csv").write_text(
        "article_code,bundle_type_code,color_code,position\nTR-100,P4,BLM,1\nTR-100,P4,BLK,2\n"
        "TR-100,P4,NVY,3\nTR-200,P3,BLK,1\n")
    (scenario / "purchase_order_items.csv").write_text(
        "external_ref,article_code,color_code,size_label,quantity\n"
        "PO-2026-001,TR-100,BLK,M,350\nPO-2026-001,TR-100,BLK,L,600\n")
    edit(scenario / "wb_barcodes.csv", 5, "4601234500111,TR-200,,BLK,M")  # to another article
    for name in ("wb_barcodes.csv", "orders.csv"):  # keep the test to the three files
        (scenario / name).rename(scenario / (name + ".off"))
    report = import_directory(migrated_db_url, scenario)
    assert report.ok
    recipe, items = report.result("bundle_recipes.csv"), report.result("purchase_order_items.csv")
    assert (recipe.counts.inserted, recipe.counts.updated, recipe.counts.unchanged,
            recipe.counts.removed) == (1, 2, 1, 1)
    assert (items.counts.updated, items.counts.unchanged, items.counts.removed) == (1, 1, 2)
    assert fetch_all(migrated_db_url, """
        SELECT a.code, b.code, c.inner_code, r.position FROM supplybrain.bundle_recipe r
        JOIN supplybrain.article a ON a.id = r.article_id
        JOIN supplybrain.bundle_type b ON b.id = r.bundle_type_id
        JOIN supplybrain.color c ON c.id = r.color_id ORDER BY 1, 2, 4""") == [
        ("TR-100", "P4", "BLM", 1), ("TR-100", "P4", "BLK", 2), ("TR-100", "P4", "NVY", 3),
        ("TR-200", "P3", "BLK", 1)]
    (scenario / "wb_barcodes.csv.off").rename(scenario / "wb_barcodes.csv")
    barcodes = import_directory(migrated_db_url, scenario).result("wb_barcodes.csv")
    assert (barcodes.counts.inserted, barcodes.counts.removed) == (1, 1)
    assert fetch_all(migrated_db_url, """
        SELECT a.code FROM supplybrain.article_wb_mapping m
        JOIN supplybrain.article a ON a.id = m.article_id
        WHERE m.wb_sku = '4601234500111'""") == [("TR-200",)]


def test_on_a_connection_each_file_is_a_savepoint_and_the_caller_commits(
        migrated_db_url, scenario):
    edit(scenario / "size_weights.csv", 3, "TR-100,L,-2")
    eng = engine(migrated_db_url)
    try:
        with eng.connect() as conn:
            report = import_directory(conn, scenario)
            assert report.result("size_weights.csv").status == FAILED
            assert report.result("stock.csv").status == LOADED
            conn.commit()
    finally:
        eng.dispose()
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.stock_balance") == [(8,)]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM "
                     "supplybrain.production_order_size_weight_settings") == [(0,)]


def test_rows_of_another_business_are_left_alone(migrated_db_url):
    execute(migrated_db_url, "INSERT INTO supplybrain.article (code, name) VALUES ('OTHER', 'x')")
    assert import_directory(migrated_db_url, SCENARIO_SMALL).ok
    assert fetch_all(migrated_db_url, "SELECT code FROM supplybrain.article ORDER BY code") == [
        ("OTHER",), ("TR-100",), ("TR-200",)]


def test_a_directory_without_import_files_is_not_ok(migrated_db_url, tmp_path):
    (tmp_path / "Articles.csv").write_text("article_code\nA\n")
    report = import_directory(migrated_db_url, tmp_path)
    assert not report.ok
    assert report.files[0].summary() == (
        "Articles.csv: ignored: import file names are lower case; rename it to articles.csv")
    assert report.closing().startswith("nothing imported:")



def test_a_row_the_database_refuses_fails_its_file_with_the_databases_reason(migrated_db_url):
    execute(migrated_db_url, "ALTER TABLE supplybrain.warehouse ADD CONSTRAINT test_no_internal "
            "CHECK (type <> 'internal')")
    report = import_directory(migrated_db_url, SCENARIO_SMALL)
    result = report.result("warehouses.csv")
    assert result.status == FAILED
    assert [str(e) for e in result.errors] == [
        'warehouses.csv: the database refused the file, nothing of it was written: new row for '
        'relation "warehouse" violates check constraint "test_no_internal".']
    assert report.result("stock.csv").status == BLOCKED
    assert report.result("orders.csv").status == LOADED
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.warehouse") == [(0,)]


def test_the_example_directory_of_the_documentation_imports(migrated_db_url, tmp_path):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "csv_import.md").read_text()
    block = doc.split("```\nmy-brand/\n", 1)[1].split("```", 1)[0]
    files: dict[str, list[str]] = {}
    for line in block.splitlines():
        if line[2] != " ":
            name, first = line.split(maxsplit=1)
            files[name] = [first.strip()]
        else:
            files[name].append(line.strip())
    for name, lines in files.items():
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    report = import_directory(migrated_db_url, tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert len(report.files) == 10
    assert fetch_all(migrated_db_url, "SELECT day, sum(units_net), sum(revenue) FROM "
                     "supplybrain.orders_daily GROUP BY day") == [
        (date(2026, 9, 1), 2, Decimal("1440.00"))]


def test_a_column_left_out_keeps_stored_values_and_an_empty_cell_takes_the_default(
        migrated_db_url, tmp_path):
    assert import_directory(migrated_db_url, SCENARIO_SMALL).ok
    (tmp_path / "articles.csv").write_text("article_code\nTR-100\nTR-300\n")
    (tmp_path / "sizes.csv").write_text("size_label,sort_order\nM,\nL,2\n")
    (tmp_path / "global_planning_settings.csv").write_text("default_lead_time_days\n84\n")
    report = import_directory(migrated_db_url, tmp_path)
    counts = {f.file: (f.counts.inserted, f.counts.updated, f.counts.unchanged)
              for f in report.files}
    assert counts == {"articles.csv": (1, 0, 1), "sizes.csv": (0, 1, 1),
                      "global_planning_settings.csv": (0, 1, 0)}
    assert fetch_all(migrated_db_url, "SELECT code, name FROM supplybrain.article "
                     "ORDER BY code") == [("TR-100", "Men's trunks, classic"),
                                          ("TR-200", "Men's briefs, sport"), ("TR-300", None)]
    assert fetch_all(migrated_db_url, "SELECT label, sort_order FROM supplybrain.size "
                     "ORDER BY label") == [("L", 2), ("M", 0), ("XL", 3)]
    assert fetch_all(migrated_db_url, """
        SELECT count(*), min(default_lead_time_days), min(default_target_coverage_days)
        FROM supplybrain.global_planning_settings""") == [(1, 84, 60)]
