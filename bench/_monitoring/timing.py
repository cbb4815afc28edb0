"""The monitoring bench's snapshot timing: (a) the snapshot against bare aggregates (b), (c).

Owns the bare aggregates, the interleaved best-of timing of (a), (b) and (c) and its lines per
data size (:func:`measure`), the time of each ``queries.read_*`` inside ``compute_snapshot``
(:func:`report_parts`), and EXPLAIN ANALYZE of the order queries (:func:`report_plans`).
"""

from __future__ import annotations

import time
from datetime import datetime

from _support.console import say

BARE = ("SELECT count(*), sum(quantity) FROM supplybrain.orders "
        "WHERE ordered_at >= :ws - interval '8 days' AND ordered_at < :ws")
BARE_ALL = "SELECT count(*), sum(quantity) FROM supplybrain.orders"


# -- part 1: snapshot against bare aggregates ---------------------------------------------------
def time_snapshot(engine, window_start: datetime, now: datetime, repeat: int,
                  full_repeat: int) -> dict[str, list[float]]:
    """(a) snapshot, (b) bare window aggregate, (c) bare aggregate over all rows: interleaved,
    each in its own transaction, after an untimed warm-up of each."""
    from sqlalchemy import text

    from supplybrain_pipelines.assets.monitoring.snapshot import compute_snapshot

    def run(kind: str) -> float:
        with engine.begin() as conn:
            started = time.perf_counter()
            if kind == "a":
                compute_snapshot(conn, window_start, now)
            elif kind == "b":
                conn.execute(text(BARE), {"ws": window_start}).one()
            else:
                conn.execute(text(BARE_ALL)).one()
            return time.perf_counter() - started

    for kind in ("a", "b", "c"):
        run(kind)
    times: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    for rep in range(repeat):
        order = ["a", "b"] if rep % 2 == 0 else ["b", "a"]
        if rep < full_repeat:
            order.insert(1, "c")
        for kind in order:
            times[kind].append(run(kind))
    return times


PARTS = ("read_latest_proposals", "read_counters", "read_sync_health", "read_order_volume",
         "read_watermarks", "read_data_quality")


def time_parts(engine, window_start: datetime, now: datetime, repeat: int) -> dict[str, float]:
    """Best time of each ``queries.read_*`` inside ``compute_snapshot`` (wrapped with timers
    for these runs only), and of the whole call."""
    from supplybrain_pipelines.assets.monitoring import queries as q
    from supplybrain_pipelines.assets.monitoring.snapshot import compute_snapshot

    samples: dict[str, list[float]] = {name: [] for name in (*PARTS, "compute_snapshot")}
    originals = {name: getattr(q, name) for name in PARTS}

    def timed(name: str, function):
        def wrapper(*args):
            started = time.perf_counter()
            try:
                return function(*args)
            finally:
                samples[name].append(time.perf_counter() - started)
        return wrapper

    try:
        for name in PARTS:
            setattr(q, name, timed(name, originals[name]))
        for _ in range(repeat):
            with engine.begin() as conn:
                timed("compute_snapshot", compute_snapshot)(conn, window_start, now)
    finally:
        for name, function in originals.items():
            setattr(q, name, function)
    return {name: min(values) for name, values in samples.items()}


def explain(engine, statement, params: dict) -> list[str]:
    from sqlalchemy import text

    sql = statement.text if hasattr(statement, "text") else statement
    with engine.begin() as conn:
        rows = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + sql), params)
        return [row[0] for row in rows]


def measure(engine, label: str, window_start: datetime, now: datetime, repeat: int,
            full_repeat: int) -> dict:
    from sqlalchemy import text

    with engine.begin() as conn:
        rows = conn.execute(text("SELECT count(*) FROM supplybrain.orders")).scalar_one()
        window_rows = conn.execute(text(BARE), {"ws": window_start}).one()[0]
    times = time_snapshot(engine, window_start, now, repeat, full_repeat)
    best = {kind: min(samples) for kind, samples in times.items()}
    say(f"[{label}] {rows:,} order rows, {window_rows:,} in the 8 days before the window; "
        f"best of {repeat} (c: {full_repeat}), ms:")
    names = {"a": "(a) compute_snapshot", "b": "(b) bare aggregate, 8 days",
             "c": "(c) bare aggregate, all rows"}
    for kind, samples in times.items():
        spread = ", ".join(f"{s * 1000:.1f}" for s in samples)
        say(f"  {names[kind]:<30} {best[kind] * 1000:9.1f}   [{spread}]")
    return {"rows": rows, "window_rows": window_rows, "best": best}


def report_parts(engine, window_start: datetime, now: datetime, repeat: int) -> None:
    parts = time_parts(engine, window_start, now, repeat)
    whole = parts.pop("compute_snapshot")
    say(f"  where (a) goes: each queries.read_* timed inside compute_snapshot, best of {repeat}"
        ", ms:")
    for name, seconds in parts.items():
        say(f"    {name:<24} {seconds * 1000:8.1f}")
    say(f"    {'compute_snapshot':<24} {whole * 1000:8.1f}   (the sum of the parts: "
        f"{sum(parts.values()) * 1000:.1f})")


def report_plans(engine, window_start: datetime, now: datetime) -> None:
    from supplybrain_pipelines.assets.monitoring import queries as q

    for title, statement, params in (
            ("ORDER_VOLUME", q.ORDER_VOLUME, {"window_start": window_start}),
            ("bare aggregate (b)", BARE, {"ws": window_start}),
            ("WATERMARKS", q.WATERMARKS, {})):
        say(f"  EXPLAIN (ANALYZE, BUFFERS) {title}:")
        for line in explain(engine, statement, params):
            say("    " + line)
