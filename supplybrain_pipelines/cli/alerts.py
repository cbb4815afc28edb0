"""``supplybrain alerts``: the monitoring alert rules and the metrics they may watch.

A rule is validated against the metric catalog before it is written; ``list`` also flags rows
written by hand that the snapshot will skip. A metric name that migration 0016 replaced
(``risk_critical`` → ``bundle_risk_critical``) is accepted with a note and stored under its new
name.
"""

from __future__ import annotations

import click
from sqlalchemy import insert, select

from supplybrain_pipelines.cli._session import transaction
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.db.seeds import seed_alert_rules
from supplybrain_pipelines.logic.monitoring.metrics import (
    CATALOG,
    RENAMED,
    SEVERITIES,
    THRESHOLD_TYPES,
    validate_rule,
)


@click.group()
def alerts() -> None:
    """Monitoring alert rules, evaluated on every 15-minute snapshot."""


@alerts.command()
def metrics() -> None:
    """The metrics an alert rule may watch."""
    for metric in CATALOG.values():
        click.echo(f"{metric.name:26} {metric.category:13} {metric.description}")
    click.echo("old names still accepted: " + ", ".join(f"{old} -> {new}"
                                                        for old, new in RENAMED.items()))


@alerts.command(name="list")
def list_() -> None:
    """Every rule, and why the snapshot would skip it if it is invalid."""
    r = t.monitoring_alert_rules.c
    with transaction() as conn:
        rows = conn.execute(select(r.id, r.name, r.metric, r.threshold_type, r.threshold_value,
                                   r.severity, r.is_active).order_by(r.id)).all()
    for row in rows:
        problems = validate_rule(row.metric, row.threshold_type, row.threshold_value,
                                 row.severity)
        state = "active" if row.is_active else "inactive"
        note = f"  INVALID: {'; '.join(problems)}" if problems else ""
        if row.metric in RENAMED:
            note += f"  (old name of {RENAMED[row.metric]})"
        click.echo(f"{row.id:4}  {row.severity:8} {row.metric} {row.threshold_type} "
                   f"{row.threshold_value}  ({state})  {row.name}{note}")


@alerts.command()
@click.argument("name")
@click.option("--metric", required=True, help="A metric from `supplybrain alerts metrics`.")
@click.option("--when", "threshold_type", type=click.Choice(THRESHOLD_TYPES), required=True,
              help="above: fires when value > threshold; below: when value < threshold.")
@click.option("--threshold", type=int, required=True, help="An integer ≥ 0.")
@click.option("--severity", type=click.Choice(SEVERITIES), required=True)
@click.option("--inactive", is_flag=True, help="Store the rule switched off.")
def add(name: str, metric: str, threshold_type: str, threshold: int, severity: str,
        inactive: bool) -> None:
    """Add a rule NAME after checking it against the metric catalog."""
    problems = validate_rule(metric, threshold_type, threshold, severity)
    if problems:
        raise click.UsageError("; ".join(problems))
    if metric in RENAMED:
        click.echo(f"note: metric {metric!r} is now {RENAMED[metric]!r} (bundle_risk entries, "
                   "not planning's cover risk); the rule is stored under the new name", err=True)
        metric = RENAMED[metric]
    with transaction() as conn:
        rule_id = conn.execute(insert(t.monitoring_alert_rules).values(
            name=name, metric=metric, threshold_type=threshold_type, threshold_value=threshold,
            severity=severity, is_active=not inactive).returning(
            t.monitoring_alert_rules.c.id)).scalar_one()
    click.echo(f"rule {rule_id} added")


@alerts.command()
def seed() -> None:
    """Restore the default rules that no row matches exactly (idempotent)."""
    with transaction() as conn:
        created = seed_alert_rules(conn)
    click.echo(f"{len(created)} default rules created"
               + (f" (ids {', '.join(map(str, created))})" if created else ""))
