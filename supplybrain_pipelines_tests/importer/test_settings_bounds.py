"""``supplybrain import`` rejects the planning settings that migration 0007's CHECK constraints
forbid with its own line-numbered errors (never a database error), and accepts the values at
the bounds, which the database accepts too."""

from __future__ import annotations

from supplybrain_pipelines.importer import import_directory
from supplybrain_pipelines.importer.report import FAILED, LOADED
from supplybrain_pipelines_tests.fixtures_db import fetch_all

ARTICLES = "article_code,name\nTR-100,Trunks\nTR-200,Briefs\nTR-300,Boxers\n"
ARTICLE_HEADER = "article_code,target_coverage_days,lead_time_days,service_level_percent," \
                 "pack_multiple\n"


def test_a_bad_service_level_and_a_pack_multiple_of_0_fail_the_file(migrated_db_url, tmp_path):
    (tmp_path / "articles.csv").write_text(ARTICLES)
    (tmp_path / "article_planning_settings.csv").write_text(
        ARTICLE_HEADER + "TR-100,60,70,90,0\nTR-200,60,70,100,10\nTR-300,-1,70,0,\n")
    (tmp_path / "global_planning_settings.csv").write_text(
        "default_target_coverage_days,default_lead_time_days,default_service_level_percent\n"
        "60,-5,100\n")
    report = import_directory(migrated_db_url, tmp_path)
    article = report.result("article_planning_settings.csv")
    assert article.status == FAILED
    assert [str(e) for e in article.errors] == [
        "article_planning_settings.csv line 2: pack_multiple 0 is below the minimum of 1.",
        "article_planning_settings.csv line 3: service_level_percent 100 is above the maximum "
        "of 99.",
        "article_planning_settings.csv line 4: target_coverage_days -1 is negative.",
        "article_planning_settings.csv line 4: service_level_percent 0 is below the minimum "
        "of 1."]
    glob = report.result("global_planning_settings.csv")
    assert glob.status == FAILED
    assert [str(e) for e in glob.errors] == [
        "global_planning_settings.csv line 2: default_lead_time_days -5 is negative.",
        "global_planning_settings.csv line 2: default_service_level_percent 100 is above the "
        "maximum of 99."]
    for table in ("article_planning_settings", "global_planning_settings"):
        assert fetch_all(migrated_db_url, f"SELECT count(*) FROM supplybrain.{table}") == [(0,)]


def test_values_at_the_bounds_load(migrated_db_url, tmp_path):
    (tmp_path / "articles.csv").write_text(ARTICLES)
    (tmp_path / "article_planning_settings.csv").write_text(
        ARTICLE_HEADER + "TR-100,0,0,1,1\nTR-200,365,120,99,12\nTR-300,,,,\n")
    (tmp_path / "global_planning_settings.csv").write_text(
        "default_target_coverage_days,default_lead_time_days,default_service_level_percent\n"
        "0,0,99\n")
    report = import_directory(migrated_db_url, tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert report.result("article_planning_settings.csv").status == LOADED
    assert fetch_all(migrated_db_url, """
        SELECT a.code, s.target_coverage_days, s.lead_time_days, s.service_level_percent,
               s.pack_multiple
        FROM supplybrain.article_planning_settings s
        JOIN supplybrain.article a ON a.id = s.article_id ORDER BY a.code""") == [
        ("TR-100", 0, 0, 1, 1), ("TR-200", 365, 120, 99, 12),
        ("TR-300", None, None, None, None)]
    assert fetch_all(migrated_db_url, """
        SELECT default_target_coverage_days, default_lead_time_days,
               default_service_level_percent
        FROM supplybrain.global_planning_settings""") == [(0, 0, 99)]
