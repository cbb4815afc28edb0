"""The planning bench's report: the tables, ratios and verdicts of a phase, and the profiles.

Owns the targets (issue 4), the order and short names of the steps, and every line printed
about finished runs: per-size results, where the time goes per step, t(2N)/t(N), PASS/FAIL,
and the cProfile tables of a step run alone.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

from _support.console import say, verdict

from _planning.runs import Phase, med, run_child

TARGET_SECONDS = 15.0
TARGET_RATIO = 2.2
TARGET_RSS_MIB = 1024.0
#: The steps in the order they are printed; anything else Dagster runs goes under "checks".
ASSET_STEPS = ("demand", "supply", "planning_proposals", "bundle_risk", "planning_health")
SHORT = {"demand": "demand", "supply": "supply", "planning_proposals": "proposals",
         "bundle_risk": "bundle_risk", "planning_health": "health", "checks": "checks"}


def step_groups(steps: dict) -> dict[str, dict]:
    """Per asset step, with the checks' steps summed under "checks"."""
    groups: dict[str, dict] = {}
    for key, step in steps.items():
        name = key if key in ASSET_STEPS else "checks"
        g = groups.setdefault(name, {"seconds": 0.0, "sql": 0.0, "bulk": 0.0, "ran": False})
        for field in ("seconds", "sql", "bulk"):
            g[field] += step.get(field, 0.0)
        g["ran"] = g["ran"] or "seconds" in step
    return groups


def span(values: list[float]) -> str:
    return f"{min(values):.1f}..{max(values):.1f}" if values else "-"


def report_phase(phase: Phase, data: dict[str, dict], skus: int) -> dict[str, bool]:
    """Print the tables, ratio and verdicts of one phase; returns the verdicts."""
    sizes = [label for label in phase.sizes if phase.runs[label]]
    reps = ", ".join(f"{len(phase.runs[label])} at {label}" for label in phase.sizes)
    say(f"results [{phase.name}]: median over repetitions ({reps}), each in a fresh child "
        f"process (machine: {os.cpu_count()} vCPU, shared)")
    header = (f"{'size':<4} {'SKU units':>10} {'order rows':>11} {'end-to-end s':>13} "
              f"{'min..max':>11} {'imports s':>9} {'peak RSS MiB':>12} {'after imports':>13}")
    say(header)
    say("-" * len(header))
    peaks: dict[str, float] = {}
    for label in phase.sizes:
        runs = phase.runs[label]
        counts = data[label]["counts"]
        head = f"{label:<4} {counts['sku_unit']:>10,} {counts['orders_daily']:>11,}"
        if not runs:
            say(f"{head} {'not run':>13}")
            continue
        secs = [r["seconds"] for r in phase.ok_runs(label)]
        peaks[label] = max(r["rss_peak_mib"] for r in runs)
        shown = f"{phase.median(label):13.2f}" if secs else f"{'FAILED':>13}"
        say(f"{head} {shown} {span(secs):>11} {med([r['import_s'] for r in runs]):>9.2f} "
            f"{peaks[label]:>12.0f} {med([r['rss_imports_mib'] for r in runs]):>13.0f}")
        if phase.failed(label):
            first = next(r for r in runs if not r["success"])
            say(f"     FAILED after {first['seconds']:.2f} s: "
                f"{first['errors'][0] if first['errors'] else 'a blocking check failed'}")
    say()
    say("where the time goes (median seconds per step: total (sql / bulk / py); sql = "
        "SQLAlchemy executions incl. fetch,")
    say("bulk = COPY writes (copy_rows, bulk_upsert), py = the rest of the step; checks = "
        "both blocking checks; other = end to end minus steps):")
    names = [*ASSET_STEPS, "checks"]
    header = f"{'size':<4} " + " ".join(f"{SHORT[n]:>20}" for n in names) + f" {'other':>6}"
    say(header)
    say("-" * len(header))
    totals: dict[str, dict[str, float]] = {label: {} for label in phase.sizes}
    for label in sizes:
        runs = phase.ok_runs(label) or phase.runs[label]
        groups = [step_groups(r["steps"]) for r in runs]
        cells = []
        for n in names:
            if not any(g.get(n, {}).get("ran") for g in groups):
                cells.append("not run")
                continue
            tot = med([g.get(n, {}).get("seconds", 0.0) for g in groups])
            sql = med([g.get(n, {}).get("sql", 0.0) for g in groups])
            bulk = med([g.get(n, {}).get("bulk", 0.0) for g in groups])
            totals[label][n] = tot
            flag = "!" if any(n in failed_steps(r) for r in runs) else " "
            py = max(tot - sql - bulk, 0.0)
            cells.append(f"{tot:6.2f}{flag}({sql:4.1f}/{bulk:4.1f}/{py:4.1f})")
        other = med([r["seconds"] - sum(g["seconds"] for g in step_groups(r["steps"]).values())
                     for r in runs])
        say(f"{label:<4} " + " ".join(f"{c:>20}" for c in cells) + f" {other:>6.2f}")
    if len(sizes) == 2:
        ratios = [f"{totals['2N'][n] / totals['N'][n]:.2f}x"
                  if totals["N"].get(n) and n in totals["2N"] else "-" for n in names]
        say(f"{'2N/N':<4} " + " ".join(f"{c:>20}" for c in ratios))
    if any(phase.failed(label) for label in sizes):
        say("     ! = the step failed (its time is up to the failure)")
    say()

    complete = len(sizes) == 2 and not any(phase.failed(label) for label in sizes)
    ratio = phase.median("2N") / phase.median("N") if complete else float("nan")
    if complete:
        paired = [b["seconds"] / a["seconds"]
                  for a, b in zip(phase.runs["N"], phase.runs["2N"], strict=False)]
        say(f"t(2N)/t(N) = {ratio:.2f}x (ratio of medians); per repetition: "
            f"[{', '.join(f'{x:.2f}' for x in paired)}]")
    else:
        say("t(2N)/t(N) = n/a (a size did not complete)")
    say()
    n_done = bool(phase.runs["N"]) and not phase.failed("N")
    t_ok = n_done and phase.median("N") <= TARGET_SECONDS
    r_ok = complete and ratio <= TARGET_RATIO
    m_ok = n_done and peaks["N"] <= TARGET_RSS_MIB
    t_text = f"{phase.median('N'):.2f} s" if n_done else "did not complete"
    at_2n = f"; at 2N {peaks['2N']:.0f} MiB" if "2N" in peaks else ""
    m_text = (f"{peaks['N']:.0f} MiB{at_2n}" if n_done else
              f"did not complete; {peaks['N']:.0f} MiB up to the failure{at_2n}")
    say(f"[{phase.name}] target N={skus:,} end to end <= {TARGET_SECONDS:.0f} s : "
        f"{verdict(t_ok)} ({t_text})")
    say(f"[{phase.name}] target t(2N)/t(N) <= {TARGET_RATIO}x          : {verdict(r_ok)} "
        f"({f'{ratio:.2f}x' if complete else 'n/a'})")
    say(f"[{phase.name}] target peak RSS <= 1 GiB at N        : {verdict(m_ok)} ({m_text})")
    say("  (peak RSS = max ru_maxrss of the pipeline's Python process; PostgreSQL's backends "
        "are not counted)")
    say()
    return {"time": t_ok, "ratio": r_ok, "memory": m_ok}


def failed_steps(run: dict) -> set[str]:
    return {k for k, v in run["steps"].items() if v.get("status") == "STEP_FAILURE"}


def report_profiles(phase: Phase, url_text: str, as_of: date) -> None:
    """cProfile of the planning_proposals step alone at N, and of the slowest other asset step
    of the phase's last N run: the two tables of each (top 20 by cumulative, top 15 by own
    time). The last N repetition left demand and supply in place for a step run alone."""
    groups = step_groups(phase.ok_runs("N")[-1]["steps"])
    ranked = sorted((n for n in ASSET_STEPS if groups.get(n, {}).get("ran")),
                    key=lambda n: -groups[n]["seconds"])
    others = [n for n in ranked if n != "planning_proposals"][:1]
    for step in ["planning_proposals", *others]:
        out = run_child(url_text, as_of, what_if=phase.what_if, profile_step=step)
        for key, title in (("cumulative", "top 20 by cumulative time"),
                           ("own", "top 15 by own time")):
            say(f"--- cProfile [{phase.name}] of the {step} step alone at N "
                f"(selection=[{step}]; {out['profile_total_s']:.1f} s under the "
                f"profiler; Dagster's glue frames hidden), {title} ---")
            for line in out[key]:
                say(line.replace(str(Path.cwd()) + "/", "")
                    .replace(sys.prefix + "/", "").rstrip())
            say()
