"""The Dagster instance that deploy/helm/values.yaml gives the chart (issue 15), checked with
Dagster's own config schema: no cluster and no `helm` needed (chart.py says why and how the
instance file is rendered).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_k8s import K8sRunLauncher

from supplybrain_pipelines.devstack.environment import INSTANCE_CONFIG
from supplybrain_pipelines_tests.deploy.chart import (
    CHART_VERSION,
    load_values,
    render_instance,
)


@pytest.fixture(scope="module")
def values() -> dict:
    return load_values()


@pytest.fixture(scope="module")
def instance(values: dict) -> dict:
    return render_instance(values)


def _write_home(tmp_path: Path, instance: dict) -> Path:
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance, sort_keys=False))
    return tmp_path


def _load(tmp_path: Path, instance: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    """What Dagster makes of the instance file: `dagster_instance_config` validates the whole
    file against the instance schema and checks its cross-field rules."""
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "x")
    config, _cls = dagster_instance_config(str(_write_home(tmp_path, instance)))
    return config


def test_the_chart_release_matches_the_pinned_dagster() -> None:
    from importlib.metadata import version

    assert version("dagster") == CHART_VERSION
    assert version("dagster-k8s") == "0.29.27"
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'k8s = ["dagster-k8s==0.29.27"]' in pyproject


def test_rendered_instance_validates_against_dagsters_schema(
        tmp_path: Path, instance: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _load(tmp_path, instance, monkeypatch)
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    for key in ("run_storage", "event_log_storage", "schedule_storage"):
        assert config[key]["module"].startswith("dagster_postgres."), key


def test_run_launcher_config_validates_against_k8s_run_launcher_schema(instance: dict) -> None:
    result = validate_config(K8sRunLauncher.config_type(), instance["run_launcher"]["config"])
    assert result.success, [e.message for e in result.errors]


def test_run_coordinator_config_validates_against_queued_coordinator_schema(
        instance: dict) -> None:
    config = instance["run_coordinator"]["config"]
    result = validate_config(QueuedRunCoordinator.config_type(), config)
    assert result.success, [e.message for e in result.errors]
    # the limit is set once, in concurrency.runs; the coordinator only dequeues every second
    assert config == {"dequeue_interval_seconds": 1}


def test_one_run_at_a_time(instance: dict) -> None:
    assert instance["concurrency"] == {"runs": {"max_concurrent_runs": 1}}


@pytest.mark.parametrize("limit", [None, 2, 0])
def test_a_changed_run_limit_is_caught(values: dict, limit: int | None) -> None:
    """Dropping or raising the limit in the values changes what test_one_run_at_a_time sees."""
    changed = copy.deepcopy(values)
    if limit is None:
        del changed["concurrency"]["runs"]["maxConcurrentRuns"]
    else:
        changed["concurrency"]["runs"]["maxConcurrentRuns"] = limit
    assert render_instance(changed).get("concurrency") != {"runs": {"max_concurrent_runs": 1}}


def test_disabled_concurrency_leaves_the_coordinator_unlimited(values: dict) -> None:
    """With concurrency off the chart writes max_concurrent_runs -1 (no limit) into the
    coordinator: the limit must stay in the enabled concurrency block."""
    changed = copy.deepcopy(values)
    changed["concurrency"]["enabled"] = False
    instance = render_instance(changed)
    assert "concurrency" not in instance
    assert instance["run_coordinator"]["config"]["max_concurrent_runs"] == -1


def test_a_second_limit_in_the_coordinator_is_refused(values: dict) -> None:
    changed = copy.deepcopy(values)
    changed["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"][
        "maxConcurrentRuns"] = 1
    with pytest.raises(ValueError, match="Cannot set both"):
        render_instance(changed)


def test_run_monitoring_retries_and_retention_mirror_the_compose_instance(
        tmp_path: Path, instance: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same blocks as deploy/dagster.yaml, field for field."""
    compose = yaml.safe_load(INSTANCE_CONFIG.read_text())
    for key in ("run_monitoring", "run_retries", "retention", "telemetry", "nux"):
        assert instance[key] == compose[key], key
    assert compose["concurrency"] == instance["concurrency"]
    assert compose["run_coordinator"]["config"] == instance["run_coordinator"]["config"]
    config = _load(tmp_path, instance, monkeypatch)
    assert config["run_monitoring"]["max_runtime_seconds"] == 3600
    assert config["run_retries"]["retry_on_asset_or_op_failure"] is False


def test_storage_is_the_external_postgresql_with_the_password_from_a_secret(
        values: dict, instance: dict) -> None:
    assert values["postgresql"]["enabled"] is False
    assert values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"]
    db = instance["run_storage"]["config"]["postgres_db"]
    assert db["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert db["hostname"] == values["postgresql"]["postgresqlHost"]
    assert db["scheme"] == "postgresql+psycopg2"  # as deploy/dagster.yaml (SQLAlchemy 2.1)
    launcher = instance["run_launcher"]["config"]
    assert launcher["postgres_password_secret"] == "supplybrain-dagster-postgresql"
    assert launcher["instance_config_map"] == "supplybrain-dagster-instance"


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, str(i)))
    else:
        yield path, node


def test_no_credential_is_written_in_the_values(values: dict) -> None:
    """Keys that name a password, token or key hold Secret names only; no URL carries a user."""
    secret_names = {"supplybrain-env", "supplybrain-dagster-postgresql"}
    suspicious = ("password", "token", "secret", "key")
    for path, value in _leaves(values):
        if not isinstance(value, str):
            continue
        where = ".".join(path)
        assert "@" not in value or "://" not in value, where
        if any(word in path[-1].lower() for word in suspicious) and path[-1] != "name":
            assert value in secret_names, f"{where}: {value!r}"
