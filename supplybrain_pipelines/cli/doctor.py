"""``supplybrain doctor``: is this installation able to run? Each failed check says what is wrong
and how to fix it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from supplybrain_pipelines.config import (
    DATABASE_URL_ENV,
    LOCAL_STATE_DIR,
    dagster_storage_env,
    redact,
    resolve_database_url,
)
from supplybrain_pipelines.db.migrate import (
    DatabaseUnavailable,
    current_revision,
    head_revision,
    wait_for_database,
)
from supplybrain_pipelines.devstack.environment import INSTANCE_CONFIG


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_database() -> Check:
    url = resolve_database_url()
    try:
        wait_for_database(url, timeout_s=3)
    except DatabaseUnavailable as exc:
        return Check("database", False, str(exc),
                     f"start `make dev` (embedded default) or set {DATABASE_URL_ENV}.")
    return Check("database", True, f"{redact(url)} answers")


def check_migrations() -> Check:
    url = resolve_database_url()
    try:
        current, head = current_revision(url), head_revision()
    except Exception as exc:  # the database check already explains connection failures
        return Check("migrations", False, f"cannot read the schema revision ({type(exc).__name__})",
                     "fix the database check first.")
    if current != head:
        return Check("migrations", False,
                     f"schema is at {current or 'nothing'}, the code expects {head}",
                     "run `supplybrain db upgrade`.")
    return Check("migrations", True, f"schema at head ({head})")


def check_instance() -> Check:
    import dagster as dg

    home = Path(os.environ.get("DAGSTER_HOME") or LOCAL_STATE_DIR / "dagster_home")
    config_dir = home if (home / "dagster.yaml").exists() else INSTANCE_CONFIG.parent
    # Same defaults as `supplybrain dev`: Dagster's database beside the application database.
    for key, value in dagster_storage_env(resolve_database_url()).items():
        os.environ.setdefault(key, value)
    try:
        instance = dg.DagsterInstance.from_config(str(config_dir))
        instance.get_runs(limit=1)
        coordinator = type(instance.run_coordinator).__name__
        queue = instance.get_concurrency_config().run_queue_config
        limit = queue.max_concurrent_runs if queue else None
        instance.dispose()
    except Exception as exc:
        return Check("dagster instance", False,
                     f"{config_dir / 'dagster.yaml'} does not load or its storage does not answer "
                     f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})",
                     "check dagster.yaml and the DAGSTER_PG_* variables (README, Configuration).")
    if coordinator != "QueuedRunCoordinator" or limit != 1:
        return Check("dagster instance", False,
                     f"run coordinator {coordinator} with max_concurrent_runs {limit}",
                     "dagster.yaml must keep `concurrency: runs: max_concurrent_runs: 1` and no "
                     "DefaultRunCoordinator.")
    return Check("dagster instance", True, f"{config_dir / 'dagster.yaml'}: PostgreSQL storage, "
                 f"{coordinator}, one run at a time")


def check_code_location() -> Check:
    import dagster as dg

    try:
        from supplybrain_pipelines.definitions import defs

        dg.Definitions.validate_loadable(defs)
    except Exception as exc:
        return Check("code location", False,
                     f"supplybrain_pipelines.definitions does not load ({type(exc).__name__}: "
                     f"{str(exc).splitlines()[0][:200]})",
                     "run `dagster definitions validate -m supplybrain_pipelines.definitions` "
                     "for the full error.")
    jobs = len(list(defs.resolve_all_job_defs()))
    return Check("code location", True, f"supplybrain_pipelines loads ({jobs} jobs)")


CHECKS: list[Callable[[], Check]] = [check_database, check_migrations, check_instance,
                                     check_code_location]


@click.command()
def doctor() -> None:
    """Check the database, the migrations, the Dagster instance and the code location."""
    results = [check() for check in CHECKS]
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        click.echo(f"[{mark}] {result.name}: {result.detail}")
        if not result.ok:
            click.echo(f"       fix: {result.fix}")
    if not all(r.ok for r in results):
        raise SystemExit(1)
