"""Dagster's own ``dg`` CLI in a fresh clone: ``dg check defs`` and ``dg list defs`` run from the
repository root with no project or Dagster variable set (no DAGSTER_HOME, no DAGSTER_PG_*, no
database). With DAGSTER_HOME unset, dg builds a throw-away instance from a ``dagster.yaml`` in
the working directory; the project's instance config (PostgreSQL storage from DAGSTER_PG_*) lives
in ``deploy/dagster.yaml`` so that it is not that file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from supplybrain_pipelines.config import PROJECT_ROOT

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
