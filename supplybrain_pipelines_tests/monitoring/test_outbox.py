"""The notification outbox against a real HTTP receiver and a migrated PostgreSQL: an event
commits (or rolls back) with its cause, waits while the receiver is down and then arrives once
and in order, is never posted twice once sent (two senders at once included), backs off, skips
nothing behind a refused body, expires, and is posted again after a crash between the POST and
its mark (at least once, with the same Idempotency-Key)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from supplybrain_pipelines.logic.monitoring.delivery import failure_status, next_attempt_at
from supplybrain_pipelines.logic.monitoring.messages import run_failure_event
from supplybrain_pipelines.resources.notifier import (
    SENDER_LOCK_KEY,
    NotificationOutcome,
    WebhookNotifier,
)
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import engine, execute, fetch_all, url_text
from supplybrain_pipelines_tests.monitoring.receiver import webhook_fixture  # noqa: F401


@pytest.fixture
def warehouse(migrated_db_url) -> PostgresWarehouse:
    return PostgresWarehouse(database_url=url_text(migrated_db_url))


def notifier(url: str, **kwargs) -> WebhookNotifier:
    return WebhookNotifier(url=url, backoff_seconds=0.01, timeout_seconds=2.0,
                           **{"retry_base_seconds": 0.0, "retry_max_seconds": 0.0,
                                "max_attempts": 2, **kwargs})  # every round is due at once


def event(n: int) -> dict:
    return run_failure_event(job_name="ingest_job", run_id=f"run-{n}", error=f"boom {n}")


def enqueue(sender: WebhookNotifier, warehouse: PostgresWarehouse, *numbers: int) -> None:
    with warehouse.transaction() as conn:
        for n in numbers:
            sender.enqueue(conn, event_key=f"run_failure:run-{n}", kind="run_failure",
                           event=event(n))


def rows(url) -> list[tuple]:
    return [tuple(r) for r in fetch_all(url, "SELECT event_key, status, attempts FROM "
                                             "supplybrain.monitoring_notifications ORDER BY id")]


def run_ids(hook) -> list[str]:
    return [body["run_id"] for body in hook.bodies]


# -- the delivery rules (pure) -----------------------------------------------------------------
def test_the_wait_between_rounds_is_the_age_between_base_and_cap():
    created = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    rule = {"base_seconds": 60, "max_seconds": 3600}
    assert next_attempt_at(created, created + timedelta(seconds=10), **rule) == \
        datetime(2026, 12, 1, 12, 1, 10, tzinfo=UTC)          # base: 60 s after 12:00:10
    assert next_attempt_at(created, created + timedelta(minutes=5), **rule) == \
        datetime(2026, 12, 1, 12, 10, tzinfo=UTC)             # its age, 5 min, after 12:05
    assert next_attempt_at(created, created + timedelta(hours=3), **rule) == \
        datetime(2026, 12, 1, 16, 0, tzinfo=UTC)              # the cap, 1 h, after 15:00


@pytest.mark.parametrize(("code", "status"), [
    (None, "failed"), (500, "failed"), (503, "failed"), (408, "failed"), (429, "failed"),
    (400, "refused"), (401, "refused"), (404, "refused"), (413, "refused")])
def test_a_down_receiver_fails_and_a_refusing_one_refuses(code, status):
    assert failure_status(code) == status


# -- the outbox ----------------------------------------------------------------------------------
def test_an_event_rolls_back_with_its_cause(webhook, warehouse, migrated_db_url):
    sender = notifier(webhook.url)
    with pytest.raises(RuntimeError), warehouse.transaction() as conn:
        sender.enqueue(conn, event_key="run_failure:run-1", kind="run_failure", event=event(1))
        raise RuntimeError("the snapshot's transaction fails after queuing")
    assert rows(migrated_db_url) == []
    assert sender.deliver(warehouse).outcomes == {}
    assert webhook.posts == []


def test_an_event_committed_before_a_crash_is_posted_by_the_next_sender(webhook, warehouse,
                                                                         migrated_db_url):
    sender = notifier(webhook.url)
    enqueue(sender, warehouse, 1)  # committed; the process "dies" before it posts
    assert rows(migrated_db_url) == [("run_failure:run-1", "pending", 0)]
    delivery = notifier(webhook.url).deliver(warehouse)  # a later snapshot or sensor tick
    assert delivery.outcomes == {"run_failure:run-1": NotificationOutcome("sent", 1)}
    assert run_ids(webhook) == ["run-1"]
    assert webhook.posts[0].headers["Idempotency-Key"] == "run_failure:run-1"
    assert rows(migrated_db_url) == [("run_failure:run-1", "sent", 1)]
    assert notifier(webhook.url).deliver(warehouse).outcomes == {}  # never again
    assert len(webhook.posts) == 1


def test_a_down_receiver_holds_every_event_back_until_it_is_back(webhook, warehouse,
                                                                  migrated_db_url):
    sender = notifier(webhook.url)
    webhook.fail(1000, status=503)
    for n in (1, 2, 3):
        enqueue(sender, warehouse, n)
        delivery = sender.deliver(warehouse)
        assert delivery.outcomes == {"run_failure:run-1": NotificationOutcome(
            "failed", 2, 'HTTP 503: {"ok": false}')}  # the oldest only; the rest wait
        assert delivery.waiting == n
    assert run_ids(webhook) == ["run-1"] * 6
    webhook.recover()
    delivery = sender.deliver(warehouse)
    assert [o.status for o in delivery.outcomes.values()] == ["sent"] * 3
    assert run_ids(webhook)[6:] == ["run-1", "run-2", "run-3"]
    assert rows(migrated_db_url) == [("run_failure:run-1", "sent", 7),
                                     ("run_failure:run-2", "sent", 1),
                                     ("run_failure:run-3", "sent", 1)]
    assert sender.deliver(warehouse).outcomes == {} and len(webhook.posts) == 9


def test_a_failed_event_waits_for_its_next_round(webhook, warehouse, migrated_db_url):
    sender = notifier(webhook.url, retry_base_seconds=60.0, retry_max_seconds=3600.0)
    webhook.fail(2, status=500)
    enqueue(sender, warehouse, 1, 2)
    assert sender.deliver(warehouse).outcomes["run_failure:run-1"].status == "failed"
    [(wait,)] = fetch_all(migrated_db_url, "SELECT extract(epoch FROM next_attempt_at - "
                          "updated_at) FROM supplybrain.monitoring_notifications "
                          "WHERE status = 'failed'")
    assert float(wait) == 60.0  # younger than the base: the base
    assert sender.deliver(warehouse).outcomes == {}  # not due, and run-2 is held back
    assert len(webhook.posts) == 2
    execute(migrated_db_url, "UPDATE supplybrain.monitoring_notifications "
            "SET next_attempt_at = now() - interval '1 second'")  # a minute has passed
    assert list(sender.deliver(warehouse).outcomes) == ["run_failure:run-1",
                                                        "run_failure:run-2"]
    assert run_ids(webhook) == ["run-1", "run-1", "run-1", "run-2"]


def test_a_refused_event_does_not_hold_back_the_next(webhook, warehouse, migrated_db_url):
    sender = notifier(webhook.url, retry_base_seconds=60.0, retry_max_seconds=3600.0)
    webhook.fail(1, status=400)
    enqueue(sender, warehouse, 1, 2)
    outcomes = sender.deliver(warehouse).outcomes
    assert [(k, o.status, o.attempts) for k, o in outcomes.items()] == [
        ("run_failure:run-1", "refused", 1), ("run_failure:run-2", "sent", 1)]
    enqueue(sender, warehouse, 3)  # run-1 is not due: skipped, run-3 goes
    assert list(sender.deliver(warehouse).outcomes) == ["run_failure:run-3"]
    assert rows(migrated_db_url) == [("run_failure:run-1", "refused", 1),
                                     ("run_failure:run-2", "sent", 1),
                                     ("run_failure:run-3", "sent", 1)]


def test_an_event_past_its_expiry_is_never_posted(webhook, warehouse, migrated_db_url):
    enqueue(notifier(webhook.url, expire_after_hours=0.0), warehouse, 1)
    enqueue(notifier(webhook.url), warehouse, 2)
    delivery = notifier(webhook.url).deliver(warehouse)
    assert delivery.expired == 1 and list(delivery.outcomes) == ["run_failure:run-2"]
    assert run_ids(webhook) == ["run-2"]
    assert rows(migrated_db_url) == [("run_failure:run-1", "expired", 0),
                                     ("run_failure:run-2", "sent", 1)]


def test_two_senders_at_once_post_each_event_once_in_order(webhook, warehouse,
                                                            migrated_db_url):
    sender = notifier(webhook.url)
    enqueue(sender, warehouse, *range(1, 21))
    deliveries = []
    threads = [threading.Thread(target=lambda: deliveries.append(sender.deliver(
        PostgresWarehouse(database_url=url_text(migrated_db_url))))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert run_ids(webhook) == [f"run-{n}" for n in range(1, 21)]
    assert sum(len(d.outcomes) for d in deliveries) == 20
    assert {status for _, status, _ in rows(migrated_db_url)} == {"sent"}


def test_a_crash_after_the_post_posts_again_with_the_same_idempotency_key(
        webhook, warehouse, migrated_db_url):
    """The receiver accepts the POST, then the sender's database connection dies before the
    mark commits: the row stays pending and the next round posts it again (at least once)."""
    sender = notifier(webhook.url)
    enqueue(sender, warehouse, 1)
    killer = engine(migrated_db_url)

    def kill_the_sender(_post) -> None:
        with killer.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_locks "
                                 "WHERE locktype = 'advisory' AND objid = :key"),
                         {"key": SENDER_LOCK_KEY & 0xFFFFFFFF})

    webhook.on_post = kill_the_sender
    delivery = sender.deliver(warehouse)
    webhook.on_post = None
    killer.dispose()
    assert delivery.outcomes == {} and delivery.error.startswith("delivery stopped")
    assert rows(migrated_db_url) == [("run_failure:run-1", "pending", 0)]
    assert sender.deliver(warehouse).outcomes["run_failure:run-1"].status == "sent"
    assert [p.headers["Idempotency-Key"] for p in webhook.posts] == ["run_failure:run-1"] * 2
    assert rows(migrated_db_url) == [("run_failure:run-1", "sent", 1)]


def test_a_spent_time_budget_leaves_the_rest_for_the_next_call(webhook, warehouse,
                                                               migrated_db_url):
    sender = notifier(webhook.url, time_budget_seconds=0.0)  # spent after the first event
    enqueue(sender, warehouse, 1, 2, 3)
    for expected in ("run-1", "run-2", "run-3"):
        delivery = sender.deliver(warehouse)
        assert [o.status for o in delivery.outcomes.values()] == ["sent"]
        assert run_ids(webhook)[-1] == expected
    assert delivery.waiting == 0 and len(webhook.posts) == 3
