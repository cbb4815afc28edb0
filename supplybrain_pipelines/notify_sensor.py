"""The run-failure notification and the outbox sensor.

Every failed run of this code location is announced through the webhook notifier, once per run
(event key ``run_failure:<run_id>``): the sensor queues the event in the notification outbox
(its record of the failure, committed before it posts) and then delivers the outbox, so a post
that fails is retried by later ticks instead of being lost when Dagster moves the sensor's
cursor past the run. A run that Dagster's run retries will re-execute is not announced; the
retry is a run of its own and is announced if it fails too. ``notification_outbox_sensor``
delivers the outbox every 30 seconds, so waiting events go out without waiting for the next
snapshot or failure.

The error text comes from the run's failure event and its failed steps. Before it leaves the
process it is scrubbed: the integration accounts' tokens and the webhook URL are masked, as is
anything shaped like a secret (see ``logic/monitoring/messages.scrub_text``), and it is cut to
a bounded length.
"""

import contextlib

import dagster as dg
from sqlalchemy import select

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.monitoring.messages import (
    MAX_ERROR_CHARS,
    run_failure_event,
    scrub_text,
    truncate,
)
from supplybrain_pipelines.resources.notifier import WebhookNotifier, url_secrets
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.token_crypto import TokenKeyError, configured_keys, decrypt_token

#: Failed steps whose errors are quoted in the message.
MAX_STEP_ERRORS = 3
#: Set by Dagster on a failed run that run retries will re-execute (dagster.yaml run_retries).
WILL_RETRY_TAG = "dagster/will_retry"


def root_message(error) -> str:
    """The innermost cause of a ``SerializableErrorInfo`` (the user's exception rather than
    Dagster's "Error occurred while executing op" wrapper), as ``Class: message``."""
    seen = 0
    while getattr(error, "cause", None) is not None and seen < 20:
        error, seen = error.cause, seen + 1
    return (error.message or error.cls_name or "").strip()


def failure_text(context: dg.RunFailureSensorContext) -> str | None:
    """The run's failure message, then the root errors of the run and of its first failed
    steps (each once)."""
    event = context.failure_event
    parts = [event.message] if event.message else []
    try:
        step_failures = context.get_step_failure_events()
    except Exception:  # the event log is unreachable: the run-level text has to do
        step_failures = []
    errors = [(f"{step.step_key}: ", step.event_specific_data.error)
              for step in step_failures[:MAX_STEP_ERRORS]
              if getattr(step.event_specific_data, "error", None) is not None]
    run_error = getattr(event.event_specific_data, "error", None)
    if run_error is not None:  # a crash, or (in process) the failed step's error again
        errors.append(("", run_error))
    for prefix, error in errors:
        message = root_message(error)
        if message and not any(message in part for part in parts):
            parts.append(prefix + message)
    if len(step_failures) > MAX_STEP_ERRORS:
        parts.append(f"… and {len(step_failures) - MAX_STEP_ERRORS} more failed step(s)")
    return "\n".join(parts) or None


def known_secrets(warehouse: PostgresWarehouse, notifier: WebhookNotifier) -> list[str]:
    """Values to mask in any text we send: account tokens and the webhook URL's parts."""
    secrets = list(url_secrets(notifier.url)) if notifier.url else []
    try:
        with warehouse.transaction() as conn:
            stored = [value for table in (t.wb_integration_accounts,
                                          t.moysklad_integration_accounts)
                      for value in conn.execute(select(table.c.api_token_encrypted)).scalars()]
        keys = configured_keys() if stored else None
        for value in stored:
            # A token no configured key opens cannot be in a message either.
            with contextlib.suppress(TokenKeyError):
                secrets.append(decrypt_token(value, keys))
    except Exception:  # the database (or the key) may be why the run failed; patterns apply
        pass
    return secrets


@dg.run_failure_sensor(
    name="run_failure_notification_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts a webhook notification (SUPPLYBRAIN_WEBHOOK_URL) for every failed run "
    "of this code location, once per run; recorded in monitoring_notifications.",
)
def run_failure_notification_sensor(context: dg.RunFailureSensorContext,
                                    notifier: WebhookNotifier,
                                    warehouse: PostgresWarehouse) -> None:
    run = context.dagster_run
    if not notifier.url:
        context.log.info(f"Run {run.run_id} failed; no webhook is configured.")
        return
    if run.tags.get(WILL_RETRY_TAG) == "true":  # its retry's failure, if any, is announced
        context.log.info(f"Run {run.run_id} failed and will be retried; not announced.")
        return
    error = failure_text(context)
    if error:
        error = truncate(scrub_text(error, known_secrets(warehouse, notifier)), MAX_ERROR_CHARS)
    outcome = notifier.send(
        warehouse, event_key=f"run_failure:{run.run_id}", kind="run_failure",
        event=run_failure_event(job_name=run.job_name, run_id=run.run_id, error=error))
    detail = f" ({outcome.error})" if outcome.error else ""
    context.log.info(f"Run {run.run_id} failed; notification {outcome.status} after "
                     f"{outcome.attempts} attempt(s){detail}.")


#: How often the outbox sensor delivers waiting notifications.
OUTBOX_INTERVAL_SECONDS = 30


@dg.sensor(
    name="notification_outbox_sensor",
    minimum_interval_seconds=OUTBOX_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Delivers the webhook notifications waiting in monitoring_notifications "
    "(pending, or failed and due again) in the order they were queued; launches no runs.",
)
def notification_outbox_sensor(context: dg.SensorEvaluationContext, notifier: WebhookNotifier,
                               warehouse: PostgresWarehouse) -> dg.SkipReason:
    if not notifier.url:
        return dg.SkipReason("no webhook is configured")
    delivery = notifier.deliver(warehouse)
    counts: dict[str, int] = {}
    for outcome in delivery.outcomes.values():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing due"
    summary = (f"outbox: {done}; {delivery.expired} expired; {delivery.waiting} waiting"
               + ("; another sender is delivering" if delivery.busy else "")
               + (f"; {delivery.error}" if delivery.error else ""))
    if delivery.error or counts.get("failed") or counts.get("refused"):
        context.log.warning(summary)
    return dg.SkipReason(summary)
