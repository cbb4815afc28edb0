"""The webhook notifier's ``send`` (queue, then deliver) against a real local HTTP receiver and a
migrated PostgreSQL: one post, the three body formats, retries on 5xx and 429, no retry within
the call on other 4xx, failures recorded without raising and sent by a later call, no re-post of
a sent event, off without a URL, and the URL (a secret) never stored or shown. The outbox's
own behaviour (order, backoff, expiry, concurrent senders, crashes) is in ``test_outbox.py``."""

from __future__ import annotations

import json
import logging

import dagster as dg
import pytest

from supplybrain_pipelines.logic.monitoring.messages import run_failure_event
from supplybrain_pipelines.resources.notifier import (
    NotificationOutcome,
    WebhookNotifier,
    destination_of,
    notifier_from_env,
)
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text
from supplybrain_pipelines_tests.monitoring.receiver import webhook_fixture  # noqa: F401

EVENT = run_failure_event(job_name="ingest_job", run_id="run-1", error="boom")
SECRET = "XyZsecretPath0123456789"  # the secret part of a webhook URL (as in Slack/Telegram)



@pytest.fixture
def warehouse(migrated_db_url) -> PostgresWarehouse:
    return PostgresWarehouse(database_url=url_text(migrated_db_url))


def notifier(url: str | None, **kwargs) -> WebhookNotifier:
    return WebhookNotifier(url=url, backoff_seconds=0.01, timeout_seconds=2.0,
                           **{"retry_base_seconds": 0.0, "retry_max_seconds": 0.0, **kwargs})


def send(hook_or_url, warehouse, key: str = "run_failure:run-1", **kwargs) -> NotificationOutcome:
    url = hook_or_url if isinstance(hook_or_url, str) or hook_or_url is None else hook_or_url.url
    return notifier(url, **kwargs).send(warehouse, event_key=key, kind="run_failure",
                                        event=EVENT)


def recorded(url) -> list[tuple]:
    return fetch_all(url, "SELECT event_key, kind, format, destination, status, attempts, "
                          "error, payload::text FROM supplybrain.monitoring_notifications "
                          "ORDER BY id")


def test_one_post_is_sent_and_recorded(webhook, warehouse, migrated_db_url):
    outcome = send(webhook, warehouse)
    assert outcome == NotificationOutcome("sent", 1, None)
    assert webhook.bodies == [EVENT]
    assert webhook.posts[0].path == "/hook"
    assert webhook.posts[0].headers["Content-Type"] == "application/json"
    [(key, kind, fmt, destination, status, attempts, error, payload)] = recorded(migrated_db_url)
    assert (key, kind, fmt, status, attempts, error) == (
        "run_failure:run-1", "run_failure", "generic", "sent", 1, None)
    assert destination == webhook.base_url
    assert json.loads(payload) == EVENT


@pytest.mark.parametrize("fmt", ["generic", "slack", "telegram"])
def test_each_format_posts_its_body_shape(webhook, warehouse, migrated_db_url, fmt):
    outcome = send(webhook, warehouse, format=fmt, telegram_chat_id="-1001")
    assert outcome.status == "sent"
    [body] = webhook.bodies
    if fmt == "generic":
        assert body == EVENT
    elif fmt == "slack":
        assert set(body) == {"text", "blocks"} and "ingest_job" in body["text"]
        assert body["blocks"][0]["type"] == "header"
    else:
        assert body == {"chat_id": "-1001", "parse_mode": "HTML", "text": body["text"]}
        assert body["text"].startswith("<b>SupplyBrain run failed: ingest_job</b>")
    assert recorded(migrated_db_url)[0][2] == fmt


def test_a_5xx_is_retried_then_succeeds(webhook, warehouse, migrated_db_url):
    webhook.fail(2, status=503)
    outcome = send(webhook, warehouse)
    assert outcome == NotificationOutcome("sent", 3, None)
    assert len(webhook.posts) == 3 and webhook.bodies[0] == webhook.bodies[2] == EVENT
    assert recorded(migrated_db_url)[0][4:7] == ("sent", 3, None)


def test_a_429_is_retried_after_its_retry_after(webhook, warehouse):
    webhook.fail(1, status=429, headers={"Retry-After": "0"})
    assert send(webhook, warehouse) == NotificationOutcome("sent", 2, None)


def test_a_permanent_failure_is_recorded_without_raising(webhook, warehouse, migrated_db_url):
    webhook.fail(10, status=500)
    outcome = send(webhook, warehouse, max_attempts=3)
    assert outcome.status == "failed" and outcome.attempts == 3
    assert outcome.error.startswith("HTTP 500")
    assert len(webhook.posts) == 3
    [row] = recorded(migrated_db_url)
    assert row[4:7] == ("failed", 3, outcome.error)
    assert json.loads(row[7]) == EVENT  # what we tried to send is kept


def test_a_failed_event_is_sent_again_and_attempts_add_up(webhook, warehouse, migrated_db_url):
    webhook.fail(2, status=500)
    assert send(webhook, warehouse, max_attempts=2).status == "failed"
    assert send(webhook, warehouse, max_attempts=2) == NotificationOutcome("sent", 1, None)
    [row] = recorded(migrated_db_url)
    assert row[4:7] == ("sent", 3, None)


def test_a_4xx_is_not_retried_within_the_call(webhook, warehouse, migrated_db_url):
    webhook.fail(1, status=400)
    outcome = send(webhook, warehouse)
    assert outcome.status == "refused" and outcome.attempts == 1
    assert outcome.error.startswith("HTTP 400")
    assert len(webhook.posts) == 1
    assert recorded(migrated_db_url)[0][4] == "refused"  # a later round tries again


def test_a_sent_event_key_is_not_posted_again(webhook, warehouse, migrated_db_url):
    assert send(webhook, warehouse).status == "sent"
    assert send(webhook, warehouse) == NotificationOutcome("duplicate", 0, None)
    assert len(webhook.posts) == 1
    assert send(webhook, warehouse, key="run_failure:run-2").status == "sent"
    assert len(webhook.posts) == 2 and len(recorded(migrated_db_url)) == 2


def test_without_url_nothing_is_posted_or_recorded(warehouse, migrated_db_url):
    assert send(None, warehouse) == NotificationOutcome("disabled", 0, None)
    assert send("  ", warehouse).status == "disabled"
    assert recorded(migrated_db_url) == []


def test_an_unreachable_receiver_fails_after_the_retries(warehouse, migrated_db_url):
    outcome = send(_closed_port_url(), warehouse, max_attempts=2)
    assert outcome.status == "failed" and outcome.attempts == 2
    assert "ConnectError" in outcome.error
    assert recorded(migrated_db_url)[0][4:6] == ("failed", 2)


def test_a_database_outage_does_not_raise(webhook):
    down = PostgresWarehouse(database_url="postgresql+psycopg://u:p@127.0.0.1:1/none")
    outcome = send(webhook, down)
    # it could not be queued, so it is posted directly (once, not recorded)
    assert outcome.status == "failed" and outcome.attempts == 1
    assert outcome.error == "delivered, but queuing it failed (OperationalError)"
    assert len(webhook.posts) == 1


def test_bad_configuration_fails_without_raising(webhook, warehouse, migrated_db_url):
    assert send(webhook, warehouse, format="teams").error.startswith(
        "unknown webhook format 'teams'")
    outcome = send(webhook, warehouse, key="k2", format="telegram")  # no chat id
    assert outcome.status == "failed" and "chat id" in outcome.error
    # neither can be rendered, so neither is queued; a bad URL is queued and waits for a fix
    assert recorded(migrated_db_url) == []
    assert send("ftp://example.org/x", warehouse) == NotificationOutcome(
        "failed", 0, "SUPPLYBRAIN_WEBHOOK_URL is not an http(s) URL with a host")
    assert webhook.posts == []
    assert [r[3:6] for r in recorded(migrated_db_url)] == [("(invalid url)", "failed", 0)]
    assert send(webhook, warehouse).status == "sent"  # the URL is fixed: the event goes out
    assert [r[3:6] for r in recorded(migrated_db_url)] == [(webhook.base_url, "sent", 1)]
    assert webhook.bodies == [EVENT]


def test_the_url_is_never_stored_or_shown(webhook, warehouse, migrated_db_url, caplog):
    secret_url = f"{webhook.base_url}/bot{SECRET}/sendMessage?key={SECRET}"
    closed_url = _closed_port_url()
    webhook.fail(10, status=500)
    outcomes = []
    with caplog.at_level(logging.DEBUG):  # httpx logs each request's URL at INFO
        for i, url in enumerate((secret_url, f"{closed_url}/bot{SECRET}")):
            outcomes.append(notifier(url, max_attempts=2).send(
                warehouse, event_key=f"secret-{i}", kind="run_failure",
                event=run_failure_event(job_name="j", run_id="r", error=f"failed posting {url}")))
            # give the failed event up, so that it does not hold back the next one
            execute(migrated_db_url, "UPDATE supplybrain.monitoring_notifications "
                    "SET status = 'expired'")
    outcome, closed = outcomes
    assert outcome.status == "failed" and closed.status == "failed"
    assert len(webhook.posts) == 2 and SECRET not in json.dumps(webhook.bodies)
    rows = recorded(migrated_db_url)
    assert [r[3] for r in rows] == [webhook.base_url, closed_url]
    for text in (repr(rows), repr(outcome), repr(closed), caplog.text):
        assert SECRET not in text


def test_destination_is_scheme_and_host_only():
    assert destination_of("https://u:pw@hooks.slack.com/services/T/B/X?q=1") == \
        "https://hooks.slack.com"
    assert destination_of("http://[::1]:8080/x") == "http://[::1]:8080"
    assert destination_of("not a url") is None


def test_notifier_from_env_binds_the_url_by_name(monkeypatch):
    for name in ("SUPPLYBRAIN_WEBHOOK_URL", "SUPPLYBRAIN_WEBHOOK_FORMAT",
                 "SUPPLYBRAIN_TELEGRAM_CHAT_ID"):
        monkeypatch.delenv(name, raising=False)
    off = notifier_from_env()
    assert off.url is None and off.format == "generic" and off.telegram_chat_id is None

    monkeypatch.setenv("SUPPLYBRAIN_WEBHOOK_URL", f"https://api.telegram.org/bot{SECRET}/x")
    monkeypatch.setenv("SUPPLYBRAIN_WEBHOOK_FORMAT", " Telegram ")
    monkeypatch.setenv("SUPPLYBRAIN_TELEGRAM_CHAT_ID", "-1001")
    on = notifier_from_env()
    assert isinstance(on.url, dg.EnvVar) and on.url.env_var_name == "SUPPLYBRAIN_WEBHOOK_URL"
    assert on.format == "telegram" and on.telegram_chat_id == "-1001"
    assert SECRET not in repr(on)
    # the bound variable resolves when the resource is initialised for a run
    assert on.process_config_and_initialize().url.endswith(f"bot{SECRET}/x")


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
