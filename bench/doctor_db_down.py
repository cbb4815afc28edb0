"""How long ``supplybrain doctor`` takes to give its verdict when PostgreSQL is down.

Run from the repository root (under a minute)::

    .venv/bin/python bench/doctor_db_down.py [--repeat K]

The installed console script in a subprocess (interpreter start and the code location's import
included), K times each, with a scratch DAGSTER_HOME holding the project's instance config:

- ``refused``: the database URL points at a loopback port where nothing listens, Dagster's
  storage defaults to the same server (what ``make dev``'s state is after the embedded server
  stopped);
- ``refused, storage apart``: the same, with DAGSTER_PG_* on another port nobody listens on
  either, so the storage is probed too.

It prints the median and the slowest wall time and the lines on stderr. It never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines.devstack.environment import INSTANCE_CONFIG

SUPPLYBRAIN = Path(sys.executable).parent / "supplybrain"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPLYBRAIN_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), **extra)
    return env


def _measure(name: str, env: dict[str, str], repeat: int) -> None:
    times, stderr_lines = [], 0
    for _ in range(repeat):
        started = time.monotonic()
        done = subprocess.run([str(SUPPLYBRAIN), "doctor"], env=env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=120)
        times.append(time.monotonic() - started)
        stderr_lines = max(stderr_lines, len(done.stderr.splitlines()))
    print(f"{name:<26} median {statistics.median(times):5.2f} s   slowest {max(times):5.2f} s   "
          f"exit {done.returncode}   stderr lines {stderr_lines}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        shutil.copy(INSTANCE_CONFIG, home / "dagster.yaml")
        url = f"postgresql+psycopg://supplybrain:pw@127.0.0.1:{free_port()}/supplybrain"
        _measure("refused", _env(home, SUPPLYBRAIN_DATABASE_URL=url), repeat)
        _measure("refused, storage apart",
                 _env(home, SUPPLYBRAIN_DATABASE_URL=url, DAGSTER_PG_HOST="127.0.0.1",
                      DAGSTER_PG_PORT=str(free_port()), DAGSTER_PG_USER="dagster",
                      DAGSTER_PG_PASSWORD="pw", DAGSTER_PG_DB="dagster"), repeat)


if __name__ == "__main__":
    main()
