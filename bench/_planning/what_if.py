"""The planning bench's "what-if": two known blockers, patched into the child at run time.

No file is changed. :func:`what_if_needed` tells which blockers are still in the code (a fix
that has landed is left alone), :func:`apply_what_if` patches them into the current process, and
:func:`explain_quadratic_check` shows the plan of the shipped, quadratic supply check.
"""

from __future__ import annotations

from _support.postgres import connect

# -- "what if": the two known blockers, patched in the child at run time (no file is changed) ----
#: supply_is_sound's as_of_mismatch as shipped: a semi join on ``<>``, which PostgreSQL can only
#: run as a nested loop, so it compares every supply row with every demand row (quadratic).
QUADRATIC_MISMATCH = """  (SELECT count(*) FROM supplybrain.supply s
   WHERE EXISTS (SELECT 1 FROM supplybrain.demand d WHERE d.as_of <> s.as_of)) AS as_of_mismatch"""
#: The same count in one pass: some demand row differs from s.as_of iff min or max differs
#: (demand.as_of is NOT NULL; an empty demand gives NULLs and counts nothing, as EXISTS does).
LINEAR_MISMATCH = """  (SELECT count(*) FROM supplybrain.supply s,
          (SELECT min(as_of) AS lo, max(as_of) AS hi FROM supplybrain.demand) d
   WHERE s.as_of <> d.lo OR s.as_of <> d.hi) AS as_of_mismatch"""
#: supply's stock_history write as one statement from the supply rows it just wrote (the same
#: rows: day = as_of, available = on_hand), instead of a multi-row VALUES with 3 binds per SKU.
HISTORY_FROM_SUPPLY = """
INSERT INTO supplybrain.stock_history (day, sku_unit_id, available)
SELECT as_of, sku_unit_id, on_hand FROM supplybrain.supply
ON CONFLICT (day, sku_unit_id) DO UPDATE SET available = EXCLUDED.available
"""
WHAT_IF = {
    "check": "supply_is_sound: as_of_mismatch from min/max(demand.as_of), not a <> semi join",
    "history": "supply: stock_history by INSERT ... SELECT FROM supply, not VALUES with "
               "3 binds per SKU unit",
}


def what_if_needed() -> list[str]:
    """The blockers still in the code (a fix that has landed is left alone)."""
    import importlib
    import inspect

    import supplybrain_pipelines.checks as checks

    needed = []
    if QUADRATIC_MISMATCH in checks.SUPPLY_CHECK:
        needed.append("check")
    supply_mod = importlib.import_module("supplybrain_pipelines.assets.planning.supply")
    if "insert(t.stock_history).values(" in inspect.getsource(supply_mod):
        needed.append("history")
    return needed


def apply_what_if() -> list[str]:
    """Patch the blockers still in the code, in this process; returns the ones applied."""
    import importlib

    import sqlalchemy as sa

    import supplybrain_pipelines.checks as checks

    needed = what_if_needed()
    if "check" in needed:
        checks.SUPPLY_CHECK = checks.SUPPLY_CHECK.replace(QUADRATIC_MISMATCH, LINEAR_MISMATCH)
    if "history" in needed:
        supply_mod = importlib.import_module("supplybrain_pipelines.assets.planning.supply")

        class HistoryFromSupply:
            """Stands in for ``insert`` in supply.py: ``insert(t.stock_history).values(rows)
            .on_conflict_do_update(...)`` becomes :data:`HISTORY_FROM_SUPPLY`."""

            excluded = type("Excluded", (), {"available": None})()

            def __init__(self, table) -> None:
                pass

            def values(self, rows) -> HistoryFromSupply:
                return self

            def on_conflict_do_update(self, **kwargs) -> sa.TextClause:
                return sa.text(HISTORY_FROM_SUPPLY)

        supply_mod.insert = HistoryFromSupply
    return needed


def explain_quadratic_check(url_text: str) -> list[str]:
    """The plan nodes of the shipped supply check that compare every row with every row."""
    from supplybrain_pipelines.checks import SUPPLY_CHECK

    with connect(url_text) as conn:
        plan = [r[0] for r in conn.execute("EXPLAIN " + SUPPLY_CHECK)]
    keep = [i for i, line in enumerate(plan) if "Nested Loop Semi Join" in line]
    lines: list[str] = []
    for i in keep:
        lines += [line.rstrip() for line in plan[i:i + 6]]
    return lines
