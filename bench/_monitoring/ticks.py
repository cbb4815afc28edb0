"""The monitoring bench's schedule ticks, timed through the real queue and daemon.

Owns starting the stack (the run-queue test's harness) on the code location in
``tick_location.py``, waiting for each minute's snapshot row, and reading when the run was
created, started and ended and when the row committed (``pg_xact_commit_timestamp``).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from _support.console import say

TICK_TIMEOUT_SECONDS = 120.0
#: The code location the stack serves (loaded by Dagster from its path).
LOCATION_FILE = Path(__file__).resolve().with_name("tick_location.py")


COMMITS = """
SELECT window_start, run_id, overall_status, pg_xact_commit_timestamp(xmin) AS committed_at
FROM supplybrain.monitoring_snapshots WHERE window_start >= :since ORDER BY window_start
"""


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_ticks(server, app_url, root: Path, ticks: int) -> list[dict]:
    """Start the stack, wait for ``ticks`` consecutive minute ticks; one dict per tick."""
    from sqlalchemy import create_engine, text

    from supplybrain_pipelines.devstack.environment import prepare_dagster_home
    from supplybrain_pipelines_tests.run_queue.stack import dagster_stack

    server.ensure_database("dagster_bench")
    home = prepare_dagster_home(root / "dagster_home")
    engine = create_engine(app_url)
    results: list[dict] = []
    started = time.monotonic()
    with dagster_stack(server.url("dagster_bench"), home, LOCATION_FILE,
                       attribute="tick_definitions", app_url=app_url) as stack:
        ready = datetime.now(UTC)
        say(f"  stack up in {time.monotonic() - started:.1f} s (code server, daemon, webserver "
            f"on 127.0.0.1; webserver port {stack.webserver_port}) at {ready:%H:%M:%S}")
        os.environ.update({k: v for k, v in stack.env.items() if k.startswith("DAGSTER_PG_")})
        instance = dg.DagsterInstance.from_config(str(home))
        since = ready.replace(second=0, microsecond=0)
        expected: list[datetime] = []
        try:
            deadline = since + timedelta(minutes=2, seconds=TICK_TIMEOUT_SECONDS)
            while True:  # the first tick the daemon takes after the stack is up
                with engine.connect() as conn:
                    rows = conn.execute(text(COMMITS), {"since": since}).all()
                if rows or datetime.now(UTC) > deadline:
                    break
                time.sleep(0.5)
            if not rows:
                say("  no snapshot row within 2 minutes of the stack being up; daemon log:")
                say(_tail(stack.logs / "daemon.log"))
                return results
            expected = [rows[0].window_start + timedelta(minutes=k) for k in range(ticks)]
            for window in expected:
                row = _wait_for_row(engine, window)
                results.append(_tick_result(instance, window, row))
                _say_tick(results[-1])
        finally:
            instance.dispose()
            engine.dispose()
    return results


def _wait_for_row(engine, window: datetime):
    from sqlalchemy import text

    deadline = window + timedelta(seconds=TICK_TIMEOUT_SECONDS)
    while True:
        with engine.connect() as conn:
            row = conn.execute(text(COMMITS + " LIMIT 1"), {"since": window}).first()
        if row is not None and row.window_start == window:
            return row
        if datetime.now(UTC) > deadline:
            return None
        time.sleep(0.2)


def _tick_result(instance: dg.DagsterInstance, window: datetime, row) -> dict:
    result = {"window": window, "latency": None}
    if row is None:
        return result
    result["latency"] = (row.committed_at - window).total_seconds()
    result["status"] = row.overall_status
    record = None
    deadline = time.monotonic() + TICK_TIMEOUT_SECONDS
    while time.monotonic() < deadline:  # let the run finish to read its end time
        record = instance.get_run_record_by_id(row.run_id)
        if record is not None and record.end_time is not None:
            break
        time.sleep(0.5)
    if record is not None:
        tick = window.timestamp()
        created_at = record.create_timestamp
        if created_at.tzinfo is None:  # Dagster stores it as naive UTC
            created_at = created_at.replace(tzinfo=UTC)
        created = created_at.timestamp()
        result.update(
            created=created - tick,
            started=(record.start_time - tick) if record.start_time else None,
            ended=(record.end_time - tick) if record.end_time else None,
            run_status=record.dagster_run.status.value)
    return result


def _say_tick(r: dict) -> None:
    if r["latency"] is None:
        say(f"  tick {r['window']:%H:%M:%S}: no snapshot row within "
            f"{TICK_TIMEOUT_SECONDS:.0f} s")
        return

    def at(key: str) -> str:
        return f"{r[key]:6.2f}" if r.get(key) is not None else "     -"

    say(f"  tick {r['window']:%H:%M:%S}: run created +{at('created')} s, run started "
        f"+{at('started')} s, row committed +{r['latency']:6.2f} s, run ended +{at('ended')} s"
        f"  ({r.get('run_status', '?')}, status {r.get('status')})")
