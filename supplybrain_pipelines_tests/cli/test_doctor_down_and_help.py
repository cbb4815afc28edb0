"""``supplybrain doctor`` with PostgreSQL down (one line per check, no third-party warnings,
checks that depend on a failed one are not run), and ``--help`` showing the defaults this
environment gives (not the constants). The installed console script, in a subprocess.

How long doctor takes with the database down is measured by ``bench/doctor_db_down.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines.devstack.environment import INSTANCE_CONFIG
from supplybrain_pipelines_tests.cli.test_db_and_doctor import (
    PASSWORD,
    check_lines,
    fix_after,
    supplybrain,
    unreachable_url,
)
from supplybrain_pipelines_tests.fixtures_db import cli_env

THIRD_PARTY_NOISE = ("Retrying", "WARNING", "Warning", "Traceback", "psycopg2")


def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_CONFIG, home / "dagster.yaml")
    return home


def one_line(text: str) -> str:
    """Help text with its line wrapping undone."""
    return " ".join(text.split())


def test_doctor_with_everything_down_gives_one_line_per_check(tmp_path):
    # No DAGSTER_PG_*: Dagster's storage defaults to the database's (down) server.
    env = cli_env(unreachable_url(), DAGSTER_HOME=str(dagster_home(tmp_path)))
    done = supplybrain("doctor", env=env)
    assert done.returncode == 1
    assert check_lines(done.stdout) == {"database": "FAIL", "migrations": "FAIL",
                                        "dagster instance": "FAIL", "code location": "ok  "}
    assert "[FAIL] migrations: not checked: the database does not answer" in done.stdout
    assert ("[FAIL] dagster instance: not checked: Dagster's storage is on the database's "
            "server, which does not answer") in done.stdout
    assert "SUPPLYBRAIN_DATABASE_URL" in fix_after(done.stdout, "database")
    assert done.stderr == ""
    for noise in THIRD_PARTY_NOISE:
        assert noise not in done.stdout, noise
    assert PASSWORD not in done.stdout
    assert len(done.stdout.splitlines()) == 7  # 4 checks + 3 fixes


def test_doctor_with_dagster_storage_down_says_so_without_retry_warnings(migrated_db_url,
                                                                           tmp_path):
    port = free_port()
    env = cli_env(migrated_db_url, DAGSTER_HOME=str(dagster_home(tmp_path)),
                  DAGSTER_PG_HOST="127.0.0.1", DAGSTER_PG_PORT=str(port),
                  DAGSTER_PG_USER="dagster", DAGSTER_PG_PASSWORD=PASSWORD,
                  DAGSTER_PG_DB="dagster")
    done = supplybrain("doctor", env=env)
    assert done.returncode == 1
    assert check_lines(done.stdout) == {"database": "ok  ", "migrations": "ok  ",
                                        "dagster instance": "FAIL", "code location": "ok  "}
    assert (f"[FAIL] dagster instance: Dagster's storage: Could not connect to PostgreSQL at "
            f"postgresql+psycopg://dagster:***@127.0.0.1:{port}/dagster") in done.stdout
    assert "DAGSTER_PG_*" in fix_after(done.stdout, "dagster instance")
    assert done.stderr == ""
    for noise in THIRD_PARTY_NOISE:
        assert noise not in done.stdout, noise
    assert PASSWORD not in done.stdout


def test_help_shows_the_embedded_port_this_environment_sets():
    done = supplybrain("--help", env=cli_env(None, SUPPLYBRAIN_EMBEDDED_PG_PORT="26543"))
    assert done.returncode == 0, done.stderr
    text = one_line(done.stdout)
    assert ("The database is postgresql+psycopg://postgres@127.0.0.1:26543/supplybrain: "
            "SUPPLYBRAIN_DATABASE_URL is unset") in text
    assert "127.0.0.1:25432" not in text


def test_help_shows_the_configured_database_without_its_password():
    url = f"postgresql://ops:{PASSWORD}@db.internal:5433/brand"
    done = supplybrain("--help", env=cli_env(url, SUPPLYBRAIN_EMBEDDED_PG_PORT="26543"))
    assert done.returncode == 0, done.stderr
    text = one_line(done.stdout)
    assert ("The database is postgresql+psycopg://ops:***@db.internal:5433/brand "
            "(SUPPLYBRAIN_DATABASE_URL).") in text
    assert PASSWORD not in done.stdout
    assert "26543" not in text


def test_help_names_a_malformed_database_url_instead_of_failing():
    done = supplybrain("--help", env=cli_env("mysql://x@y/z"))
    assert done.returncode == 0, done.stderr
    assert ("SUPPLYBRAIN_DATABASE_URL must point at PostgreSQL, not 'mysql'."
            in one_line(done.stdout))


def test_sandbox_help_shows_the_port_this_environment_sets():
    done = supplybrain("sandbox", "--help", env=cli_env(None, SUPPLYBRAIN_SANDBOX_PORT="9123"))
    assert done.returncode == 0, done.stderr
    assert "[default: 9123]" in one_line(done.stdout)
    unset = supplybrain("sandbox", "--help", env=cli_env(None))
    assert "[default: 8765]" in one_line(unset.stdout)
