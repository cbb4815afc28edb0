"""CSV import at scale: ``supplybrain import`` of a generated ``orders.csv`` at 0.5M and 5M rows.

Run from the repository root (about 3 minutes on 2 shared vCPUs with the defaults)::

    .venv/bin/python bench/import_scale.py [--sizes 500000,5000000] [--before REV]

What it does, per size, on its own database:

1. Starts its own embedded PostgreSQL (durable settings: fsync and synchronous_commit on) in a
   temporary folder on a free port (once), creates a database per size and migrates it.
2. Not timed: imports the master data of ``scenario_small`` (every file but ``orders.csv``),
   and writes an ``orders.csv`` of N WB order lines on its 11 barcodes (about 3 000 a day from
   2025-01-01, one in 12 cancelled; ``_import/data.py``) into a folder of its own.
3. Timed: the real command, ``supplybrain import DIR --progress always``, in a child process
   with ``SUPPLYBRAIN_DATABASE_URL`` set, twice: the first import (every line new), then the
   same file again (every line unchanged). With ``--before REV``, also the importer of git
   revision REV (``git archive``; e.g. 5444661, before issue 12) on a database of its own,
   through ``import_directory`` in a child process the same way. Wall time runs from starting
   the child to its exit, so it includes Python's start and imports; the import's own time is
   the ``done in`` of its progress line. Peak memory is the child's ``ru_maxrss``
   (``os.wait4``): the command's Python process only, not PostgreSQL's backends. CPU seconds
   during the run: the command's (``wait4``), PostgreSQL's and every other process's
   (``_ingest.meters.CpuMeter``), which shows how much of the shared machine the import had.
   The importer before issue 12 needed about 1.8 KB a row, so ``--before`` runs only on sizes
   up to ``--before-max-rows`` (default 1 000 000; 5M would need about 9 GB).
4. Checks what was written (rows in ``orders``, the summary line) and prints PASS/FAIL against
   the targets of issue 12: at least 100 000 rows/s on ``orders.csv`` and at most 512 MiB peak
   at 5M rows. It never asserts on timings.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _import.data import write_orders
from _ingest.meters import CpuMeter
from _support.console import banner, say, verdict
from _support.postgres import connect, embedded_server, migrated_database

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "supplybrain_pipelines_tests" / "importer" / "scenario_small"
SUPPLYBRAIN = Path(sys.executable).parent / "supplybrain"
TARGET_ROWS_S, TARGET_MIB = 100_000, 512


#: The importer of another revision in a child process: ``SRC`` holds its
#: ``supplybrain_pipelines``, put before the installed (editable) one.
BEFORE = ("import os, sys, time; sys.path.insert(0, os.environ['SRC']); "
          "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
          "from supplybrain_pipelines.importer import import_directory; "
          "t = time.perf_counter(); r = import_directory(sys.argv[1], sys.argv[2]); "
          "print(*r.lines(), sep='\\n'); "
          "print(f'orders.csv: done in {time.perf_counter() - t:.1f} s', file=sys.stderr)")


def measured(directory: Path, url_text: str, postmaster: int | None,
             before: Path | None = None) -> dict:
    """``supplybrain import directory`` (or, with ``before``, that revision's importer) in a
    child process: exit code, wall time, peak RSS (``ru_maxrss`` from ``os.wait4``), its
    output, and the import's own time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPLYBRAIN_", "DAGSTER_"))}
    env["SUPPLYBRAIN_DATABASE_URL"] = url_text
    argv = [str(SUPPLYBRAIN), "import", str(directory), "--progress", "always",
            "--progress-after", "0"]
    if before is not None:
        env["SRC"] = str(before)
        argv = [sys.executable, "-c", BEFORE, url_text, str(directory)]
    out_path, err_path = directory.parent / "stdout.txt", directory.parent / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err, CpuMeter(postmaster) as cpu:
        started = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child_cpu = usage.ru_utime + usage.ru_stime
    stderr = err_path.read_text()
    done = re.findall(r"^orders\.csv: done in ([0-9.]+) s$", stderr, re.M)
    return {"status": os.waitstatus_to_exitcode(status), "wall": wall,
            "peak_mib": usage.ru_maxrss / 1024, "stdout": out_path.read_text(),
            "stderr": stderr, "import_s": float(done[-1]) if done else None,
            "cpu": (child_cpu, cpu.server, max(0.0, cpu.others - child_cpu))}


def one_size(server, root: Path, rows: int, before: Path | None, before_max: int) -> dict:
    from supplybrain_pipelines.importer import import_directory

    master = root / "master"
    if not master.exists():
        shutil.copytree(SCENARIO, master, ignore=shutil.ignore_patterns("orders.csv", "*.md"))
    folder = root / f"orders_{rows}" / "data"
    folder.mkdir(parents=True)
    t = time.perf_counter()
    size = write_orders(folder / "orders.csv", rows)
    say(f"\n== {rows:,} rows: orders.csv of {size / 1e6:.0f} MB written in "
        f"{time.perf_counter() - t:.0f} s (not timed)")
    runs = {}
    for name in ("first import", "re-import", "before") if before and rows <= before_max else (
            "first import", "re-import"):
        database = f"import_{rows}" if name != "before" else f"import_{rows}_before"
        url_text = migrated_database(server, database).render_as_string(hide_password=False)
        if name != "re-import":
            report = import_directory(url_text, master)
            if not report.ok:
                raise SystemExit("the master data did not load:\n" + "\n".join(report.lines()))
        run = measured(folder, url_text, server.pid(), before if name == "before" else None)
        with connect(url_text) as conn:
            run["orders"] = conn.execute("SELECT count(*) FROM supplybrain.orders").fetchone()[0]
        summary = next((line for line in run["stdout"].splitlines()
                        if line.startswith("orders.csv")), run["stdout"].strip()[-300:])
        rate = rows / run["import_s"] if run["import_s"] else rows / run["wall"]
        run["rows_s"] = rate
        say(f"{name}: exit {run['status']}, wall {run['wall']:.1f} s (import {run['import_s']} s)"
            f", {rate:,.0f} rows/s, peak RSS {run['peak_mib']:.0f} MiB, orders table "
            f"{run['orders']:,} rows")
        say(f"  CPU seconds during the run: the command {run['cpu'][0]:.1f}, PostgreSQL "
            f"{run['cpu'][1]:.1f}, every other process {run['cpu'][2]:.1f} (2 cpus x "
            f"{run['wall']:.1f} s = {2 * run['wall']:.1f} available)")
        say(f"  stdout: {summary}")
        for line in run["stderr"].splitlines()[-4:]:
            say(f"  stderr: {line}")
        runs[name] = run
        if name != "first import":
            with connect(server.url("postgres").render_as_string(hide_password=False),
                         autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {database}")
    shutil.rmtree(folder.parent, ignore_errors=True)
    return runs


def main() -> int:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500000,5000000",
                        help="comma-separated row counts of orders.csv")
    parser.add_argument("--before", metavar="REV", default="",
                        help="also time the importer of git revision REV (e.g. 5444661, "
                             "before issue 12) on each size, on a database of its own")
    parser.add_argument("--before-max-rows", type=int, default=1_000_000,
                        help="the largest size --before runs on")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()
    say(banner("import_scale", psycopg))
    results = {}
    with embedded_server("supplybrain-bench-import-") as (server, root):
        before = None
        if args.before:
            before = root / "before"
            before.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before,
                                      "supplybrain_pipelines"], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
        for rows in sizes:
            results[rows] = one_size(server, root, rows, before, args.before_max_rows)
    say("\n== verdicts")
    ok = True
    for rows, runs in results.items():
        first, again = runs["first import"], runs["re-import"]
        right = (first["status"] == 0 and again["status"] == 0 and first["orders"] == rows
                 and f"{rows} unchanged" in again["stdout"])
        fast = first["rows_s"] >= TARGET_ROWS_S
        small = max(first["peak_mib"], again["peak_mib"]) <= TARGET_MIB
        ok = ok and right and fast and small
        peak = max(first["peak_mib"], again["peak_mib"])
        if "before" in runs:
            was = runs["before"]
            say(f"{rows:>10,} rows before ({args.before}): {was['rows_s']:,.0f} rows/s, peak "
                f"{was['peak_mib']:.0f} MiB, orders {was['orders']:,} rows")
        say(f"{rows:>10,} rows: written and re-import unchanged {verdict(right)}; "
            f"{first['rows_s']:,.0f} rows/s (re-import {again['rows_s']:,.0f}) >= "
            f"{TARGET_ROWS_S:,} {verdict(fast)}; peak {peak:.0f} MiB <= {TARGET_MIB} "
            f"{verdict(small)}")
    say(f"total wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
