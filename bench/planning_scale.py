"""Planning at scale: demand → supply → proposals → risk → health end to end, at N and 2N SKU units.

Run from the repository root (about 5-6 minutes on 2 shared vCPUs with the defaults)::

    .venv/bin/python bench/planning_scale.py [--skus 50000] [--days 180] [--repeat 3]
            [--budget 360] [--history-days 30] [--what-if auto|always|never]
            [--profile auto|always|never]

What it does, in one run, so that the two sizes compare like with like:

1. Starts its own embedded PostgreSQL (durable settings, as in production) in a temporary folder
   on a free port, creates one database per size, runs the Alembic migrations.
2. Generates both data sets at once with set-based SQL (``generate_series``,
   ``INSERT … SELECT``, ``setseed`` for determinism; not timed): N SKU units = N/50 articles ×
   10 colours × 5 sizes, a 60-colour palette with shared Pantone codes, a 4-pack and a 6-pack
   recipe per article, WB barcodes for every SKU unit and every bundle size, global and
   per-article planning settings (some articles inactive or overridden), ``orders_daily`` for
   ``--days`` days (WB singles and bundles, a few MoySklad orders; most SKUs sparse, some fast),
   WB stock per barcode and warehouse (plus WB's pseudo-warehouse rows), own stock per SKU unit,
   ``stock_balance``, open and closed purchase orders, and ``--history-days`` days of
   ``stock_history`` (what earlier daily runs of ``supply`` would have recorded). Then
   ``VACUUM ANALYZE`` and a ``CHECKPOINT``.
3. Timed, in a FRESH child Python process per repetition: one ``dg.materialize`` of the planning
   assets (demand, supply, planning_proposals, bundle_risk, planning_health) with the blocking
   checks, on ``dg.DagsterInstance.ephemeral()``, the in-process executor. "End to end" runs
   from creating the instance to ``materialize`` returning (instance, plan, resources, every
   step, the event log); the child's imports are reported apart. The child also reports its peak
   RSS (``getrusage(RUSAGE_SELF).ru_maxrss``): the pipeline's process only, not PostgreSQL's
   backends, and not the data generation, which runs in the parent. Per step, the run's own
   STEP_START/STEP_SUCCESS timestamps give its wall time, split into SQL (SQLAlchemy
   executions, results fetched), bulk writes (``copy_rows``: plain COPY, minus the time spent
   computing the rows it streams; ``bulk_upsert``: COPY + INSERT … ON CONFLICT) and
   the rest (Python: per-SKU maths, row building, Dagster).
   Before every repetition the planning outputs are emptied (and today's ``stock_history`` rows
   removed), so every repetition does the same work. N and 2N alternate. A size whose run fails
   is not repeated, and 2N is skipped when N failed. Repetitions stop early to keep the whole
   run within ``--budget`` seconds.
4. Prints a table per size (medians over the repetitions, min..max), a per-step table with the
   2N/N ratio of every step, t(2N)/t(N), and PASS/FAIL against the targets: N end to end ≤ 15 s,
   t(2N)/t(N) ≤ 2.2, peak RSS ≤ 1 GiB at N. It never asserts on timings.
5. What-if (``--what-if auto``: when the shipped code fails or misses 15 s and a known blocker
   is still in the code): the same timed runs with two fixes patched into the child at run time
   (no file changes): the supply check's quadratic ``as_of_mismatch`` and supply's
   ``stock_history`` write, which binds 3 parameters per SKU unit and fails above 21 845 active
   SKU units (PostgreSQL allows 65 535 per statement). Labelled "what-if", never the verdict on
   the shipped code. A patch whose fix has landed is skipped; both have landed, so ``auto``
   skips the phase and ``always`` reruns the shipped code with nothing patched.
6. When N misses 15 s: cProfile of the planning_proposals step alone (``selection=[...]`` on the
   data the last run left), top 20 by cumulative and top 15 by own time, and the same for the
   slowest other asset step.

The parts are in ``bench/_planning/`` (data sets, the timed child, runs, what-if, report) and
``bench/_support/`` (console output, the embedded PostgreSQL).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from _planning.data import COLORS_PER_ARTICLE, SIZES, generate
from _planning.report import TARGET_SECONDS, report_phase, report_profiles
from _planning.runs import Phase, run_phase
from _planning.what_if import WHAT_IF, explain_quadratic_check, what_if_needed
from _support.console import banner, say
from _support.postgres import connect, embedded_server, migrated_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=50_000, help="SKU units at size N")
    parser.add_argument("--days", type=int, default=180, help="days of orders_daily")
    parser.add_argument("--history-days", type=int, default=30,
                        help="days of stock_history before the as-of date (earlier runs)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed repetitions per size and variant (at most; see --budget)")
    parser.add_argument("--budget", type=float, default=360,
                        help="seconds for the whole run: repetitions stop early to fit")
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() value in [-1, 1]")
    parser.add_argument("--what-if", choices=("auto", "always", "never"), default="auto",
                        help="also time the code with the two known blockers patched at run "
                        "time (auto: when the shipped code fails or misses 15 s)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="cProfile the proposals step (auto: when N misses 15 s)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--profile-step", help=argparse.SUPPRESS)
    parser.add_argument("--what-if-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from _planning.child import child

        child(args.child, args.as_of, args.profile_step, args.what_if_child)
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    import dagster as dg
    import psycopg
    import sqlalchemy as sa

    started = time.perf_counter()
    deadline = started + args.budget
    as_of = datetime.now(UTC).date()
    say(banner("planning_scale", dg, sa, psycopg))
    sizes = {"N": args.skus, "2N": 2 * args.skus}
    with embedded_server("supplybrain-bench-pg-") as (server, _root):
        urls: dict[str, str] = {}
        for label in sizes:
            url = migrated_database(server, f"supplybrain_bench_{label.lower()}")
            urls[label] = url.render_as_string(hide_password=False)
        with connect(urls["N"]) as c:
            pg_version = c.execute("SHOW server_version").fetchone()[0]
        say(f"PostgreSQL {pg_version} (embedded, fsync on, synchronous_commit on) "
            f"on 127.0.0.1:{server.port}; as-of {as_of}; demand window 30 days; "
            f"in-process executor, ephemeral instance")
        say()
        say("data sets (set-based SQL, not timed; both generated at once):")
        with ThreadPoolExecutor(max_workers=len(sizes)) as pool:
            futures = {label: pool.submit(generate, urls[label], skus, args.days,
                                          args.history_days, as_of, args.seed)
                       for label, skus in sizes.items()}
            data = {label: future.result() for label, future in futures.items()}
        for label in sizes:
            d = data[label]
            counts = d["counts"]
            say(f"  {label:>2}: {d['articles']:,} articles x {COLORS_PER_ARTICLE} colours x "
                f"{len(SIZES)} sizes = {counts['sku_unit']:,} SKU units "
                f"({d['active_skus']:,} active), {args.days} days; generated in "
                f"{d['seconds']:.1f} s, database {d['db_mib']:,.0f} MiB")
            say("      " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        say()

        # -- the shipped code ------------------------------------------------------------------
        say("timed runs:")
        shipped = Phase("shipped code", False, sizes)
        # Keep time for a what-if phase and the profiles when the shipped code fails fast.
        run_phase(shipped, urls, as_of, args.repeat, deadline, reserve_s=150)
        say()
        verdicts = report_phase(shipped, data, args.skus)
        profile_phase = shipped

        # -- what if the two known blockers were fixed ---------------------------------------
        shipped_bad = (any(shipped.failed(label) for label in sizes) or not verdicts["time"])
        needed = what_if_needed()
        if args.what_if == "always" or (args.what_if == "auto" and shipped_bad and needed):
            what_if = Phase("what-if", True, sizes)
            say("what-if: the same runs with two fixes patched into the child at run time "
                "(NOT the shipped code; no file is changed):")
            say("timed runs:")
            run_phase(what_if, urls, as_of, args.repeat, deadline, reserve_s=60)
            applied = what_if.runs["N"][0]["what_if"]
            for key in ("history", "check"):
                state = "patched" if key in applied else "not needed (already fixed)"
                say(f"  - {WHAT_IF[key]}: {state}")
            say()
            report_phase(what_if, data, args.skus)
            if "check" in applied:
                plan = explain_quadratic_check(urls["N"])
                if plan:
                    say("the shipped supply_is_sound check at N (EXPLAIN; supply and demand "
                        "as the what-if run left them):")
                    for line in plan:
                        say("  " + line)
                    say()
            if shipped.failed("N"):
                profile_phase = what_if

        # -- where the proposals step spends its time ----------------------------------------
        n_runs = profile_phase.ok_runs("N")
        n_ok = bool(n_runs) and profile_phase.median("N") <= TARGET_SECONDS
        if n_runs and (args.profile == "always" or (args.profile == "auto" and not n_ok)):
            report_profiles(profile_phase, urls["N"], as_of)
        say(f"total wall time {time.perf_counter() - started:.0f} s")
        return 0


if __name__ == "__main__":
    sys.exit(main())
