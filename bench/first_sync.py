"""How long a fresh clone's `make dev` takes to land the whole asset graph, and what its first
monitoring snapshot says.

Clones this repository (its committed HEAD) into a temporary folder, starts `make dev` there in
a session of its own (free ports for the UI, the embedded PostgreSQL and the sandbox), and
polls: when the UI answers (``/server_info``), when every asset has a materialisation (or, for
the observed source tables, an observation; GraphQL ``assetNodes``), and the rows of
``supplybrain.monitoring_snapshots``. Stops with SIGINT to the ``supplybrain dev`` process and
prints the numbers, each asset's freshness state at the end (the freshness daemon's verdict on
the policies of ``freshness.py``) and the runs the stack made (Dagster's run storage).

    .venv/bin/python bench/first_sync.py [--timeout 900] [--settle 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
QUERY = """{ assetNodes { assetKey { path }
  assetMaterializations(limit: 1) { timestamp } assetObservations(limit: 1) { timestamp } } }"""
FRESHNESS = "{ assetNodes { assetKey { path } freshnessStatusInfo { freshnessStatus } } }"
RUNS = """SELECT pipeline_name, status, to_timestamp(start_time), to_timestamp(end_time)
FROM runs ORDER BY create_timestamp"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def landed(ui: str) -> tuple[int, list[str]]:
    nodes = httpx.post(f"{ui}/graphql", json={"query": QUERY}, timeout=10).json()[
        "data"]["assetNodes"]
    missing = sorted("/".join(n["assetKey"]["path"]) for n in nodes
                     if not (n["assetMaterializations"] or n["assetObservations"]))
    return len(nodes), missing


def snapshots(pg: int) -> list[tuple]:
    with psycopg.connect(f"host=127.0.0.1 port={pg} user=postgres dbname=supplybrain",
                         connect_timeout=2) as conn:
        return conn.execute("SELECT window_start, overall_status, updated_at FROM "
                            "supplybrain.monitoring_snapshots ORDER BY window_start").fetchall()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait in all")
    parser.add_argument("--settle", type=float, default=60,
                        help="seconds to keep polling after the last asset landed")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="first_sync_"))
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    ui_port, pg, sandbox = free_port(), free_port(), free_port()
    env = {**os.environ, "SUPPLYBRAIN_EMBEDDED_PG_PORT": str(pg),
           "SUPPLYBRAIN_SANDBOX_PORT": str(sandbox)}
    for name in ("SUPPLYBRAIN_DATABASE_URL", "DAGSTER_HOME", "SUPPLYBRAIN_STATE_DIR"):
        env.pop(name, None)
    ui = f"http://127.0.0.1:{ui_port}"
    log = (work / "dev.log").open("w")
    started = time.time()
    proc = subprocess.Popen(["./scripts/dev", "--port", str(ui_port)], cwd=clone, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    t_ui = t_all = None
    seen: list[tuple] = []
    try:
        while time.time() - started < args.timeout and proc.poll() is None:
            try:
                if t_ui is None and httpx.get(f"{ui}/server_info", timeout=2).is_success:
                    t_ui = time.time()
                    print(f"UI answered {t_ui - started:.1f} s after make dev started")
                if t_ui is not None:
                    total, missing = landed(ui)
                    if not missing and t_all is None:
                        t_all = time.time()
                        print(f"all {total} assets landed {t_all - t_ui:.1f} s after the UI "
                              "answered")
                    for row in snapshots(pg):
                        if row not in seen:
                            seen.append(row)
                            print(f"snapshot {row[0]:%H:%M} {row[1]} (written {row[2]:%H:%M:%S},"
                                  f" {row[2].timestamp() - t_ui:.1f} s after the UI answered)")
            except (httpx.HTTPError, psycopg.Error, KeyError, TypeError):
                pass
            if t_all is not None and time.time() - t_all > args.settle:
                break
            time.sleep(1)
        try:  # the freshness daemon's verdict per asset (freshness.py's policies)
            nodes = httpx.post(f"{ui}/graphql", json={"query": FRESHNESS}, timeout=10).json()[
                "data"]["assetNodes"]
            states: dict[str, list[str]] = {}
            for n in nodes:
                info = n["freshnessStatusInfo"]
                states.setdefault(info["freshnessStatus"] if info else "none", []).append(
                    "/".join(n["assetKey"]["path"]))
            for state, keys in sorted(states.items()):
                print(f"freshness {state}: {len(keys)} ({', '.join(sorted(keys))})")
        except (httpx.HTTPError, KeyError, TypeError) as exc:
            print(f"freshness: not read ({exc!r})")
        with psycopg.connect(f"host=127.0.0.1 port={pg} user=postgres dbname=dagster") as conn:
            for name, status, start, end in conn.execute(RUNS):
                took = f"{(end - start).total_seconds():.1f} s" if start and end else "-"
                print(f"run {name:16} {status:8} started {start:%H:%M:%S} took {took}")
    finally:
        # SIGINT to `supplybrain dev` (scripts/dev execs it): it stops Dagster, the sandbox and
        # PostgreSQL itself.
        for child in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children()]:
            if "supplybrain" in " ".join(child.cmdline()):
                child.send_signal(signal.SIGINT)
                break
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(clone, ignore_errors=True)  # its .venv and state: ~300 MB
    print(f"log: {work / 'dev.log'}")
    if t_all is None:
        print("FAIL: not every asset landed")
        return 1
    first = seen[0][1] if seen else "none"
    print(f"RESULT: full graph {t_all - t_ui:.1f} s after the UI; snapshots "
          f"{[row[1] for row in seen]} (first: {first})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
