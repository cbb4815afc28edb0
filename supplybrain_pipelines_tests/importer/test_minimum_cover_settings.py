"""global_planning_settings.csv takes the two optional settings of the minimums' cover check
(migration 0008): ``max_minimum_cover_days`` (≥ 1) and ``minimum_cover_policy`` (defer|raise);
an empty cell is NULL, which planning reads as 365 and 'defer'."""

from __future__ import annotations

from supplybrain_pipelines.importer import import_directory
from supplybrain_pipelines.importer.report import FAILED
from supplybrain_pipelines_tests.fixtures_db import fetch_all

HEADER = "default_fabric_min_batch_qty,max_minimum_cover_days,minimum_cover_policy\n"
STORED = ("SELECT default_fabric_min_batch_qty, max_minimum_cover_days, minimum_cover_policy "
          "FROM supplybrain.global_planning_settings")


def test_the_settings_load_and_an_empty_cell_is_null(migrated_db_url, tmp_path):
    (tmp_path / "global_planning_settings.csv").write_text(HEADER + "7000,730,Raise\n")
    assert import_directory(migrated_db_url, tmp_path).ok
    assert fetch_all(migrated_db_url, STORED) == [(7000, 730, "raise")]
    (tmp_path / "global_planning_settings.csv").write_text(HEADER + "7000,,\n")
    assert import_directory(migrated_db_url, tmp_path).ok
    assert fetch_all(migrated_db_url, STORED) == [(7000, None, None)]


def test_bad_values_fail_the_file(migrated_db_url, tmp_path):
    (tmp_path / "global_planning_settings.csv").write_text(HEADER + "7000,0,bury\n")
    result = import_directory(migrated_db_url, tmp_path).result("global_planning_settings.csv")
    assert result.status == FAILED
    assert [str(e) for e in result.errors] == [
        "global_planning_settings.csv line 2: max_minimum_cover_days 0 is below the minimum "
        "of 1.",
        "global_planning_settings.csv line 2: minimum_cover_policy 'bury' is not one of "
        "defer, raise."]
    assert fetch_all(migrated_db_url, STORED) == []
