"""Rows that the migrations seed: the default monitoring alert rules (the old backend's nine,
and the run-slot rule).

``SEED_ALERT_RULES`` is part of the migration history: revision 0002 inserts it on a fresh
database, and a later migration must bring an existing database to the same rows. Revision 0016
did so: it renamed the metrics ``risk_<level>`` to ``bundle_risk_<level>`` in stored rules (here
too) and added ``SLOT_BUSY_SEED`` unless a row matches it. To change the defaults, edit this
tuple and write such a migration. The statements below address the table by name with their own
column list, so later changes to ``db.tables`` do not alter them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from supplybrain_pipelines.config import APP_SCHEMA


@dataclass(frozen=True)
class AlertRuleSeed:
    name: str
    metric: str
    threshold_type: str
    threshold_value: int
    severity: str
    is_active: bool


#: Warn when the one run slot was busy more than 80 % of the hour before a window
#: (``slot_busy_pct``, issue 15): schedules are about to start skipping.
SLOT_BUSY_SEED = AlertRuleSeed("Слот запусков занят > 80% часа", "slot_busy_pct", "above", 80,
                               "warning", True)

#: The old backend's ``POST /alert-rules/seed`` rules, names verbatim (rule 9 is inactive; the
#: bundle counters' metrics renamed by 0016), then the run-slot rule.
SEED_ALERT_RULES: tuple[AlertRuleSeed, ...] = (
    AlertRuleSeed("Есть критические риски", "bundle_risk_critical", "above", 0, "critical", True),
    AlertRuleSeed("Слишком много warning", "bundle_risk_warning", "above", 5, "warning", True),
    AlertRuleSeed("Нет активных WB аккаунтов", "wb_accounts_active", "below", 1, "critical", True),
    AlertRuleSeed("Нет активных MS аккаунтов", "ms_accounts_active", "below", 1, "critical", True),
    AlertRuleSeed(
        "Нет статей с финальным заказом", "articles_with_orders", "below", 1, "warning", True
    ),
    AlertRuleSeed(
        "Итоговый заказ отсутствует", "total_final_order_qty", "below", 1, "critical", True
    ),
    AlertRuleSeed("Слишком много overstock", "bundle_risk_overstock", "above", 10, "warning", True),
    AlertRuleSeed("Много статей без данных", "bundle_risk_no_data", "above", 3, "warning", True),
    AlertRuleSeed("Подозрительно всё хорошо", "bundle_risk_ok", "below", 1, "warning", False),
    SLOT_BUSY_SEED,
)

_RULE_FIELDS = ("name", "metric", "threshold_type", "threshold_value", "severity", "is_active")

_rules = sa.table(
    "monitoring_alert_rules",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("metric", sa.String),
    sa.column("threshold_type", sa.String),
    sa.column("threshold_value", sa.Integer),
    sa.column("severity", sa.String),
    sa.column("is_active", sa.Boolean),
    schema=APP_SCHEMA,
)


def seed_alert_rules(connection: Connection,
                     rules: tuple[AlertRuleSeed, ...] = SEED_ALERT_RULES) -> list[int]:
    """Insert each of ``rules`` (the defaults) unless a row already matches all six of its
    fields.

    Idempotent, like the old backend's seed endpoint: a rule edited by a user (another threshold,
    deactivated) no longer matches, so its default comes back beside it. Returns the new ids in
    seed order; runs in the caller's transaction.
    """
    created: list[int] = []
    for rule in rules:
        values = {field: getattr(rule, field) for field in _RULE_FIELDS}
        literals = [
            sa.literal(value, _rules.c[field].type).label(field) for field, value in values.items()
        ]
        already_there = sa.exists().where(
            *(_rules.c[field] == value for field, value in values.items())
        )
        stmt = (
            sa.insert(_rules)
            .from_select(list(_RULE_FIELDS), sa.select(*literals).where(~already_there))
            .returning(_rules.c.id)
        )
        created.extend(connection.execute(stmt).scalars())
    return created
