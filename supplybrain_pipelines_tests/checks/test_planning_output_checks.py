"""``proposals_are_complete`` and ``bundle_risk_is_complete``: pass on what the planning assets
write, fail on each kind of damage, on PostgreSQL."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.planning import PLANNING_ASSETS
from supplybrain_pipelines.checks import CHECKS, bundle_risk_is_complete, proposals_are_complete
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.seed import load_master_data
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text


@pytest.fixture
def planned(migrated_db_url, dagster_instance):
    engine = sa.create_engine(migrated_db_url)
    with engine.begin() as conn:
        load_master_data(conn, generate_business(seed=3, as_of=date(2026, 11, 1), articles=2,
                                                  days=10))
    engine.dispose()
    result = dg.materialize([*PLANNING_ASSETS, *CHECKS], instance=dagster_instance,
                            resources={"warehouse": PostgresWarehouse(
                                database_url=url_text(migrated_db_url))},
                            raise_on_error=False)
    return migrated_db_url, result


def check(result, name: str) -> dg.AssetCheckEvaluation:
    (found,) = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return found


def counts(result: dg.AssetCheckResult, *names: str) -> dict[str, int]:
    return {name: result.metadata[name].value for name in names}


PROBLEMS = ("missing", "not_active", "negative", "nan", "no_explanation")


def test_proposals_pass_on_the_planning_run_and_fail_on_each_damage(planned):
    url, result = planned
    assert check(result, "proposals_are_complete").passed  # evaluated in the planning run
    warehouse = PostgresWarehouse(database_url=url_text(url))
    # article 2 is switched off (planning_settings.is_active false): 20 active SKU units
    assert [r[0] for r in fetch_all(url, "SELECT count(*) FROM supplybrain."
                                         "planning_proposals_latest")] == [20]
    skus = [r[0] for r in fetch_all(url, "SELECT sku_unit_id FROM supplybrain."
                                         "planning_proposals_latest ORDER BY 1")]
    expected = dict.fromkeys(PROBLEMS, 0)
    for problem, sku, damage in [
            ("missing", skus[0], "DELETE FROM supplybrain.planning_proposals"),
            ("negative", skus[1], "UPDATE supplybrain.planning_proposals SET raw_quantity = -3"),
            ("nan", skus[2], "UPDATE supplybrain.planning_proposals SET demand_rate = 'NaN'"),
            ("no_explanation", skus[3], "UPDATE supplybrain.planning_proposals "
                                        "SET explanation = explanation #- '{steps,1}'")]:
        execute(url, damage + " WHERE sku_unit_id = :sku", sku=sku)
        found = proposals_are_complete(warehouse=warehouse)
        expected[problem] = 1
        assert not found.passed
        assert found.severity == dg.AssetCheckSeverity.ERROR
        assert counts(found, *PROBLEMS) == expected
        assert found.metadata[f"{problem}_examples"].value == str(sku)


def test_proposals_of_a_switched_off_article_fail(planned):
    url, _ = planned
    execute(url, "INSERT INTO supplybrain.article_planning_settings (article_id, "
                 "include_in_planning) VALUES (1, false)")
    found = proposals_are_complete(warehouse=PostgresWarehouse(database_url=url_text(url)))
    assert not found.passed
    assert counts(found, *PROBLEMS) == {"missing": 0, "not_active": 20, "negative": 0, "nan": 0,
                                        "no_explanation": 0}


def test_the_proposals_check_blocks_planning_health():
    (spec,) = proposals_are_complete.check_specs
    assert spec.blocking


RISK = ("missing", "switched_off")


def test_bundle_risk_check(planned):
    url, result = planned
    warehouse = PostgresWarehouse(database_url=url_text(url))
    # bundle_risk leaves out switched-off article 2: article 1 × its one bundle type
    on_run = check(result, "bundle_risk_is_complete")
    assert on_run.passed
    assert counts(on_run, *RISK) == {"missing": 0, "switched_off": 0}
    assert fetch_all(url, "SELECT article_id, bundle_type_id FROM supplybrain.bundle_risk") \
        == [(1, 1)]
    # article 1's row relabelled as switched-off article 2's: one missing, one switched off
    execute(url, "UPDATE supplybrain.bundle_risk SET article_id = 2 WHERE article_id = 1")
    bad = bundle_risk_is_complete(warehouse=warehouse)
    assert (bad.passed, bad.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert counts(bad, *RISK) == {"missing": 1, "switched_off": 1}
    assert (bad.metadata["missing_examples"].value,
            bad.metadata["switched_off_examples"].value) == ("1/1", "2/1")
    # before any demand the asset writes nothing, and nothing is missing
    execute(url, "DELETE FROM supplybrain.bundle_risk; DELETE FROM supplybrain.demand")
    assert bundle_risk_is_complete(warehouse=warehouse).passed
