"""The metric catalog: every numeric value a snapshot records, and which of them alert rules
may watch.

The old backend's nine alertable metrics keep their meaning; its five risk counters are named
``bundle_risk_<level>`` since migration 0016 (they count ``bundle_risk`` entries, not planning's
``cover_risk``), and the old names still resolve through :data:`RENAMED`. Newer metrics come from
sync health, order volume, data watermarks, data quality and the run slot; they are stored in
the snapshot's ``details -> 'metrics'`` and appear in ``monitoring_timeseries`` like the old
counters.
"""

from __future__ import annotations

from dataclasses import dataclass

THRESHOLD_TYPES = ("above", "below")
SEVERITIES = ("warning", "critical")


@dataclass(frozen=True)
class Metric:
    name: str
    category: str
    label: str
    description: str


def _catalog(*metrics: Metric) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


#: Metrics an alert rule may name, in display order.
CATALOG: dict[str, Metric] = _catalog(
    Metric("bundle_risk_critical", "bundle_risk", "Critical bundles",
           "bundle_risk (article, bundle type) pairs with days of cover at or below the safety "
           "days; not planning's SKU cover risk."),
    Metric("bundle_risk_warning", "bundle_risk", "Warning bundles",
           "Pairs with days of cover above the safety days and at most the alert days."),
    Metric("bundle_risk_ok", "bundle_risk", "OK bundles",
           "Pairs between the alert and overstock days."),
    Metric("bundle_risk_overstock", "bundle_risk", "Overstocked bundles",
           "Pairs at or beyond 3 × the alert days, or with stock and no sales."),
    Metric("bundle_risk_no_data", "bundle_risk", "Bundles without data",
           "Pairs with no stock and no sales."),
    Metric("wb_accounts_active", "integrations", "Active WB accounts",
           "WB integration accounts with is_active."),
    Metric("ms_accounts_active", "integrations", "Active MoySklad accounts",
           "MoySklad integration accounts with is_active."),
    Metric("articles_with_orders", "orders", "Articles to produce",
           "Articles whose latest proposals recommend a quantity above zero."),
    Metric("total_final_order_qty", "orders", "Units to produce",
           "Sum of the recommended quantities of the latest proposals."),
    Metric("max_sync_age_minutes", "integrations", "Oldest sync (minutes)",
           "Minutes since the oldest last successful sync over the active accounts' endpoints; "
           "an endpoint never synced counts from the account's creation."),
    Metric("max_consecutive_failures", "integrations", "Consecutive sync failures",
           "The most consecutive failures of any active account's endpoint."),
    Metric("min_token_days_left", "integrations", "Token days left",
           "Fewest days until an active account's token expires (WB JWT exp claim)."),
    Metric("accounts_suspended", "integrations", "Suspended accounts",
           "WB and MoySklad accounts that ingestion suspended because every endpoint answered "
           "401/403 in 3 ingest runs in a row; skipped until `supplybrain accounts activate`."),
    Metric("orders_last_24h", "orders", "Units ordered, last 24 h",
           "Units ordered in the 24 hours before the window, net of cancellations."),
    Metric("orders_vs_prev_7d_pct", "orders", "Order volume vs last week (%)",
           "Units of the last 24 h as a percentage of the mean of the same 24 hours on each "
           "of the previous 7 days; absent when that mean is zero."),
    Metric("minutes_since_last_order", "watermarks", "Minutes since the latest order",
           "Minutes from the newest order of any channel to the snapshot's computation."),
    Metric("minutes_since_stock", "watermarks", "Minutes since the stock as-of",
           "Minutes from the newest stock as-of time to the snapshot's computation."),
    Metric("quarantined_last_24h", "data_quality", "Quarantined records, last 24 h",
           "Records set aside by ingestion in the 24 hours before the window."),
    Metric("unmatched_items", "data_quality", "Unmatched items",
           "Barcodes and assortment items that map to no SKU unit or bundle."),
    Metric("slot_busy_pct", "run_slot", "Run slot busy, last hour (%)",
           "Percent of the hour before the window in which a Dagster run held the one run slot "
           "(100 × slot_busy_share; threshold in whole percent)."),
    Metric("queue_wait_max_seconds", "run_slot", "Longest queue wait (s)",
           "Longest wait from creation (queued) to start among the runs that started in the "
           "hour before the window; 0 when none started."),
)

#: Metric names that migration 0016 replaced, old → new: a rule may still be written with the
#: old name; it watches the new one.
RENAMED: dict[str, str] = {f"risk_{level}": f"bundle_risk_{level}"
                           for level in ("critical", "warning", "ok", "overstock", "no_data")}


def canonical(metric: str) -> str:
    """The catalog name of ``metric``: itself, or the new name of a renamed one."""
    return RENAMED.get(metric, metric)

#: Recorded in the time series but not alertable (alerts about alerts would feed back;
#: ``slot_busy_share`` is ``slot_busy_pct`` / 100, and thresholds are whole numbers).
DERIVED = ("wb_accounts_total", "ms_accounts_total", "critical_alerts", "warning_alerts",
           "slot_busy_share")


def validate_rule(metric: str, threshold_type: str, threshold_value: object,
                  severity: str) -> list[str]:
    """Every problem with an alert rule, as sentences; an empty list means the rule is valid."""
    problems = []
    if canonical(metric) not in CATALOG:
        problems.append(f"unknown metric {metric!r}; known: {', '.join(CATALOG)}")
    if threshold_type not in THRESHOLD_TYPES:
        problems.append(f"threshold_type must be one of {', '.join(THRESHOLD_TYPES)}, "
                        f"not {threshold_type!r}")
    if severity not in SEVERITIES:
        problems.append(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    if isinstance(threshold_value, bool) or not isinstance(threshold_value, int) \
            or threshold_value < 0:
        problems.append(f"threshold_value must be an integer ≥ 0, not {threshold_value!r}")
    return problems
