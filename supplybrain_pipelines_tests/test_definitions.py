"""The code location loads, in Python, through the classic CLI and through `dg`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from supplybrain_pipelines.config import PROJECT_ROOT
from supplybrain_pipelines.definitions import defs
from supplybrain_pipelines_tests.conftest import write_instance_config

BIN = Path(sys.executable).parent


def test_definitions_are_loadable():
    dg.Definitions.validate_loadable(defs)


def test_every_job_and_schedule_resolves():
    repo = defs.get_repository_def()
    assert {job.name for job in repo.get_all_jobs()} >= {"observe_sources"}
    for job in repo.get_all_jobs():
        assert defs.resolve_job_def(job.name).name == job.name
    assert repo.schedule_defs
    for schedule in repo.schedule_defs:
        assert defs.resolve_schedule_def(schedule.name).job_name in {
            job.name for job in repo.get_all_jobs()}


def test_every_asset_is_a_good_ui_citizen():
    specs = list(defs.resolve_all_asset_specs())
    assert specs
    for spec in specs:
        assert spec.description, spec.key
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.owners, spec.key
        assert spec.kinds, spec.key


def _cli_env(dagster_storage_url, home: Path) -> dict[str, str]:
    env = dict(os.environ)  # DAGSTER_PG_* were exported by the dagster_storage_url fixture
    env["DAGSTER_HOME"] = str(home)
    return env


def test_dagster_definitions_validate_passes(dagster_storage_url, tmp_path):
    home = write_instance_config(tmp_path / "home")
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate",
         "-m", "supplybrain_pipelines.definitions"],
        cwd=home, env=_cli_env(dagster_storage_url, home), capture_output=True, text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_dg_loads_the_project_from_pyproject(dagster_storage_url, tmp_path):
    home = write_instance_config(tmp_path / "home")
    result = subprocess.run(
        [str(BIN / "dg"), "list", "defs", "--json"], cwd=PROJECT_ROOT,
        env=_cli_env(dagster_storage_url, home), capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listed = json.loads(result.stdout[result.stdout.index("{"):])
    keys = {asset["asset_key"] for asset in listed["assets"]}
    assert "wb_integration_accounts" in keys
    assert {schedule["name"] for schedule in listed["schedules"]} >= {"observe_sources_every_15m"}
