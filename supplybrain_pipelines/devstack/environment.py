"""The environment that Dagster processes (dev server, daemon, code server) are started with."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from sqlalchemy.engine import URL

from supplybrain_pipelines.config import (
    DATABASE_URL_ENV,
    DEFAULT_DAGSTER_DB,
    PROJECT_ROOT,
    dagster_storage_env,
    url_to_env,
)

#: The instance config, kept out of the repository root: Dagster's CLIs (`dg check defs`, `dg dev`)
#: read a dagster.yaml in the working directory when DAGSTER_HOME is unset, and this one needs
#: the DAGSTER_PG_* variables and a running server.
INSTANCE_CONFIG = PROJECT_ROOT / "deploy" / "dagster.yaml"
#: ``dagster-webserver --db-pool-recycle`` (also under ``dagster dev``). The webserver alone keeps
#: pooled storage connections (the daemon, code servers and runs use none), for an hour by
#: default; after a PostgreSQL restart its first request then fails with HTTP 500 on a dead
#: connection. 0 recycles each connection at its next checkout: every request opens fresh ones
#: (a few ms on loopback), like the other processes, and survives a restart.
WEBSERVER_POOL_RECYCLE_ENV = "DAGSTER_WEBSERVER_DB_POOL_RECYCLE"
#: On the Dagster processes' PYTHONPATH: its sitecustomize.py keeps log lines single after a
#: database outage (upstream dagster-io/dagster#23732).
PYSTARTUP_DIR = Path(__file__).resolve().parent / "pystartup"


def prepare_dagster_home(home: Path, instance_config: Path = INSTANCE_CONFIG) -> Path:
    """Make ``home`` a DAGSTER_HOME whose dagster.yaml is the project's (a symlink, so there is
    one source of truth)."""
    home.mkdir(parents=True, exist_ok=True)
    link = home / "dagster.yaml"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(instance_config.resolve())
    return home


def dagster_env(app_url: URL, dagster_home: Path, dagster_db: str = DEFAULT_DAGSTER_DB,
                base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) plus everything dagster.yaml and the code
    location read: the app database URL, DAGSTER_PG_* for storage, DAGSTER_HOME; the webserver's
    pool recycle (unless set) and :data:`PYSTARTUP_DIR` first on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    env.update(dagster_storage_env(app_url, dagster_db))
    env[DATABASE_URL_ENV] = url_to_env(app_url)
    env["DAGSTER_HOME"] = str(dagster_home)
    env.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    env.setdefault(WEBSERVER_POOL_RECYCLE_ENV, "0")
    paths = [str(PYSTARTUP_DIR), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


#: What :func:`dagster_env` sets that ``supplybrain env`` exports (not PYTHONPATH: the log
#: fix of :data:`PYSTARTUP_DIR` is for long-lived processes, and would reach every Python
#: started from that shell).
EXPORTED = ("DAGSTER_HOME", "DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER",
            "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB", DATABASE_URL_ENV, "DAGSTER_DISABLE_TELEMETRY",
            WEBSERVER_POOL_RECYCLE_ENV)


def shell_exports(env: dict[str, str]) -> str:
    """``export NAME=value`` lines (values shell-quoted) of the :data:`EXPORTED` variables in
    ``env``, for ``eval "$(supplybrain env)"``.

    >>> print(shell_exports({"DAGSTER_HOME": "/a b", "HOME": "/root"}))
    export DAGSTER_HOME='/a b'
    """
    return "\n".join(f"export {name}={shlex.quote(env[name])}" for name in EXPORTED
                      if name in env)
