"""``stock_history.csv``: a brand's past availability per business day and SKU unit, upserted on
(day, SKU unit), all or nothing with line-numbered errors like the other files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from supplybrain_pipelines.importer import import_directory
from supplybrain_pipelines.importer.report import BLOCKED, FAILED, LOADED
from supplybrain_pipelines_tests.fixtures_db import fetch_all

MASTER = {
    "articles.csv": "article_code\nTR-1\n",
    "colors.csv": "color_code\nBLK\nNVY\n",
    "sizes.csv": "size_label,sort_order\nM,1\nL,2\n",
    "sku_units.csv": "article_code,color_code,size_label\nTR-1,BLK,M\nTR-1,BLK,L\nTR-1,NVY,M\n",
}

HISTORY = """\
day,article_code,color_code,size_label,available
2026-11-01,TR-1,BLK,M,12
2026-11-02,TR-1,BLK,M,0
2026-11-02,TR-1,BLK,L,-3
2026-11-02,TR-1,NVY,M,4.5
"""

STORED = """
SELECT h.day, a.code, c.inner_code, s.label, h.available FROM supplybrain.stock_history h
JOIN supplybrain.sku_unit u ON u.id = h.sku_unit_id JOIN supplybrain.article a ON a.id =
u.article_id JOIN supplybrain.color c ON c.id = u.color_id JOIN supplybrain.size s ON s.id =
u.size_id ORDER BY 1, 2, 3, 4
"""


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_stock_history_imports_upserts_and_reimports_unchanged(migrated_db_url, tmp_path):
    first = write(tmp_path / "first", {**MASTER, "stock_history.csv": HISTORY})
    report = import_directory(migrated_db_url, first)
    assert report.ok, "\n".join(report.lines())
    result = report.result("stock_history.csv")
    assert (result.status, result.table) == (LOADED, "stock_history")
    assert (result.counts.inserted, result.counts.updated) == (4, 0)
    assert fetch_all(migrated_db_url, STORED) == [
        (date(2026, 11, 1), "TR-1", "BLK", "M", 12.0),
        (date(2026, 11, 2), "TR-1", "BLK", "L", -3.0),
        (date(2026, 11, 2), "TR-1", "BLK", "M", 0.0),
        (date(2026, 11, 2), "TR-1", "NVY", "M", 4.5)]

    again = import_directory(migrated_db_url, first).result("stock_history.csv")
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 4)

    # a changed day updates its row; a new day is added; rows not in the file are kept
    second = write(tmp_path / "second", {"stock_history.csv": (
        "Available,Day,Size_Label,Color_Code,Article_Code\n7,2026-11-02,M,BLK,TR-1\n"
        "1,2026-11-03,M,BLK,TR-1\n")})
    changed = import_directory(migrated_db_url, second).result("stock_history.csv")
    assert (changed.counts.inserted, changed.counts.updated, changed.counts.unchanged) == (1, 1, 0)
    assert fetch_all(migrated_db_url, STORED)[2:] == [
        (date(2026, 11, 2), "TR-1", "BLK", "M", 7.0),
        (date(2026, 11, 2), "TR-1", "NVY", "M", 4.5),
        (date(2026, 11, 3), "TR-1", "BLK", "M", 1.0)]


def test_a_bad_stock_history_file_writes_nothing_and_names_every_line(migrated_db_url, tmp_path):
    assert import_directory(migrated_db_url, write(tmp_path / "master", MASTER)).ok
    bad = write(tmp_path / "bad", {"stock_history.csv": (
        "day,article_code,color_code,size_label,available\n"
        "2026-11-01,TR-1,BLK,M,12\n"
        "2026-11-31,TR-1,BLK,M,1\n"
        "2026-11-02,TR-1,NVY,L,3\n"
        "2026-11-01,TR-1,BLK,M,5\n"
        "2026-11-03,TR-1,BLK,L,many\n"
        "2026-11-04,TR-1,WHT,M,1\n"
        "2026-11-05,TR-1,BLK,M,\n")})
    result = import_directory(migrated_db_url, bad).result("stock_history.csv")
    assert result.status == FAILED
    assert [str(e) for e in result.errors] == [
        "stock_history.csv line 3: day '2026-11-31' is not a date (YYYY-MM-DD).",
        "stock_history.csv line 5: duplicate of line 2: the same day '2026-11-01', "
        "article_code 'TR-1', color_code 'BLK', size_label 'M'.",
        "stock_history.csv line 6: available 'many' is not a number.",
        "stock_history.csv line 8: missing required value for available.",
    ]
    # references are checked once the file parses
    refs = write(tmp_path / "refs", {"stock_history.csv": (
        "day,article_code,color_code,size_label,available\n"
        "2026-11-01,TR-1,BLK,M,12\n"
        "2026-11-02,TR-1,NVY,L,3\n"
        "2026-11-04,TR-1,WHT,M,1\n")})
    result = import_directory(migrated_db_url, refs).result("stock_history.csv")
    assert result.status == FAILED
    assert [str(e) for e in result.errors] == [
        "stock_history.csv line 3: article 'TR-1' has no SKU unit in colour 'NVY' and size "
        "'L'; add it to sku_units.csv.",
        "stock_history.csv line 4: unknown color_code 'WHT'; add it to colors.csv.",
    ]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.stock_history") == [(0,)]


def test_stock_history_is_not_loaded_when_its_sku_units_failed(migrated_db_url, tmp_path):
    files = {**MASTER, "sku_units.csv": "article_code,color_code,size_label\nTR-1,RED,M\n",
             "stock_history.csv": HISTORY}
    report = import_directory(migrated_db_url, write(tmp_path / "d", files))
    assert report.result("sku_units.csv").status == FAILED
    assert report.result("stock_history.csv").status == BLOCKED
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.stock_history") == [(0,)]
