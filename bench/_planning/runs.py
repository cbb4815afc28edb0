"""The planning bench's timed repetitions, seen from the parent.

Owns :class:`Phase` (the runs of one variant: the shipped code or the what-if patches),
:func:`run_child` (one fresh ``planning_scale.py --child`` process, its JSON result) and
:func:`run_phase` (N and 2N alternating, within the budget, with a line per run).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from _support.console import say

from _planning.data import reset_outputs

#: The entry point the children run (``--child``): bench/planning_scale.py.
SCRIPT = Path(__file__).resolve().parents[1] / "planning_scale.py"


def run_child(url_text: str, as_of: date, *, what_if: bool = False,
              profile_step: str | None = None) -> dict:
    cmd = [sys.executable, str(SCRIPT), "--child", url_text,
           "--as-of", as_of.isoformat()]
    if what_if:
        cmd.append("--what-if-child")
    if profile_step:
        cmd += ["--profile-step", profile_step]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path.cwd(),
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-25:])
        raise RuntimeError(f"child exited {proc.returncode}:\n{tail}")
    return json.loads(lines[-1])


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Phase:
    """The timed repetitions of one variant (the shipped code, or the what-if patches)."""

    def __init__(self, name: str, what_if: bool, sizes: dict[str, int]) -> None:
        self.name = name
        self.what_if = what_if
        self.sizes = sizes
        self.runs: dict[str, list[dict]] = {label: [] for label in sizes}

    def ok_runs(self, label: str) -> list[dict]:
        return [r for r in self.runs[label] if r["success"]]

    def failed(self, label: str) -> bool:
        return any(not r["success"] for r in self.runs[label])

    def median(self, label: str) -> float:
        return med([r["seconds"] for r in self.ok_runs(label)])


def run_phase(phase: Phase, urls: dict[str, str], as_of: date, repeat: int, deadline: float,
              reserve_s: float) -> None:
    """Up to ``repeat`` repetitions, N and 2N alternating, each in a fresh child. A size whose
    run failed is not repeated (the failure is deterministic). Stops early when the next
    repetition would end after ``deadline`` minus ``reserve_s``."""
    for rep in range(1, repeat + 1):
        rep_start = time.perf_counter()
        ran = False
        for label in phase.sizes:
            if phase.failed(label):
                continue
            if label != "N" and phase.failed("N"):
                if rep == 1:
                    say(f"  {phase.name} {label:>2}: not run, N already failed (the targets "
                        "cannot pass)")
                continue
            reset_outputs(urls[label], as_of)
            out = run_child(urls[label], as_of, what_if=phase.what_if)
            phase.runs[label].append(out)
            ran = True
            status = "ok" if out["success"] else "FAILED"
            say(f"  {phase.name} rep {rep}/{repeat} {label:>2}: {out['seconds']:6.2f} s end to "
                f"end, peak RSS {out['rss_peak_mib']:5.0f} MiB  ({status})")
            for error in out["errors"]:
                say(f"      step failure: {error}")
            failed = [k for k, v in out["checks"].items() if not v]
            if failed:
                say(f"      failed checks: {', '.join(failed)}")
            skipped = [k for k, v in out["steps"].items() if v.get("status") == "STEP_SKIPPED"]
            if skipped:
                say(f"      skipped steps: {', '.join(skipped)}")
        if not ran:
            break
        took = time.perf_counter() - rep_start
        runnable = not phase.failed("N") and not all(phase.failed(x) for x in phase.sizes)
        if rep < repeat and runnable and time.perf_counter() + took > deadline - reserve_s:
            say(f"  (stopping after {rep} repetition(s): another one ({took:.0f} s) would "
                "exceed --budget)")
            break
