"""The outbox with a real dagster-daemon: a run fails while the webhook receiver is down; the
daemon's run-failure sensor queues the event (its post fails, and Dagster's cursor moves past
the run), and once the receiver is back the daemon's outbox sensor delivers it, once. (That a
sent event is never posted again is shown without the daemon in ``test_outbox.py``.)"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql import DagsterGraphQLClient

from supplybrain_pipelines_tests.conftest import write_instance_config
from supplybrain_pipelines_tests.fixtures_db import fetch_all
from supplybrain_pipelines_tests.monitoring.receiver import WebhookReceiver
from supplybrain_pipelines_tests.run_queue.stack import LOCATION, dagster_stack

LOCATION_FILE = Path(__file__).with_name("outbox_daemon_definitions.py")
ROW = "SELECT event_key, status FROM supplybrain.monitoring_notifications"


def wait_for(check, what: str, timeout: float = 150.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.5)
    return result


@pytest.mark.slow
def test_the_daemon_delivers_a_failure_queued_while_the_receiver_was_down(
        make_database, migrated_db_url, tmp_path, monkeypatch):
    home = write_instance_config(tmp_path / "dagster_home")
    with WebhookReceiver() as hook:
        hook.fail(100_000, status=503)  # down
        monkeypatch.setenv("SUPPLYBRAIN_WEBHOOK_URL", hook.url)
        with dagster_stack(make_database(), home, LOCATION_FILE,
                           app_url=migrated_db_url) as stack:
            for key, value in stack.env.items():
                if key.startswith("DAGSTER_PG_"):
                    monkeypatch.setenv(key, value)
            client = DagsterGraphQLClient("127.0.0.1", port_number=stack.webserver_port)
            run_id = client.submit_job_execution("failing_job",
                                                 repository_location_name=LOCATION)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                wait_for(lambda: instance.get_run_by_id(run_id).status
                         == dg.DagsterRunStatus.FAILURE, "the run did not fail")
            key = f"run_failure:{run_id}"
            wait_for(lambda: fetch_all(migrated_db_url, ROW) == [(key, "failed")],
                     "the run-failure sensor did not queue the event")
            assert hook.posts and {p.headers["Idempotency-Key"] for p in hook.posts} == {key}
            down = len(hook.posts)

            hook.recover()  # back
            wait_for(lambda: fetch_all(migrated_db_url, ROW) == [(key, "sent")],
                     "the outbox sensor did not deliver the event")
            delivered = hook.posts[down:]
    assert [(p.body["kind"], p.body["run_id"]) for p in delivered] == [("run_failure", run_id)]
    assert "the marketplace said no" in delivered[0].body["error"]
