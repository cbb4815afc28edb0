"""What every check of this package shares: turning named problem counts (with a few examples
each) into one ``AssetCheckResult`` whose metadata a human can act on."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
from sqlalchemy import Connection, text

#: How many offending keys a check shows per problem (the count is always complete).
EXAMPLES = 5


def problem_counts(conn: Connection, problems: Mapping[str, str],
                   params: Mapping[str, object], with_: str = ""
                   ) -> dict[str, tuple[int, list[str]]]:
    """Run each problem's query (one text column ``key`` per offending row) in one statement,
    after the common table expressions ``with_`` (``WITH …``, or empty):
    ``name → (count, the first EXAMPLES keys in key order)``."""
    parts = [f"SELECT '{name}' AS problem, count(*) AS n, "
             f"(array_agg(key ORDER BY key))[1:{EXAMPLES}] AS examples FROM ({query}) AS x"
             for name, query in problems.items()]
    rows = conn.execute(text(with_ + "\n" + "\nUNION ALL\n".join(parts)), dict(params)).all()
    return {row.problem: (int(row.n), list(row.examples or [])) for row in rows}


def problems_result(found: Mapping[str, tuple[int, list[str]]], *,
                    severity: dg.AssetCheckSeverity, extra: Mapping[str, object] | None = None,
                    verdict: str | None = None) -> dg.AssetCheckResult:
    """Passed when every count is 0. Metadata: each count (int), the examples of each problem
    that has some, ``problems`` (their names) and any ``extra`` metadata."""
    bad = sorted(name for name, (count, _) in found.items() if count)
    metadata: dict[str, object] = {name: count for name, (count, _) in found.items()}
    for name in bad:
        metadata[f"{name}_examples"] = ", ".join(found[name][1])
    metadata["problems"] = ", ".join(bad) or "none"
    if verdict:
        metadata["verdict"] = verdict
    return dg.AssetCheckResult(passed=not bad, severity=severity,
                               metadata={**metadata, **(extra or {})})

