"""Asset checks on ingestion, per endpoint (WB orders, sales, stocks; MoySklad assortment,
customer orders, stock), and the reconciliation of the unified ``orders`` with the raw rows.

Each check judges the latest materialization of its asset (in ``ingest_job`` that is the run it
is evaluated in: ``define_asset_job`` runs the checks of the assets it selects in the same run,
after them) through "the run's start": what the run wrote is stamped (``ingested_at``,
``as_of``, ``last_seen_at``) by transactions that began after it.

- ``quarantine_share_low``: the records the run quarantined against those it read (the
  materialization's ``quarantined`` and ``records_read``): WARN above
  :data:`QUARANTINE_WARN_SHARE` (1 %), ERROR above :data:`QUARANTINE_ERROR_SHARE` (10 %).
- ``barcodes_matched`` (WARN): items the run saw that match no SKU unit (``unmatched_items``; for
  MoySklad positions and stock: a sellable assortment item with no SKU unit, or one not in the
  assortment at all).
- ``accounts_fresh`` (WARN): an active account whose last success on the endpoint
  (``account_health``) is older than :data:`STALE_AFTER`: :data:`MISSED_CADENCES` (3) ticks of
  the ingest schedule missed, the cadence being the longest gap between two ticks of its cron
  (``*/15``-like: 15 minutes, so 45 minutes). An account younger than that is not judged.
- ``orders_reconcile`` (ERROR), on ``orders``: every raw WB order / MoySklad position row the run
  wrote that maps to a SKU unit has its unified row, with the same SKU unit, quantity and
  cancellation (the mapping is ``assets/unified``'s own SELECT), and no unified line of an
  integration account in the run's time window lacks its raw row.

All 19 are one multi-asset check, ``ingestion_checks``, so they cost an ingest run one step
(under the multiprocess executor each step is a process of its own; 19 steps made a run about 4x
longer: ``bench/ingest_checks.py``). It runs once its assets are materialized, and evaluates
only the checks of the assets the run selected. A check whose SQL fails does not hold back the
others' results; the step then fails. If one of its assets fails, the step does not run.

None blocks: in ``ingest_job`` only ``orders_daily``/``stock`` follow, and a feed with bad records
still lands its good ones.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import dagster as dg
from dagster._utils.schedules import cron_string_iterator

from supplybrain_pipelines.assets.ingest import (
    moysklad_assortment,
    moysklad_customer_orders,
    moysklad_stock,
    wb_orders,
    wb_sales,
    wb_stocks,
)
from supplybrain_pipelines.assets.unified import MS_POSITIONS, WB_ORDERS
from supplybrain_pipelines.checks._result import problem_counts, problems_result
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.schedules import ingest_schedule

#: Above this share of quarantined records among those read, the check fails as WARN.
QUARANTINE_WARN_SHARE = 0.01
#: Above this share it fails as ERROR: the feed's format has likely changed.
QUARANTINE_ERROR_SHARE = 0.10
#: An account is stale once this many ingest ticks passed without a success.
MISSED_CADENCES = 3


def schedule_cadence(cron: str) -> timedelta:
    """The longest gap between two consecutive ticks of ``cron`` over one day (UTC)."""
    start = datetime(2026, 1, 5, tzinfo=UTC).timestamp()  # a Monday; any day would do
    ticks = cron_string_iterator(start, cron, "UTC")
    first = previous = next(ticks)
    gap = timedelta(0)
    for tick in ticks:
        gap = max(gap, tick - previous)
        previous = tick
        if tick - first >= timedelta(days=1):
            return gap
    raise AssertionError("unreachable: a cron iterator never ends")


#: The ingest schedule's cadence (``ingest_every_15m``: 15 minutes).
INGEST_CADENCE = schedule_cadence(ingest_schedule.cron_schedule)
#: When an account counts as stale: 3 missed cadences, 45 minutes.
STALE_AFTER = MISSED_CADENCES * INGEST_CADENCE


def quarantine_verdict(quarantined: int, read: int) -> tuple[bool, dg.AssetCheckSeverity, float]:
    """Passed, severity and share of ``quarantined`` among ``read`` records (0 read: passed)."""
    share = quarantined / read if read else 0.0
    if share > QUARANTINE_ERROR_SHARE:
        return False, dg.AssetCheckSeverity.ERROR, share
    return share <= QUARANTINE_WARN_SHARE, dg.AssetCheckSeverity.WARN, share


@dataclass(frozen=True)
class Endpoint:
    """One ingestion asset and the names its endpoint has in the state tables."""

    asset: dg.AssetsDefinition
    #: The account kind (``account_health.account_kind``, ``quarantine.account_kind``).
    kind: str
    #: ``account_health.endpoint``
    health: str
    #: ``quarantine.endpoint``
    quarantine: str
    #: The account table (``wb_integration_accounts`` …).
    accounts: str
    #: One ``key`` (account id and item) per unmatched item the run saw (``:since``).
    unmatched: str


_WB_UNMATCHED = """
SELECT DISTINCT u.account_id || ' ' || u.item_key AS key
FROM supplybrain.unmatched_items u
JOIN supplybrain.{table} r ON r.barcode = u.item_key AND r.account_id = u.account_id
WHERE u.source = 'wb' AND u.last_seen_at >= :since AND r.{stamp} >= :since"""
#: A MoySklad row whose assortment item is sellable with no SKU unit, or not known at all.
_MS_UNMATCHED = """
SELECT DISTINCT {account} || ' ' || {item} AS key
FROM {rows}
LEFT JOIN supplybrain.ms_assortment a ON a.id = {item}
WHERE {stamp} >= :since AND a.sku_unit_id IS NULL AND (a.id IS NULL OR a.sellable)"""

ENDPOINTS = (
    Endpoint(wb_orders, "wb", "orders", "wb/orders", "wb_integration_accounts",
             _WB_UNMATCHED.format(table="wb_orders", stamp="ingested_at")),
    Endpoint(wb_sales, "wb", "sales", "wb/sales", "wb_integration_accounts",
             _WB_UNMATCHED.format(table="wb_sales", stamp="ingested_at")),
    Endpoint(wb_stocks, "wb", "stocks", "wb/stocks", "wb_integration_accounts",
             _WB_UNMATCHED.format(table="wb_stocks", stamp="as_of")),
    Endpoint(moysklad_assortment, "moysklad", "assortment", "moysklad/assortment",
             "moysklad_integration_accounts",
             "SELECT u.account_id || ' ' || u.item_key AS key FROM supplybrain.unmatched_items u "
             "WHERE u.source = 'moysklad' AND u.last_seen_at >= :since"),
    Endpoint(moysklad_customer_orders, "moysklad", "customerorder", "moysklad/customerorder",
             "moysklad_integration_accounts", _MS_UNMATCHED.format(
                 account="c.account_id", item="p.assortment_id", stamp="p.ingested_at",
                 rows="supplybrain.ms_order_positions p JOIN supplybrain.ms_customer_orders c "
                      "ON c.id = p.order_id")),
    Endpoint(moysklad_stock, "moysklad", "stock", "moysklad/stock",
             "moysklad_integration_accounts", _MS_UNMATCHED.format(
                 account="s.account_id", item="s.assortment_id", stamp="s.as_of",
                 rows="supplybrain.ms_stocks s")),
)

#: The run's quarantined records of the endpoint (new, or seen again), counted per reason.
QUARANTINE_REASONS = """
SELECT reason_code || ': ' || count(*) AS key FROM supplybrain.quarantine
WHERE account_kind = :kind AND endpoint = :endpoint AND last_seen_at >= :since
GROUP BY reason_code"""

#: Active accounts (older than the limit) without a success on the endpoint since ``:cutoff``.
STALE = """
SELECT a.id || ' ' || COALESCE(to_char(h.last_success_at AT TIME ZONE 'UTC',
                                       'YYYY-MM-DD"T"HH24:MI"Z"'), 'never') AS key
FROM supplybrain.{accounts} a
LEFT JOIN supplybrain.account_health h ON h.account_kind = :kind AND h.account_id = a.id
     AND h.endpoint = :endpoint
WHERE a.is_active AND a.created_at < :cutoff
  AND (h.last_success_at IS NULL OR h.last_success_at < :cutoff)"""


@dataclass(frozen=True)
class LatestRun:
    """The run of an asset's latest materialization: its id, start and metadata."""

    run_id: str
    since: datetime
    metadata: dict


def latest_run(instance: dg.DagsterInstance, key: dg.AssetKey) -> LatestRun | None:
    """The run that last materialized ``key`` (None: never materialized)."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    record = instance.get_run_record_by_id(event.run_id)
    started = record.start_time if record is not None and record.start_time else event.timestamp
    metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    return LatestRun(event.run_id, datetime.fromtimestamp(started, UTC), metadata)


def unmatched_in_run(warehouse: PostgresWarehouse, endpoint: Endpoint, since: datetime,
                     ) -> dg.AssetCheckResult:
    """WARN when the run (started at ``since``) saw items that match no SKU unit."""
    with warehouse.transaction() as conn:
        found = problem_counts(conn, {"unmatched_items": endpoint.unmatched}, {"since": since})
    return problems_result(found, severity=dg.AssetCheckSeverity.WARN,
                           extra={"run_started": since.isoformat()})


def stale_accounts(warehouse: PostgresWarehouse, endpoint: Endpoint,
                   now: datetime | None = None) -> dg.AssetCheckResult:
    """WARN for each active account without a success on the endpoint for :data:`STALE_AFTER`
    (accounts younger than that are not judged)."""
    cutoff = (now or datetime.now(UTC)) - STALE_AFTER
    with warehouse.transaction() as conn:
        found = problem_counts(conn, {"stale_accounts": STALE.format(
            accounts=endpoint.accounts)}, {"kind": endpoint.kind, "endpoint": endpoint.health,
                                            "cutoff": cutoff})
    return problems_result(found, severity=dg.AssetCheckSeverity.WARN, extra={
        "stale_after_minutes": STALE_AFTER.total_seconds() / 60,
        "cadence_minutes": INGEST_CADENCE.total_seconds() / 60})


def quarantine_in_run(warehouse: PostgresWarehouse, endpoint: Endpoint,
                      run: LatestRun) -> dg.AssetCheckResult:
    """The share of quarantined records among those the run read, with the run's reasons."""
    quarantined = int(run.metadata.get("quarantined", 0))
    read = int(run.metadata.get("records_read", 0))
    passed, severity, share = quarantine_verdict(quarantined, read)
    with warehouse.transaction() as conn:
        reasons = problem_counts(conn, {"reasons": QUARANTINE_REASONS}, {
            "kind": endpoint.kind, "endpoint": endpoint.quarantine, "since": run.since})
    return dg.AssetCheckResult(passed=passed, severity=severity, metadata={
        "quarantined": quarantined, "records_read": read, "share": round(share, 6),
        "warn_above": QUARANTINE_WARN_SHARE, "error_above": QUARANTINE_ERROR_SHARE,
        "reasons": ", ".join(reasons["reasons"][1]) or "none", "run_id": run.run_id})


def _not_materialized() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"verdict": "not materialized yet"})


def _specs(endpoint: Endpoint) -> list[dg.AssetCheckSpec]:
    """The three checks of one ingestion asset."""
    name, asset = endpoint.asset.key.to_user_string(), endpoint.asset
    return [
        dg.AssetCheckSpec("quarantine_share_low", asset=asset, description=(
            f"The share of records the run quarantined among those it read for {name}: fails "
            f"as WARN above {QUARANTINE_WARN_SHARE:.0%}, as ERROR above "
            f"{QUARANTINE_ERROR_SHARE:.0%}.")),
        dg.AssetCheckSpec("barcodes_matched", asset=asset, description=(
            f"WARN when the run of {name} saw items (WB barcodes, MoySklad assortment items) "
            "that match no SKU unit; they are in unmatched_items.")),
        dg.AssetCheckSpec("accounts_fresh", asset=asset, description=(
            f"WARN for an active {endpoint.kind} account whose last success on "
            f"{endpoint.health} is older than {MISSED_CADENCES} ingest cadences "
            f"({STALE_AFTER.total_seconds() / 60:g} minutes).")),
    ]


def evaluate(instance: dg.DagsterInstance, warehouse: PostgresWarehouse, endpoint: Endpoint,
             check: str) -> dg.AssetCheckResult:
    """One of the three checks of ``endpoint``'s asset."""
    if check == "accounts_fresh":
        return stale_accounts(warehouse, endpoint)
    run = latest_run(instance, endpoint.asset.key)
    if run is None:
        return _not_materialized()
    if check == "quarantine_share_low":
        return quarantine_in_run(warehouse, endpoint, run)
    return unmatched_in_run(warehouse, endpoint, run.since)


_COLUMNS = ("channel, account_id, order_id, ordered_at, item_key, barcode, article_id, "
            "bundle_type_id, color_id, size_id, sku_unit_id, quantity, price, is_cancelled, "
            "cancelled_at, last_change_at")
#: The unified lines the raw rows written since ``:since`` make (``assets/unified``'s SELECTs,
#: read from ``:since``), and the time window they span.
EXPECTED = f"""
WITH expected AS (
    SELECT * FROM ({WB_ORDERS.replace(":watermark", ":since")}) AS e ({_COLUMNS})
    UNION ALL
    SELECT * FROM ({MS_POSITIONS.replace(":watermark", ":since")}) AS e ({_COLUMNS})
), span AS (SELECT min(ordered_at) AS lo, max(ordered_at) AS hi FROM expected)"""

RECONCILE = {
    "missing": """
        SELECT e.channel || ' ' || e.account_id || ' ' || e.order_id AS key FROM expected e
        WHERE e.sku_unit_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM supplybrain.orders o WHERE (o.channel, o.account_id, o.order_id)
                                                     = (e.channel, e.account_id, e.order_id))""",
    "differing": """
        SELECT e.channel || ' ' || e.account_id || ' ' || e.order_id AS key FROM expected e
        JOIN supplybrain.orders o USING (channel, account_id, order_id)
        WHERE (o.sku_unit_id, o.quantity, o.is_cancelled)
              IS DISTINCT FROM (e.sku_unit_id, e.quantity, e.is_cancelled)""",
    "without_raw_row": """
        SELECT o.channel || ' ' || o.account_id || ' ' || o.order_id AS key
        FROM supplybrain.orders o, span
        WHERE o.ordered_at BETWEEN span.lo AND span.hi AND o.item_key NOT LIKE 'sku:%'
          AND CASE o.channel
              WHEN 'wb' THEN EXISTS (SELECT 1 FROM supplybrain.wb_integration_accounts a
                                     WHERE a.id = o.account_id)
                         AND NOT EXISTS (SELECT 1 FROM supplybrain.wb_orders w
                                         WHERE w.srid = o.order_id)
              ELSE NOT EXISTS (SELECT 1 FROM supplybrain.ms_order_positions p
                               WHERE p.id = o.order_id) END""",
}


def reconcile_orders(warehouse: PostgresWarehouse, since: datetime) -> dg.AssetCheckResult:
    """Raw rows written since ``since`` against the unified ``orders`` (see the module)."""
    with warehouse.transaction() as conn:
        found = problem_counts(conn, RECONCILE, {"since": since}, with_=EXPECTED)
    return problems_result(found, severity=dg.AssetCheckSeverity.ERROR,
                           extra={"run_started": since.isoformat()})


ORDERS_SPEC = dg.AssetCheckSpec(
    "orders_reconcile", asset="orders", description="Every raw WB order / MoySklad position "
    "the run wrote that maps to a SKU unit has its unified line (same SKU unit, quantity, "
    "cancellation), and no unified line of an integration account in the run's time window "
    "lacks its raw row.")


def _evaluations(instance: dg.DagsterInstance, warehouse: PostgresWarehouse
                 ) -> Iterator[tuple[dg.AssetCheckSpec, Callable[[], dg.AssetCheckResult]]]:
    """Every check of this module with how to evaluate it."""
    for endpoint in ENDPOINTS:
        for spec in _specs(endpoint):
            yield spec, partial(evaluate, instance, warehouse, endpoint, spec.name)

    def orders() -> dg.AssetCheckResult:
        run = latest_run(instance, ORDERS_SPEC.asset_key)
        return _not_materialized() if run is None else reconcile_orders(warehouse, run.since)

    yield ORDERS_SPEC, orders


@dg.multi_asset_check(
    specs=[*(spec for endpoint in ENDPOINTS for spec in _specs(endpoint)), ORDERS_SPEC],
    can_subset=True,
    description="The three checks of every ingestion asset and the reconciliation of orders, "
    "in one step (under the multiprocess executor a step is a process: one step per check "
    "made an ingest run 4x longer, bench/ingest_checks.py); only those of the assets the run "
    "selected.")
def ingestion_checks(context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
                     ) -> Iterator[dg.AssetCheckResult]:
    """Each selected check's result; a check whose SQL fails does not hold back the others'
    (the first error is raised once they are all out, which fails the step)."""
    errors = []
    for spec, evaluate_check in _evaluations(context.instance, warehouse):
        if spec.key not in context.selected_asset_check_keys:
            continue
        try:
            result = evaluate_check()
        except Exception as error:  # noqa: BLE001 - raised below, once the others are out
            errors.append(error)
            continue
        yield dg.AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name,
                                  passed=result.passed, severity=result.severity,
                                  metadata=result.metadata)
    if errors:
        raise errors[0]


INGEST_CHECKS = [ingestion_checks]
