"""Notification messages: the neutral events and their generic, Slack and Telegram bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from supplybrain_pipelines.logic.monitoring.messages import (
    MAX_ALERT_LINES,
    MAX_ERROR_CHARS,
    SLACK_SECTION_CHARS,
    TELEGRAM_TEXT_CHARS,
    render,
    run_failure_event,
    scrub_text,
    status_change_event,
    truncate,
)

WINDOW = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)
ALERTS = [
    {"rule_name": "Risk warning", "metric": "bundle_risk_warning", "severity": "warning",
     "threshold_type": "above", "threshold_value": 5, "current_value": Decimal("7")},
    {"rule_name": "Risk critical", "metric": "bundle_risk_critical", "severity": "critical",
     "threshold_type": "above", "threshold_value": 0, "current_value": Decimal("2.5")},
]


def change(**overrides) -> dict:
    args = {"window_start": WINDOW, "previous": "ok", "current": "critical",
            "critical_alerts": 1, "warning_alerts": 1, "alerts": ALERTS} | overrides
    return status_change_event(**args)


def test_status_change_event_says_what_changed_and_is_json_safe():
    event = change()
    assert event["kind"] == "status_change"
    assert event["previous_status"] == "ok" and event["status"] == "critical"
    assert event["window_start"] == "2026-11-26T10:15:00+00:00"
    assert "ok → critical" in event["title"]
    assert "from ok to critical" in event["text"] and "10:15 UTC" in event["text"]
    assert "1 critical, 1 warning" in event["text"]
    # critical alerts first; Decimals became numbers
    assert [a["severity"] for a in event["alerts"]] == ["critical", "warning"]
    assert event["alerts"][0]["current_value"] == 2.5 and event["alerts"][1]["current_value"] == 7
    lines = event["text"].splitlines()
    assert lines[1] == "• [critical] Risk critical: bundle_risk_critical = 2.5 (above 0)"
    json.dumps(event)


def test_first_status_and_many_alerts():
    many = [{"name": f"r{i}", "severity": "warning"} for i in range(MAX_ALERT_LINES + 3)]
    event = change(previous=None, current="warning", critical_alerts=0,
                   warning_alerts=len(many), alerts=many,
                   window_start=datetime(2026, 11, 26, 10, 15))  # naive = UTC
    assert event["previous_status"] is None and "first snapshot" in event["text"]
    assert event["window_start"] == "2026-11-26T10:15:00+00:00"
    assert event["text"].endswith("… and 3 more")
    assert len(event["alerts"]) == len(many)


def test_run_failure_event_truncates_the_error():
    event = run_failure_event(job_name="ingest_job", run_id="abc-123", error="x" * 5000)
    assert event["kind"] == "run_failure" and event["run_id"] == "abc-123"
    assert event["job_name"] == "ingest_job" and "ingest_job" in event["title"]
    assert len(event["error"]) == MAX_ERROR_CHARS and event["error"].endswith("…")
    assert "abc-123" in event["text"]
    assert run_failure_event(job_name="j", run_id="r", error="  ")["error"] is None


def test_generic_body_is_the_event():
    event = change()
    assert render("generic", event) == event
    assert render("generic", {"at": WINDOW, "n": Decimal("1.0")}) == {
        "at": "2026-11-26T10:15:00+00:00", "n": 1}


def test_slack_body_is_an_incoming_webhook_message():
    body = render("slack", run_failure_event(job_name="job", run_id="r1", error="a < b & c"))
    assert body["text"].startswith("SupplyBrain run failed: job")
    assert "a &lt; b &amp; c" in body["text"]
    header, section, context = body["blocks"]
    assert header == {"type": "header",
                      "text": {"type": "plain_text", "text": "SupplyBrain run failed: job"}}
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "a &lt; b &amp; c" in section["text"]["text"]
    assert "run_id: r1" in context["elements"][0]["text"]
    long = render("slack", {"title": "t", "text": "<" * 5000})
    assert len(long["blocks"][1]["text"]["text"]) <= SLACK_SECTION_CHARS
    assert long["blocks"][1]["text"]["text"].endswith("&lt;…")  # no entity cut in half


def test_telegram_body_is_a_send_message_call():
    body = render("telegram", change(), telegram_chat_id="-100123")
    assert body["chat_id"] == "-100123" and body["parse_mode"] == "HTML"
    assert body["text"].startswith("<b>SupplyBrain status: ok → critical</b>\n")
    long = render("telegram", {"title": "t", "text": "&" * 5000}, telegram_chat_id="1")
    assert len(long["text"]) <= TELEGRAM_TEXT_CHARS
    with pytest.raises(ValueError, match="chat id"):
        render("telegram", change())


def test_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown webhook format 'teams'.*generic, slack"):
        render("teams", change())


@pytest.mark.parametrize(("text", "leaked"), [
    ("connect to postgresql+psycopg://sb:hunter22@db:5432/x failed", "hunter22"),
    ("POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/x",
     "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
    ("hook https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX", "XXXXXXXXXXXXXXXX"),
    ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
    ("bad token eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl", "eyJleHAiOjF9"),
    ("params {'api_token': 'plain-secret-1'}", "plain-secret-1"),
])
def test_scrub_text_masks_secret_shapes(text, leaked):
    scrubbed = scrub_text(text)
    assert leaked not in scrubbed and "***" in scrubbed


def test_scrub_text_masks_known_secrets_and_keeps_the_rest():
    assert scrub_text("boom with s3cr3t-value inside", ["s3cr3t-value", ""]) == \
        "boom with *** inside"
    assert scrub_text("KeyError: 'wb_orders'") == "KeyError: 'wb_orders'"
    assert truncate("abcdef", 4) == "abc…" and truncate("abc", 4) == "abc"
