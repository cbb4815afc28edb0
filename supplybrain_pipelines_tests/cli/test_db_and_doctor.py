"""``supplybrain db upgrade`` and ``supplybrain doctor``: the installed console script in a
subprocess against the test PostgreSQL server (and against a port where nothing listens)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid

import pytest
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import DRIVER, dagster_storage_env
from supplybrain_pipelines.db.migrate import all_revisions, current_revision, head_revision
from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines.devstack.environment import INSTANCE_CONFIG
from supplybrain_pipelines_tests.fixtures_db import (
    SUPPLYBRAIN,
    cli_env,
    database_exists,
    drop_database,
    fetch_all,
)

PASSWORD = "s3cr3t-Pa55word-for-tests"


def supplybrain(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SUPPLYBRAIN), *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)


def unreachable_url() -> URL:
    """A URL with a password, on a loopback port where nothing listens."""
    return URL.create(DRIVER, username="supplybrain", password=PASSWORD, host="127.0.0.1",
                      port=free_port(), database="supplybrain")


def test_upgrade_applies_the_revisions_then_has_nothing_to_do(empty_db_url):
    env = cli_env(empty_db_url)
    first = supplybrain("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.rstrip().endswith(": applied " + ", ".join(all_revisions()))
    assert current_revision(empty_db_url) == head_revision()
    # The old backend's 9 seed rules, and 0016's slot_busy_pct above 80.
    assert fetch_all(empty_db_url,
                     "SELECT count(*) FROM supplybrain.monitoring_alert_rules") == [(10,)]

    second = supplybrain("db", "upgrade", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.rstrip().endswith("already at the latest revision, nothing to do")
    assert "applied" not in second.stdout
    assert fetch_all(empty_db_url,
                     "SELECT count(*) FROM supplybrain.monitoring_alert_rules") == [(10,)]


def test_upgrade_against_a_closed_port_fails_in_one_line():
    url = unreachable_url()
    started = time.monotonic()
    done = supplybrain("db", "upgrade", "--timeout", "2", env=cli_env(url))
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert elapsed < 15
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: Could not connect to PostgreSQL at ")
    assert f"127.0.0.1:{url.port}" in line
    assert "Traceback" not in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert done.stdout == ""


def test_upgrade_create_databases(pg_server_url):
    suffix = uuid.uuid4().hex[:10]
    app_db, dagster_db = f"sb_test_app_{suffix}", f"sb_test_dagster_{suffix}"
    url = pg_server_url.set(database=app_db)
    env = cli_env(url, DAGSTER_PG_DB=dagster_db)
    assert not database_exists(pg_server_url, app_db)
    assert not database_exists(pg_server_url, dagster_db)
    try:
        first = supplybrain("db", "upgrade", "--create-databases", env=env)
        assert first.returncode == 0, first.stderr
        lines = first.stdout.splitlines()
        assert lines[:2] == [f"created database {app_db}", f"created database {dagster_db}"]
        assert lines[2].endswith("applied " + ", ".join(all_revisions()))
        assert database_exists(pg_server_url, app_db)
        assert database_exists(pg_server_url, dagster_db)
        assert current_revision(url) == head_revision()

        again = supplybrain("db", "upgrade", "--create-databases", env=env)
        assert again.returncode == 0, again.stderr
        assert "created" not in again.stdout
        assert again.stdout.rstrip().endswith("nothing to do")
    finally:
        drop_database(pg_server_url, app_db)
        drop_database(pg_server_url, dagster_db)
    assert not database_exists(pg_server_url, app_db)


@pytest.fixture
def doctor_env(make_database, tmp_path):
    """``doctor_env(app_url)``: the environment of ``doctor`` for an application database, with
    Dagster's storage in a fresh database of its own and DAGSTER_HOME holding the repo's
    dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_CONFIG, home / "dagster.yaml")
    storage = make_database()

    def _env(app_url: URL) -> dict[str, str]:
        return cli_env(app_url, DAGSTER_HOME=str(home),
                       **dagster_storage_env(storage, storage.database))

    _env.home = home
    return _env


def check_lines(stdout: str) -> dict[str, str]:
    """``{check name: "ok  " or "FAIL"}`` from doctor's output."""
    return dict((name, mark) for mark, name in re.findall(r"^\[(ok  |FAIL)\] ([^:]+):", stdout,
                                                           re.MULTILINE))


def fix_after(stdout: str, check: str) -> str:
    lines = stdout.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"[FAIL] {check}:"))
    fix = lines[index + 1]
    assert fix.lstrip().startswith("fix: ")
    return fix


CHECKS = ["database", "migrations", "dagster instance", "code location"]


def test_doctor_passes_on_a_working_installation(migrated_db_url, doctor_env):
    done = supplybrain("doctor", env=doctor_env(migrated_db_url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("[ok  ]") == 4
    assert check_lines(done.stdout) == dict.fromkeys(CHECKS, "ok  ")
    assert "FAIL" not in done.stdout
    assert f"schema at head ({head_revision()})" in done.stdout
    assert str(doctor_env.home / "dagster.yaml") in done.stdout
    assert "QueuedRunCoordinator, one run at a time" in done.stdout


def test_doctor_finds_an_unmigrated_database(empty_db_url, doctor_env):
    done = supplybrain("doctor", env=doctor_env(empty_db_url))
    assert done.returncode == 1
    assert check_lines(done.stdout) == {"database": "ok  ", "migrations": "FAIL",
                                        "dagster instance": "ok  ", "code location": "ok  "}
    assert f"schema is at nothing, the code expects {head_revision()}" in done.stdout
    assert "supplybrain db upgrade" in fix_after(done.stdout, "migrations")
    assert "Traceback" not in done.stdout + done.stderr


def test_doctor_finds_an_unreachable_database(doctor_env):
    done = supplybrain("doctor", env=doctor_env(unreachable_url()))
    assert done.returncode == 1
    checks = check_lines(done.stdout)
    assert checks["database"] == "FAIL"
    assert checks["migrations"] == "FAIL"
    assert checks["code location"] == "ok  "
    assert "Could not connect to PostgreSQL" in done.stdout
    assert "SUPPLYBRAIN_DATABASE_URL" in fix_after(done.stdout, "database")
    assert "Traceback" not in done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
