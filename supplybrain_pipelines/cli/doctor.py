"""``supplybrain doctor``: is this installation able to run? Each failed check says what is wrong
and how to fix it.

The verdict comes within a few seconds even when PostgreSQL is down: each server gets
:data:`PROBE_S` of connection attempts, a check whose prerequisite failed is not run (it says
so), and Dagster's instance is only built once its storage server answered (dagster-postgres
would otherwise retry for ~10 s, printing a warning per attempt). Third-party log lines and
warnings raised while checking are kept off the screen; every failure is one line.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import (
    DAGSTER_DB_ENV,
    DATABASE_URL_ENV,
    DRIVER,
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


#: Seconds of connection attempts per server (refused connections are retried with backoff;
#: an unreachable host costs one libpq connect timeout, 2 s, on top).
PROBE_S = 1.0


@contextmanager
def quiet_third_parties() -> Iterator[None]:
    """No log line below ERROR and no Python warning reaches the screen inside the block
    (dagster-postgres' "Retrying failed database connection", deprecation notices)."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def storage_url() -> URL:
    """Dagster's storage as dagster.yaml reads it: the DAGSTER_PG_* variables (set by the caller
    or defaulted beside the application database, as ``supplybrain dev`` does)."""
    env = os.environ
    return URL.create(DRIVER, username=env["DAGSTER_PG_USER"],
                      password=env["DAGSTER_PG_PASSWORD"] or None, host=env["DAGSTER_PG_HOST"],
                      port=int(env["DAGSTER_PG_PORT"]), database=env[DAGSTER_DB_ENV])


def check_database() -> Check:
    url = resolve_database_url()
    try:
        wait_for_database(url, timeout_s=PROBE_S)
    except DatabaseUnavailable as exc:
        return Check("database", False, str(exc),
                     f"start `make dev` (embedded default) or set {DATABASE_URL_ENV}.")
    return Check("database", True, f"{redact(url)} answers")


def check_migrations(database_ok: bool = True) -> Check:
    if not database_ok:
        return Check("migrations", False, "not checked: the database does not answer",
                     "fix the database check first.")
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


def check_instance(database_ok: bool = True) -> Check:
    import dagster as dg

    home = Path(os.environ.get("DAGSTER_HOME") or LOCAL_STATE_DIR / "dagster_home")
    config_dir = home if (home / "dagster.yaml").exists() else INSTANCE_CONFIG.parent
    # Same defaults as `supplybrain dev`: Dagster's database beside the application database.
    for key, value in dagster_storage_env(resolve_database_url()).items():
        os.environ.setdefault(key, value)
    app = resolve_database_url()
    try:
        storage = storage_url()
        if not database_ok and (storage.host, storage.port) == (app.host, app.port):
            return Check("dagster instance", False,
                         "not checked: Dagster's storage is on the database's server, which "
                         "does not answer", "fix the database check first.")
        wait_for_database(storage, timeout_s=PROBE_S)
    except (DatabaseUnavailable, KeyError, ValueError) as exc:
        detail = str(exc) if isinstance(exc, DatabaseUnavailable) else f"{exc} is not usable"
        return Check("dagster instance", False, f"Dagster's storage: {detail}",
                     "start PostgreSQL (`make dev`) or check the DAGSTER_PG_* variables "
                     "(README, Configuration).")
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


def run_checks() -> list[Check]:
    """Every check, in order. Migrations, and Dagster's storage when it is on the same server,
    are not checked when the database did not answer."""
    with quiet_third_parties():
        database = check_database()
        return [database, check_migrations(database.ok), check_instance(database.ok),
                check_code_location()]


@click.command()
def doctor() -> None:
    """Check the database, the migrations, the Dagster instance and the code location.

    Each server gets about a second to answer, so the verdict comes within seconds even when
    PostgreSQL is down."""
    results = run_checks()
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        click.echo(f"[{mark}] {result.name}: {result.detail}")
        if not result.ok:
            click.echo(f"       fix: {result.fix}")
    if not all(r.ok for r in results):
        raise SystemExit(1)
