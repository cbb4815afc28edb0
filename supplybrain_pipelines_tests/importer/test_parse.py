"""Parsing and validation of import files, without a database: every error names the file, the
line (header = line 1) and the problem in one sentence; references resolve through lookups."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from supplybrain_pipelines.importer.parse import parse_file
from supplybrain_pipelines.importer.resolve import resolve
from supplybrain_pipelines.importer.spec import BY_FILE, FILES
from supplybrain_pipelines_tests.importer import SCENARIO_SMALL

DOC = Path(__file__).resolve().parents[2] / "docs" / "csv_import.md"


def errors(file: str, text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [str(e) for e in parse_file(BY_FILE[file], data).errors]


@pytest.mark.parametrize(("file", "text", "expected"), [
    ("articles.csv", "article_code,name,colour\nA,x,y\n",
     "articles.csv line 1: unknown column 'colour'; the columns of articles.csv are "
     "article_code, name."),
    ("sku_units.csv", "article_code,color_code\nA,B\n",
     "sku_units.csv line 1: missing required column 'size_label'."),
    ("articles.csv", "article_code,name,name\nA,x,y\n",
     "articles.csv line 1: column 'name' appears twice in the header."),
    ("articles.csv", "article_code,name\nA,x\n,nameless\n",
     "articles.csv line 3: missing required value for article_code."),
    ("stock.csv", "article_code,color_code,size_label,warehouse_code,quantity\n"
     "A,B,M,NSK,12\nA,B,L,NSK,1.5\n",
     "stock.csv line 3: quantity '1.5' is not a whole number."),
    ("stock.csv", "article_code,color_code,size_label,warehouse_code,quantity\n"
     "A,B,M,NSK,12\nA,B,L,NSK,1_000\n",
     "stock.csv line 3: quantity '1_000' is not a whole number."),
    ("stock.csv", "article_code,color_code,size_label,warehouse_code,quantity\nA,B,M,NSK,-5\n",
     "stock.csv line 2: quantity -5 is negative."),
    ("stock.csv", "article_code,color_code,size_label,warehouse_code,quantity\n"
     "A,B,M,NSK,3000000000\n",
     "stock.csv line 2: quantity 3000000000 is above the maximum of 2147483647."),
    ("bundle_recipes.csv", "article_code,bundle_type_code,color_code,position\nA,P4,B,0\n",
     "bundle_recipes.csv line 2: position 0 is below the minimum of 1."),
    ("article_planning_settings.csv", "article_code,service_level_percent\nA,100\n",
     "article_planning_settings.csv line 2: service_level_percent 100 is above the maximum "
     "of 99."),
    ("size_weights.csv", "article_code,size_label,weight\nA,M,heavy\n",
     "size_weights.csv line 2: weight 'heavy' is not a number."),
    ("size_weights.csv", "article_code,size_label,weight\nA,M,nan\n",
     "size_weights.csv line 2: weight 'nan' is not a number."),
    ("purchase_orders.csv", "external_ref,status,target_date\nPO-1,ordered,2026-02-30\n",
     "purchase_orders.csv line 2: target_date '2026-02-30' is not a date (YYYY-MM-DD)."),
    ("purchase_orders.csv", "external_ref,status,target_date\nPO-1,shipped,2026-02-03\n",
     "purchase_orders.csv line 2: status 'shipped' is not one of draft, approved, ordered, "
     "received, cancelled."),
    ("planning_settings.csv", "article_code,is_active,min_fabric_batch,min_elastic_batch,"
     "alert_threshold_days,safety_stock_days,strictness\nA,maybe,1,1,14,7,1\n",
     "planning_settings.csv line 2: is_active 'maybe' is not a boolean (use true or false)."),
    ("colors.csv", "color_code,pantone_code\nBLK,19-4005\nNVY,19-3933\nBLK,19-0000\n",
     "colors.csv line 4: duplicate of line 2: the same color_code 'BLK'."),
    ("bundle_recipes.csv", "article_code,bundle_type_code,color_code,position\n"
     "A,P4,BLK,1\nA,P4,NVY,1\n",
     "bundle_recipes.csv line 3: duplicate of line 2: the same article_code 'A', "
     "bundle_type_code 'P4', position '1'."),
    ("articles.csv", "article_code,name\nA,x,extra\n",
     "articles.csv line 2: has 3 values but the header has 2 columns."),
    ("articles.csv", "", "articles.csv line 1: line 1 must be the header (article_code, name)."),
    ("articles.csv", "article_code,name\n" + "A" * 51 + ",x\n",
     "articles.csv line 2: article_code is longer than 50 characters."),
    ("articles.csv", 'article_code,name\nA,"unclosed\n',
     "articles.csv line 2: is not valid CSV (unexpected end of data)."),
    ("global_planning_settings.csv", "default_lead_time_days\n70\n80\n",
     "global_planning_settings.csv line 3: global_planning_settings.csv holds one row; this "
     "is another."),
    ("wb_barcodes.csv", "barcode,article_code,bundle_type_code,color_code,size_label\n"
     "4600,A,P4,BLK,M\n",
     "wb_barcodes.csv line 2: give bundle_type_code (a bundle barcode) or color_code (a single "
     "piece), not both."),
    ("wb_barcodes.csv", "barcode,article_code,size_label\n4600,A,M\n",
     "wb_barcodes.csv line 2: give bundle_type_code for a bundle barcode or color_code for a "
     "single piece."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,barcode,article_code,quantity\n"
     "wb,1,o1,2026-09-01T10:00:00Z,4600,A,1\n",
     "orders.csv line 2: give either barcode or article_code, not both; the barcode already "
     "names the item."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,barcode,quantity\n"
     "ozon,1,o1,2026-09-01T10:00:00Z,4600,1\n",
     "orders.csv line 2: channel 'ozon' is not one of wb, moysklad."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,barcode,quantity\n"
     "wb,1,o1,1 Sept 2026,4600,1\n",
     "orders.csv line 2: ordered_at '1 Sept 2026' is not an ISO-8601 date and time "
     "(e.g. 2026-09-01T10:15:00+03:00)."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,barcode,quantity\n"
     "wb,1,o1,2026-09-01T10:00:00Z,4600,0\n",
     "orders.csv line 2: quantity 0 must be greater than 0."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,barcode,quantity,price\n"
     "wb,1,o1,2026-09-01T10:00:00Z,4600,1,9.999\n",
     "orders.csv line 2: price '9.999' has more than 2 decimal places."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,barcode,quantity,is_cancelled,"
     "cancelled_at\nwb,1,o1,2026-09-01T10:00:00Z,4600,1,false,2026-09-02T10:00:00Z\n",
     "orders.csv line 2: cancelled_at is set but is_cancelled is false."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,barcode,quantity,cancelled_at\n"
     "wb,1,o1,2026-09-01T10:00:00Z,4600,1,2026-08-31T10:00:00Z\n",
     "orders.csv line 2: cancelled_at is before ordered_at."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,color_code,quantity\n"
     "wb,1,o1,2026-09-01T10:00:00Z,BLK,1\n",
     "orders.csv line 2: missing required value for article_code (needed when barcode is "
     "empty)."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,barcode,quantity\n"
     "moysklad,1,o1,2026-09-01T10:00:00Z,4600,1\n",
     "orders.csv line 2: barcode is for wb orders; name a moysklad item by article_code, "
     "color_code and size_label."),
    ("orders.csv", "channel,account_id,order_id,ordered_at,article_code,bundle_type_code,"
     "size_label,quantity\nmoysklad,1,o1,2026-09-01T10:00:00Z,A,P4,M,1\n",
     "orders.csv line 2: moysklad orders name a single piece; bundle_type_code is for wb "
     "orders."),
])
def test_a_bad_value_is_one_sentence_naming_file_line_and_problem(file, text, expected):
    assert errors(file, text) == [expected]


def test_every_bad_row_is_reported_and_good_rows_are_not_kept_apart():
    found = errors("stock.csv", "article_code,color_code,size_label,warehouse_code,quantity\n"
                   "A,B,M,NSK,1\nA,B,L,,x\n\nA,B,XL,NSK,-1\n")
    assert found == ["stock.csv line 3: missing required value for warehouse_code.",
                     "stock.csv line 3: quantity 'x' is not a whole number.",
                     "stock.csv line 5: quantity -1 is negative."]


def test_line_numbers_count_physical_lines_across_quoted_newlines_and_blank_lines():
    text = 'article_code,name\nA,"two\nlines"\n\nB,ok\n,missing\n'
    assert errors("articles.csv", text) == [
        "articles.csv line 6: missing required value for article_code."]


def test_bom_crlf_header_case_and_spaces_are_tolerated():
    data = "\ufeffArticle_Code , NAME\r\n A-1 , First \r\n".encode()
    parsed = parse_file(BY_FILE["articles.csv"], data)
    assert parsed.errors == []
    assert parsed.header == ["article_code", "name"]
    assert [r.values for r in parsed.rows] == [{"article_code": "A-1", "name": "First"}]


def test_invalid_utf8_names_the_line():
    data = b"color_code,description\nBLK,Black\nWHT,Blanc cass" + b"\xe9\n"
    assert errors("colors.csv", data) == [
        "colors.csv line 3: byte 0xe9 is not valid UTF-8; save the file as UTF-8."]


def test_types_defaults_and_times():
    parsed = parse_file(BY_FILE["orders.csv"], (
        b"channel,account_id,order_id,ordered_at,barcode,quantity,price,is_cancelled\n"
        b"WB,1,a,2026-09-01T01:30:00+03:00,4600,1,1490.00,\n"
        b"wb,1,b,2026-09-01 10:00:00,4600,2.5,,yes\n"))
    assert parsed.errors == []
    first, second = (r.values for r in parsed.rows)
    assert first["channel"] == "wb"
    assert first["ordered_at"] == datetime(2026, 8, 31, 22, 30, tzinfo=UTC)
    assert second["ordered_at"] == datetime(2026, 9, 1, 10, 0, tzinfo=UTC)  # naive = UTC
    assert (first["quantity"], first["price"]) == (Decimal("1"), Decimal("1490.00"))
    assert (second["price"], second["is_cancelled"]) == (None, True)
    assert first["is_cancelled"] is None  # empty: derived from cancelled_at when resolving


LOOKUPS = {
    "article": {("TR-100",): 1}, "color": {("BLK",): 10, ("NVY",): 11},
    "size": {("M",): 20}, "warehouse": {("NSK",): 30}, "bundle_type": {("P4",): 40},
    "sku_unit": {("TR-100", "BLK", "M"): 100}, "recipe": {("TR-100", "P4"): True},
    "barcode": {("4600",): (1, 40, None, 20, None)}, "barcode_by_item": {},
}


def test_references_resolve_to_ids_or_name_what_is_missing():
    parsed = parse_file(BY_FILE["stock.csv"], (
        b"article_code,color_code,size_label,warehouse_code,quantity\n"
        b"TR-100,BLK,M,NSK,5\nTR-999,BLK,M,NSK,1\nTR-100,NVY,M,NSK,1\nTR-100,BLK,M,MSK,1\n"
        b"TR-100,RED,XS,NSK,1\n"))
    resolved, problems = resolve(parsed, LOOKUPS)
    assert resolved.columns == ["sku_unit_id", "warehouse_id", "quantity"]
    assert resolved.rows == [(100, 30, 5)]
    assert [str(p) for p in problems] == [
        "stock.csv line 3: unknown article_code 'TR-999'; add it to articles.csv.",
        "stock.csv line 4: article 'TR-100' has no SKU unit in colour 'NVY' and size 'M'; "
        "add it to sku_units.csv.",
        "stock.csv line 5: unknown warehouse_code 'MSK'; add it to warehouses.csv.",
        "stock.csv line 6: unknown color_code 'RED'; add it to colors.csv.",
        "stock.csv line 6: unknown size_label 'XS'; add it to sizes.csv.",
    ]


def test_orders_resolve_like_the_ingestion():
    parsed = parse_file(BY_FILE["orders.csv"], (
        b"channel,account_id,order_id,ordered_at,barcode,article_code,color_code,size_label,"
        b"bundle_type_code,quantity,cancelled_at\n"
        b"wb,1,a,2026-09-01T10:00:00Z,4600,,,,,1,2026-09-02T10:00:00Z\n"
        b"moysklad,2,b,2026-09-01T10:00:00Z,,TR-100,BLK,M,,3,\n"
        b"wb,1,c,2026-09-01T10:00:00Z,4601,,,,,1,\n"
        b"wb,1,d,2026-09-01T10:00:00Z,,TR-100,,M,P4,1,\n"))
    resolved, problems = resolve(parsed, LOOKUPS)
    bundle, single = resolved.rows
    assert bundle[4:11] == ("4600", "4600", 1, 40, None, 20, None)
    assert bundle[13:] == (True, datetime(2026, 9, 2, 10, tzinfo=UTC),
                           datetime(2026, 9, 2, 10, tzinfo=UTC))
    assert single[4:11] == ("sku:TR-100:BLK:M", None, 1, None, 10, 20, 100)
    assert single[13] is False
    assert [str(p) for p in problems] == [
        "orders.csv line 4: unknown barcode '4601'; add it to wb_barcodes.csv.",
        "orders.csv line 5: no WB barcode maps to article 'TR-100', bundle type 'P4', size "
        "'M'; add one to wb_barcodes.csv or give the barcode.",
    ]


def test_the_scenario_parses_without_errors():
    for spec in FILES:
        parsed = parse_file(spec, (SCENARIO_SMALL / spec.file).read_bytes())
        assert parsed.errors == [], spec.file
        assert parsed.rows, spec.file


def test_the_documentation_names_every_file_and_column():
    doc = DOC.read_text()
    for spec in FILES:
        assert f"`{spec.file}`" in doc, spec.file
        section = doc.split(f"### `{spec.file}`", 1)[1].split("\n### ", 1)[0]
        documented = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)
        assert documented == [c.name for c in spec.columns], spec.file
