"""Migration 0014 on a real PostgreSQL: the notifications recorded before it keep their meaning
in the outbox. A sent one stays sent (``sent_at`` = its last update); a failed one, which
nothing used to re-send, is queued again when it is less than 24 hours old and expired when
older; every row expires 24 hours after it was created."""

from __future__ import annotations

import logging

from supplybrain_pipelines_tests.db.test_migration_0007 import upgrade_to
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all

INSERT = """INSERT INTO supplybrain.monitoring_notifications
    (event_key, kind, format, destination, status, attempts, error, payload, created_at,
     updated_at)
VALUES (:key, 'run_failure', 'generic', 'http://hook', :status, :attempts, :error, '{}',
        now() - make_interval(hours => :age), now() - make_interval(hours => :age) + '1 minute')
"""


def test_existing_notifications_keep_their_meaning(empty_db_url, caplog):
    upgrade_to(empty_db_url, "0013")
    for key, status, attempts, error, age in [("sent-old", "sent", 1, None, 30),
                                              ("failed-recent", "failed", 4, "HTTP 500", 2),
                                              ("failed-old", "failed", 4, "HTTP 500", 25)]:
        execute(empty_db_url, INSERT, key=key, status=status, attempts=attempts, error=error,
                age=age)
    with caplog.at_level(logging.INFO):
        upgrade_to(empty_db_url, "0014")
    rows = fetch_all(empty_db_url, """
        SELECT event_key, status, attempts, error, sent_at = updated_at,
               expires_at - created_at, next_attempt_at <= now()
        FROM supplybrain.monitoring_notifications ORDER BY id""")
    assert [(r[0], r[1], r[2], r[3], r[4], r[5].total_seconds(), r[6]) for r in rows] == [
        ("sent-old", "sent", 1, None, True, 86400.0, True),
        ("failed-recent", "failed", 4, "HTTP 500", None, 86400.0, True),
        ("failed-old", "expired", 4, "HTTP 500", None, 86400.0, True)]
    assert "1 failed notification(s) queued again, 1 expired" in caplog.text
