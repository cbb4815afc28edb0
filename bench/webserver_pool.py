"""What the webserver's pool recycle of 0 costs (issue 13, restart tolerance).

    .venv/bin/python bench/webserver_pool.py [--requests N]

Starts an embedded PostgreSQL and the test harness's code server, daemon and webserver
(``supplybrain_pipelines_tests/run_queue/stack.py``) twice: with
``DAGSTER_WEBSERVER_DB_POOL_RECYCLE=0`` (the project's setting: fresh storage connections at
every checkout) and with Dagster's default 3600 (pooled). Each time it sends N GraphQL requests
that read run storage (the runs list, after 20 runs were launched) and prints the median and
95th percentile latency, then the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from supplybrain_pipelines.devstack.embedded import (  # noqa: E402
    ensure_database,
    start_on_free_port,
)
from supplybrain_pipelines.devstack.environment import WEBSERVER_POOL_RECYCLE_ENV  # noqa: E402
from supplybrain_pipelines_tests.conftest import write_instance_config  # noqa: E402
from supplybrain_pipelines_tests.devstack.test_restart_tolerance import (  # noqa: E402
    HARNESS,
    LAUNCH,
    RUNS_QUERY,
    graphql,
    launch_params,
)
from supplybrain_pipelines_tests.run_queue.stack import dagster_stack  # noqa: E402


def measure(recycle: str, requests: int, root: Path) -> list[float]:
    os.environ[WEBSERVER_POOL_RECYCLE_ENV] = recycle
    server = start_on_free_port(root / f"data-{recycle}", fast_unsafe=True)
    try:
        ensure_database(server.url(), "dagster")
        home = write_instance_config(root / f"home-{recycle}")
        with dagster_stack(server.url("dagster"), home, HARNESS) as stack:
            port = stack.webserver_port
            for _ in range(20):
                assert graphql(port, LAUNCH, {"params": launch_params()})[0] == 200
            for _ in range(5):
                graphql(port, RUNS_QUERY)
            latencies = []
            for _ in range(requests):
                started = time.perf_counter()
                status, _ = graphql(port, RUNS_QUERY)
                latencies.append((time.perf_counter() - started) * 1000)
                assert status == 200
            return latencies
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="supplybrain-bench-pool-"))
    try:
        medians = {}
        for recycle in ("0", "3600"):
            latencies = sorted(measure(recycle, args.requests, root))
            medians[recycle] = statistics.median(latencies)
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            print(f"pool recycle {recycle:>4}: {args.requests} runs-list requests, median "
                  f"{medians[recycle]:.1f} ms, p95 {p95:.1f} ms", flush=True)
        print(f"ratio recycle 0 / 3600 (median): {medians['0'] / medians['3600']:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
