"""The ingestion bench's report: the results table, ratios, A's steps and CPU, and the verdicts.

Owns the targets (A >= 100 000 rows/s, A/C and B/C >= 10x), the labels of the paths and every
line printed about the finished repetitions: medians with their min..max, the once-only
pydantic and HTTP figures, the per-repetition ratios, where A's time goes per step, the CPU
A used against what the machine had, and PASS/FAIL.
"""

from __future__ import annotations

import os
import statistics

from _support.console import say, verdict

from _ingest.meters import STEP_ORDER
from _ingest.runs import Repetitions

TARGET_ROWS_PER_S = 100_000
TARGET_RATIO = 10.0
LABELS = {
    "A": "A pipeline (validate+stale+write+cursor)",
    "V": "  its validation alone (check_page, no DB)",
    "W": "  its page writes alone (write_page)",
    "B": "B bulk_upsert, all rows staged",
    "C": "C row-by-row INSERT..ON CONFLICT",
}


def fmt_rate(rows_per_s: float) -> str:
    return f"{rows_per_s:,.0f}"


def report(reps: Repetitions, repeat: int, fetched: int, pydantic_s: float,
           fetch_s: float) -> bool:
    """Print everything about the repetitions; whether A met its rows/s target."""
    results, breakdowns, cpu_a = reps.results, reps.breakdowns, reps.cpu

    def rate(key: str, i: int) -> float:
        n, s = results[key][i]
        return n / s

    def median_rate(key: str) -> tuple[int, float, float, float, float]:
        rows = results[key][0][0]
        secs = statistics.median(s for _, s in results[key])
        rates = [rate(key, i) for i in range(repeat)]
        return rows, secs, rows / secs, min(rates), max(rates)

    ratio_ac = [rate("A", i) / rate("C", i) for i in range(repeat)]
    ratio_bc = [rate("B", i) / rate("C", i) for i in range(repeat)]
    share_v = [results["V"][i][1] / results["A"][i][1] for i in range(repeat)]
    say()
    say(f"results: median of {repeat} repetitions "
        f"(machine: {os.cpu_count()} vCPU, shared)")
    header = f"{'path':<42} {'rows':>9} {'median s':>9} {'rows/s':>10}  {'min..max rows/s':>19}"
    say(header)
    say("-" * len(header))
    medians = {}
    for key in "AVWBC":
        rows, secs, r, lo, hi = median_rate(key)
        medians[key] = r
        say(f"{LABELS[key]:<42} {rows:>9,} {secs:>9.3f} {fmt_rate(r):>10}  "
            f"{fmt_rate(lo):>9}..{fmt_rate(hi)}")
    say(f"{'validate_page, pydantic only (once)':<42} {fetched:>9,} {pydantic_s:>9.3f} "
        f"{fmt_rate(fetched / pydantic_s):>10}  {'(single run)':>19}")
    say(f"{'HTTP fetch + JSON decode (once)':<42} {fetched:>9,} {fetch_s:>9.3f} "
        f"{fmt_rate(fetched / fetch_s):>10}  {'(single run)':>19}")
    say()
    say(f"ratio A/C (median of per-repetition ratios): {statistics.median(ratio_ac):6.1f}x"
        f"   [{', '.join(f'{x:.1f}' for x in ratio_ac)}]")
    say(f"ratio B/C (median of per-repetition ratios): {statistics.median(ratio_bc):6.1f}x"
        f"   [{', '.join(f'{x:.1f}' for x in ratio_bc)}]")
    say()
    a_median_s = statistics.median(s for _, s in results["A"])
    say("where A's time goes (wall clock per step, median over repetitions; timers around "
        "the real calls; steps in the asset's thread and in its writer thread run at the "
        "same time):")
    for step in STEP_ORDER:
        secs = statistics.median(b[step] for b in breakdowns)
        say(f"  {step:<42} {secs:7.3f} s  {secs / a_median_s:5.0%}")
    overlap = [sum(b.values()) - results["A"][i][1] for i, b in enumerate(breakdowns)]
    say(f"  {'steps overlapping (sum of steps - A)':<42} {statistics.median(overlap):7.3f} s")
    say(f"  (check_page alone, outside the pipeline: {statistics.median(share_v):.0%} "
        "of A's time)")
    say()
    py_cpu = statistics.median(c.python for c in cpu_a)
    pg_cpu = statistics.median(c.server for c in cpu_a)
    other_cpu = statistics.median(c.others for c in cpu_a)
    elapsed = statistics.median(c.elapsed for c in cpu_a)
    cores = os.cpu_count() or 1
    say(f"CPU during A (median s): this Python process {py_cpu:.2f}, PostgreSQL "
        f"{pg_cpu:.2f}, other processes on the machine {other_cpu:.2f}, of "
        f"{cores} x {elapsed:.2f} = {cores * elapsed:.2f} available")
    a_rows = results["A"][0][0]
    bound = a_rows / max(py_cpu, pg_cpu, (py_cpu + pg_cpu) / cores)
    say(f"  A's own CPU per row: {(py_cpu + pg_cpu) / a_rows * 1e6:.1f} us (Python "
        f"{py_cpu / a_rows * 1e6:.1f} + PostgreSQL {pg_cpu / a_rows * 1e6:.1f}); with the "
        f"{cores} cores to itself, A could reach about {fmt_rate(bound)} rows/s")
    say()
    a_ok = medians["A"] >= TARGET_ROWS_PER_S
    w_ok = medians["W"] >= TARGET_ROWS_PER_S
    say(f"target A >= {TARGET_ROWS_PER_S:,} rows/s : {verdict(a_ok)} "
        f"({fmt_rate(medians['A'])} rows/s)")
    if not a_ok:
        say(f"       W >= {TARGET_ROWS_PER_S:,} rows/s : {verdict(w_ok)} "
            f"({fmt_rate(medians['W'])} rows/s; A's database writes alone)")
    say(f"target A/C >= {TARGET_RATIO:.0f}x          : "
        f"{verdict(statistics.median(ratio_ac) >= TARGET_RATIO)}")
    say(f"       B/C >= {TARGET_RATIO:.0f}x          : "
        f"{verdict(statistics.median(ratio_bc) >= TARGET_RATIO)}")
    say()
    return a_ok
