"""Dagster's own ``dg`` CLI in a fresh clone: ``dg check defs`` and ``dg list defs`` run from the
repository root with no project or Dagster variable set (no DAGSTER_HOME, no DAGSTER_PG_*, no
database). With DAGSTER_HOME unset, dg builds a throw-away instance from a ``dagster.yaml`` in
the working directory; the project's instance config (PostgreSQL storage from DAGSTER_PG_*) lives
in ``deploy/dagster.yaml`` so that it is not that file. Against the local default (or any
database), ``eval "$(supplybrain env)"`` is the one command ``dg launch`` needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

from supplybrain_pipelines.config import DEFAULT_DAGSTER_DB, PROJECT_ROOT
from supplybrain_pipelines.devstack.embedded import ensure_database, libpq_params
from supplybrain_pipelines_tests.fixtures_db import url_text

DG = Path(sys.executable).parent / "dg"


def scrubbed_env(home: Path) -> dict[str, str]:
    """What a fresh shell has: a PATH without the venv, a HOME; nothing of ours or Dagster's."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def dg(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DG), *args], cwd=PROJECT_ROOT, env=scrubbed_env(home),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def test_dg_is_installed_in_the_venv() -> None:
    assert DG.exists(), f"{DG} missing: dagster-dg-cli is a dependency in pyproject.toml"


def test_no_instance_config_in_the_repository_root() -> None:
    # dg reads <cwd>/dagster.yaml for its temporary instance; ours needs DAGSTER_PG_* and a server.
    assert not (PROJECT_ROOT / "dagster.yaml").exists()
    assert (PROJECT_ROOT / "deploy" / "dagster.yaml").is_file()


def test_dg_check_defs_succeeds_with_no_variables_set(tmp_path: Path) -> None:
    done = dg("check", "defs", home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully." in done.stdout
    assert "DAGSTER_PG" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_dg_list_defs_succeeds_with_no_variables_set(tmp_path: Path) -> None:
    done = dg("list", "defs", "--json", home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = json.loads(done.stdout)
    keys = {asset["asset_key"] for asset in listed["assets"]}
    # A few assets of each stage, named by hand (ingestion, planning, monitoring).
    assert {"wb_orders", "bundle_risk", "monitoring_snapshot"} <= keys


def test_dg_launch_runs_a_job_with_what_supplybrain_env_exports(migrated_db_url, pg_server_url,
                                                                tmp_path: Path) -> None:
    # The one documented command: eval "$(.venv/bin/supplybrain env)"; then dg as usual. The
    # instance is the project's dagster.yaml on PostgreSQL (database `dagster`, as
    # `supplybrain dev` uses); dg launch executes in its own process, no daemon needed.
    created = ensure_database(pg_server_url, DEFAULT_DAGSTER_DB)
    env = {**scrubbed_env(tmp_path), "SUPPLYBRAIN_DATABASE_URL": url_text(migrated_db_url),
           "SUPPLYBRAIN_STATE_DIR": str(tmp_path / "state")}
    venv = Path(sys.executable).parent
    script = f'eval "$({venv}/supplybrain env)" && {venv}/dg launch --job observe_sources'
    try:
        done = subprocess.run(["bash", "-c", script], cwd=PROJECT_ROOT, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        storage = libpq_params(pg_server_url.set(database=DEFAULT_DAGSTER_DB))
        with psycopg.connect(**storage) as conn:
            runs = conn.execute("SELECT status FROM runs WHERE pipeline_name = "
                                "'observe_sources'").fetchall()
        assert runs == [("SUCCESS",)]
        # DAGSTER_HOME was made on the way: its dagster.yaml links to deploy/dagster.yaml
        linked = (tmp_path / "state" / "dagster_home" / "dagster.yaml").resolve()
        assert linked.parts[-2:] == ("deploy", "dagster.yaml")
    finally:
        if created:
            with psycopg.connect(**libpq_params(pg_server_url), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {DEFAULT_DAGSTER_DB} WITH (FORCE)")


def test_supplybrain_env_prints_the_exports_of_the_local_default(tmp_path: Path) -> None:
    env = {**scrubbed_env(tmp_path), "SUPPLYBRAIN_STATE_DIR": str(tmp_path / "st ate"),
           "SUPPLYBRAIN_EMBEDDED_PG_PORT": "25999"}
    done = subprocess.run([str(Path(sys.executable).parent / "supplybrain"), "env"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"export DAGSTER_HOME='{tmp_path}/st ate/dagster_home'",
        "export DAGSTER_PG_HOST=127.0.0.1",
        "export DAGSTER_PG_PORT=25999",
        "export DAGSTER_PG_USER=postgres",
        "export DAGSTER_PG_PASSWORD=''",
        "export DAGSTER_PG_DB=dagster",
        "export SUPPLYBRAIN_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:25999/supplybrain",
        "export DAGSTER_DISABLE_TELEMETRY=1",
        "export DAGSTER_WEBSERVER_DB_POOL_RECYCLE=0",
    ]


def _script_tree(root: Path, dg_status: int) -> Path:
    """scripts/test in a folder whose bootstrap, dg and pytest are stand-ins (shell scripts)."""
    (root / "scripts").mkdir(parents=True)
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / "scripts" / "test").write_text((PROJECT_ROOT / "scripts" / "test").read_text())
    stand_ins = {"scripts/bootstrap.sh": "exit 0",
                 ".venv/bin/dg": f'echo "dg $*" >> calls; exit {dg_status}',
                 ".venv/bin/pytest": 'echo "pytest $*" >> calls; exit 0'}
    for name, body in stand_ins.items():
        (root / name).write_text(f"#!/bin/sh\n{body}\n")
    for path in [root / "scripts" / "test", *(root / name for name in stand_ins)]:
        path.chmod(0o755)
    return root


def test_make_test_runs_dg_check_defs_first_and_stops_when_it_fails(tmp_path: Path) -> None:
    ok = _script_tree(tmp_path / "ok", 0)
    done = subprocess.run([str(ok / "scripts" / "test"), "-q"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert (ok / "calls").read_text() == "dg check defs\npytest -q\n"

    broken = _script_tree(tmp_path / "broken", 1)
    done = subprocess.run([str(broken / "scripts" / "test"), "-q"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert (broken / "calls").read_text() == "dg check defs\n"  # pytest never ran
    assert "dg check defs failed; pytest was not run." in done.stderr
