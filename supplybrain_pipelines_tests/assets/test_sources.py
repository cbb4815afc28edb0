"""The observed source assets, observed for real: the code location's ``observe_sources`` job
on a PostgreSQL-backed Dagster instance, its warehouse resource wired through the environment to
a migrated application database."""

from __future__ import annotations

import dagster as dg
import pytest

from supplybrain_pipelines.config import DATABASE_URL_ENV
from supplybrain_pipelines.definitions import defs
from supplybrain_pipelines.token_crypto import encrypt_token
from supplybrain_pipelines_tests.fixtures_db import (
    execute,
    url_text,
)

WB = dg.AssetKey("wb_integration_accounts")
MS = dg.AssetKey("moysklad_integration_accounts")
RULES = dg.AssetKey("monitoring_alert_rules")
KEYS = (WB, MS, RULES)
TOKEN = ("eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjUwNTIwdjEiLCJ0eXAiOiJKV1QifQ."
         "eyJlbnQiOjEsImV4cCI6MTc5NTAwMDAwMCwib2lkIjo0MjQyNDI0LCJ1aWQiOjU1NTU1NTU1fQ."
         "c0bbf4-never-log-me-8a1d5e")


class Observer:
    def __init__(self, instance: dg.DagsterInstance, db_url) -> None:
        self.instance = instance
        self.db_url = db_url
        self.run_ids: list[str] = []

    def observe(self, *keys: dg.AssetKey) -> str:
        job = defs.resolve_job_def("observe_sources")
        result = job.execute_in_process(instance=self.instance,
                                        asset_selection=list(keys) or None)
        assert result.success
        self.run_ids.append(result.run_id)
        return result.run_id

    def latest(self, key: dg.AssetKey) -> tuple[str, dict, str]:
        """(data version, metadata values, run id) of the newest observation of ``key``."""
        record = self.instance.get_latest_data_version_record(key)
        assert record is not None, key
        observation = record.asset_observation
        assert observation is not None, key
        metadata = {name: value.value for name, value in observation.metadata.items()}
        return observation.data_version, metadata, record.run_id

    def versions(self) -> dict[dg.AssetKey, str]:
        return {key: self.latest(key)[0] for key in KEYS}

    def sql(self, statement: str, **params) -> None:
        execute(self.db_url, statement, **params)


@pytest.fixture
def observer(migrated_db_url, dagster_instance, monkeypatch) -> Observer:
    # The job's warehouse resource is the code location's: dg.EnvVar(SUPPLYBRAIN_DATABASE_URL).
    monkeypatch.setenv(DATABASE_URL_ENV, url_text(migrated_db_url))
    return Observer(dagster_instance, migrated_db_url)


def add_wb_account(observer: Observer, name: str = "Shop") -> None:
    observer.sql("INSERT INTO supplybrain.wb_integration_accounts (name, api_token_encrypted) "
                 "VALUES (:name, :token)", name=name, token=encrypt_token(TOKEN))


def test_observation_records_versions_and_counts(observer):
    for key in KEYS:
        assert observer.instance.get_latest_data_version_record(key) is None
    run_id = observer.observe()

    for key in KEYS:
        version, _, observed_in = observer.latest(key)
        assert observed_in == run_id
        assert isinstance(version, str) and len(version) == 16
        int(version, 16)
    assert observer.latest(WB)[1] == {"dagster/row_count": 0, "active": 0, "inactive": 0}
    assert observer.latest(MS)[1] == {"dagster/row_count": 0, "active": 0, "inactive": 0}
    # The 10 seed rules; "Подозрительно всё хорошо" is seeded inactive.
    assert observer.latest(RULES)[1] == {"dagster/row_count": 10, "active": 9, "inactive": 1}
    assert observer.latest(RULES)[0] != observer.latest(WB)[0]


def test_unchanged_tables_keep_their_versions(observer):
    add_wb_account(observer)
    observer.observe()
    first = observer.versions()
    second_run = observer.observe()
    assert observer.versions() == first
    # It was observed again (a new record), just with the same version.
    assert {observer.latest(key)[2] for key in KEYS} == {second_run}


def test_adding_and_deactivating_accounts_change_only_their_version(observer):
    observer.observe()
    empty = observer.versions()

    add_wb_account(observer)
    observer.observe()
    added = observer.versions()
    assert added[WB] != empty[WB]
    assert (added[MS], added[RULES]) == (empty[MS], empty[RULES])
    assert observer.latest(WB)[1] == {"dagster/row_count": 1, "active": 1, "inactive": 0}

    observer.sql("UPDATE supplybrain.wb_integration_accounts SET is_active = false, "
                 "updated_at = now()")
    observer.observe()
    deactivated = observer.versions()
    assert deactivated[WB] not in (empty[WB], added[WB])
    assert (deactivated[MS], deactivated[RULES]) == (empty[MS], empty[RULES])
    assert observer.latest(WB)[1] == {"dagster/row_count": 1, "active": 0, "inactive": 1}

    observer.sql("INSERT INTO supplybrain.moysklad_integration_accounts "
                 "(name, api_token_encrypted) VALUES ('Склад', :token)",
                 token=encrypt_token(TOKEN[::-1]))
    observer.observe()
    ms_added = observer.versions()
    assert ms_added[MS] != deactivated[MS]
    assert (ms_added[WB], ms_added[RULES]) == (deactivated[WB], deactivated[RULES])


def test_replacing_a_token_changes_the_version_through_updated_at(observer):
    add_wb_account(observer)
    observer.observe()
    before = observer.versions()[WB]
    observer.sql("UPDATE supplybrain.wb_integration_accounts SET api_token_encrypted = "
                 ":token, updated_at = now()", token=encrypt_token(TOKEN + "-rotated"))
    observer.observe()
    assert observer.versions()[WB] != before


def test_editing_an_alert_rule_changes_its_version(observer):
    observer.observe()
    before = observer.versions()
    observer.sql("UPDATE supplybrain.monitoring_alert_rules SET threshold_value = 6 "
                 "WHERE metric = 'bundle_risk_warning'")
    observer.observe()
    after = observer.versions()
    assert after[RULES] != before[RULES]
    assert (after[WB], after[MS]) == (before[WB], before[MS])
    assert observer.latest(RULES)[1]["active"] == 9


def test_a_subset_observes_only_the_selected_table(observer):
    run_id = observer.observe(WB)
    assert observer.latest(WB)[2] == run_id
    assert observer.instance.get_latest_data_version_record(MS) is None
    assert observer.instance.get_latest_data_version_record(RULES) is None


def test_the_token_never_reaches_the_event_log(observer):
    add_wb_account(observer)
    observer.sql("INSERT INTO supplybrain.moysklad_integration_accounts "
                 "(name, api_token_encrypted) VALUES ('Склад', :token)", token=encrypt_token(TOKEN))
    observer.observe()
    observer.observe(WB)
    assert len(observer.run_ids) == 2
    for run_id in observer.run_ids:
        records = observer.instance.all_logs(run_id)
        assert any(r.dagster_event and r.dagster_event.is_asset_observation for r in records)
        dumped = "\n".join(str(record) for record in records)
        dumped += str(observer.instance.get_run_by_id(run_id))
        for secret in (TOKEN, TOKEN[:40], TOKEN[-20:]):
            assert secret not in dumped
    # The account itself was observed (its row counted), only the token stayed out.
    assert observer.latest(WB)[1]["dagster/row_count"] == 1
