"""The planning bench's child process: one timed ``materialize`` (or one profiled step).

Runs in a fresh interpreter started by ``planning_scale.py --child``; its last stdout line is a
JSON object: import time, RSS after the imports and at the peak (``ru_maxrss``), end-to-end
seconds, per-step wall time split into SQL / bulk writes / the rest, step errors, check results;
or, with a profiled step, the cProfile tables. Dagster and the project are imported inside
:func:`child`, so that the import time it reports is the pipeline's own.
"""

from __future__ import annotations

import json
import resource
import time

from _planning.what_if import apply_what_if


def _rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(url_text: str, as_of: str, profile_step: str | None, what_if: bool) -> None:
    """Runs in a fresh interpreter; the last stdout line is a JSON object."""
    import_start = time.perf_counter()
    import cProfile
    import importlib
    import io
    import pstats

    import dagster as dg
    import sqlalchemy as sa

    from supplybrain_pipelines.assets.planning import PLANNING_ASSETS
    from supplybrain_pipelines.checks import CHECKS
    from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
    import_s = time.perf_counter() - import_start
    rss_imports = _rss_mib()
    applied = apply_what_if() if what_if else []

    # Wall-clock intervals of SQL executions and bulk writes, bucketed into steps afterwards by
    # the steps' own start/end timestamps (the in-process executor runs one step at a time).
    intervals: list[tuple[str, float, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("_bench_t0", []).append(time.time())

    def after(conn, cursor, statement, parameters, context, executemany):
        t0 = conn.info["_bench_t0"].pop()
        intervals.append(("sql", t0, time.time()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", before)
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", after)

    def timed_bulk(fn):
        def wrapper(*args, **kwargs):
            t0 = time.time()
            try:
                return fn(*args, **kwargs)
            finally:
                intervals.append(("bulk", t0, time.time()))
        return wrapper

    def timed_copy(fn):
        """``copy_rows`` streams rows from a generator that computes them, so the time spent
        inside the generator is Python, not the write: it is taken off the interval's end."""
        def wrapper(conn, table, columns, rows):
            producing = 0.0

            def timed_rows():
                nonlocal producing
                source = iter(rows)
                while True:
                    t0 = time.perf_counter()
                    try:
                        row = next(source)
                    except StopIteration:
                        producing += time.perf_counter() - t0
                        return
                    producing += time.perf_counter() - t0
                    yield row

            t0 = time.time()
            try:
                return fn(conn, table, columns, timed_rows())
            finally:
                intervals.append(("bulk", t0, max(t0, time.time() - producing)))
        return wrapper

    # The package re-exports the assets under the modules' names: take the modules themselves.
    for name in ("demand", "supply", "proposals", "risk"):
        module = importlib.import_module(f"supplybrain_pipelines.assets.planning.{name}")
        if hasattr(module, "bulk_upsert"):
            module.bulk_upsert = timed_bulk(module.bulk_upsert)
        if hasattr(module, "copy_rows"):
            module.copy_rows = timed_copy(module.copy_rows)

    resources = {"warehouse": PostgresWarehouse(database_url=url_text)}
    out: dict = {"import_s": import_s, "rss_imports_mib": rss_imports, "what_if": applied}
    if profile_step:
        instance = dg.DagsterInstance.ephemeral()
        config = ({"ops": {profile_step: {"config": {"as_of": as_of}}}}
                  if profile_step in ("demand", "supply") else None)
        profiler = cProfile.Profile()
        profiler.enable()
        result = dg.materialize([*PLANNING_ASSETS, *CHECKS], instance=instance,
                                run_config=config, resources=resources,
                                selection=[profile_step], raise_on_error=False)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=io.StringIO())
        total = max(stats.total_tt, 1e-9)
        # Dagster's own frames (the executor and generator glue around the step) would fill
        # the cumulative list; they are left out, the step's code and its libraries stay.
        glue = ("/dagster/", "/dagster_shared/", "/contextlib.py", "/threading.py")

        def table(order: str, limit: int) -> list[str]:
            stats.sort_stats(order)
            lines = [f"{'ncalls':>15} {'tottime':>8} {'cumtime':>8} {'cum %':>6}  function"]
            for func in stats.fcn_list:
                filename, lineno, name = func
                if any(g in filename for g in glue) or name in (
                        "<built-in method builtins.next>", "<built-in method builtins.exec>"):
                    continue
                cc, nc, tt, ct, _callers = stats.stats[func]
                calls = f"{nc}/{cc}" if nc != cc else str(nc)
                where = name if filename == "~" else f"{filename}:{lineno}({name})"
                lines.append(f"{calls:>15} {tt:8.3f} {ct:8.3f} {ct / total:6.1%}  {where}")
                if len(lines) > limit:
                    break
            return lines

        out.update(success=result.success, profile_total_s=total,
                   cumulative=table("cumulative", 20), own=table("tottime", 15))
        print(json.dumps(out), flush=True)
        return

    run_config = {"ops": {"demand": {"config": {"as_of": as_of}},
                          "supply": {"config": {"as_of": as_of}}}}
    start = time.perf_counter()
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([*PLANNING_ASSETS, *CHECKS], instance=instance,
                            run_config=run_config, resources=resources, raise_on_error=False)
    seconds = time.perf_counter() - start

    steps: dict[str, dict] = {}
    errors: list[str] = []
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        step = steps.setdefault(event.step_key, {})
        kind = event.event_type_value
        if kind == "STEP_START":
            step["start"] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            step["end"] = entry.timestamp
            step["status"] = kind
            if kind == "STEP_FAILURE":
                err = event.step_failure_data.error
                while err is not None and err.cause is not None:
                    err = err.cause
                message = (err.message if err is not None else "unknown error").strip()
                errors.append(f"{event.step_key}: {message.split(chr(10) + '[SQL:')[0][:300]}")
        elif kind == "STEP_SKIPPED":
            step["status"] = kind
    for step in steps.values():
        if "start" in step and "end" in step:
            step["seconds"] = step["end"] - step["start"]
            for kind in ("sql", "bulk"):
                step[kind] = sum(max(0.0, min(t1, step["end"]) - max(t0, step["start"]))
                                 for k, t0, t1 in intervals if k == kind)
        step.pop("start", None)
        step.pop("end", None)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    out.update(success=result.success, seconds=seconds, rss_peak_mib=_rss_mib(), steps=steps,
               errors=errors, checks=checks)
    print(json.dumps(out), flush=True)
