"""What the notification outbox costs (issue 13): queuing, delivering, and a receiver that is down.

Run from the repository root (about half a minute)::

    .venv/bin/python bench/notification_outbox.py [--events N]

All in one process, against an embedded PostgreSQL and a local webhook receiver on loopback
(``supplybrain_pipelines_tests/monitoring/receiver.py``):

1. **Queue**: N events queued in one transaction (as a snapshot's status change is queued in
   the snapshot's transaction): ms per event.
2. **Deliver**: one ``deliver()`` call posts the N events (one claim, POST and mark each, under
   the sender lock): events per second and ms per event. Then 5 calls with nothing due.
3. **Receiver down**: one ``deliver()`` call with the production retry settings (4 POSTs, 1 s
   exponential backoff) against a receiver answering 503, and against a port nothing listens
   on: the wall time a snapshot run or sensor tick spends after its commit while the receiver is
   down (only the oldest event is tried; the rest wait behind it).
4. **Rounds**: how many delivery rounds (4 POSTs each) one event gets in its 24 hours if the
   receiver stays down, from ``logic/monitoring/delivery.next_attempt_at`` with the production
   base (60 s) and cap (1 h), sensor ticks every 30 s. Computed from the rule, not measured.

It prints numbers and never asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from _support.console import banner, say
from _support.postgres import embedded_server, migrated_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()

    from supplybrain_pipelines.devstack.embedded import free_port
    from supplybrain_pipelines.logic.monitoring.delivery import next_attempt_at
    from supplybrain_pipelines.logic.monitoring.messages import run_failure_event
    from supplybrain_pipelines.resources.notifier import WebhookNotifier
    from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
    from supplybrain_pipelines_tests.monitoring.receiver import WebhookReceiver

    say(banner("notification_outbox.py", dg, sa))
    n = args.events
    with embedded_server("sb-bench-outbox-") as (server, _), WebhookReceiver() as hook:
        url = migrated_database(server, "outbox")
        warehouse = PostgresWarehouse(database_url=url.render_as_string(hide_password=False))
        sender = WebhookNotifier(url=hook.url, batch_size=n, time_budget_seconds=3600.0)

        started = time.perf_counter()
        with warehouse.transaction() as conn:
            for i in range(n):
                sender.enqueue(conn, event_key=f"run_failure:bench-{i}", kind="run_failure",
                               event=run_failure_event(job_name="bench", run_id=f"bench-{i}",
                                                       error="boom"))
        queued = time.perf_counter() - started
        say(f"1. queue {n} events in one transaction: {queued:.3f} s "
            f"({1000 * queued / n:.2f} ms per event)")

        started = time.perf_counter()
        delivery = sender.deliver(warehouse)
        delivered = time.perf_counter() - started
        sent = sum(1 for o in delivery.outcomes.values() if o.status == "sent")
        say(f"2. deliver: {sent} sent, {len(hook.posts)} POSTs in {delivered:.3f} s "
            f"({sent / delivered:.0f} events/s, {1000 * delivered / max(sent, 1):.2f} ms each)")
        idle = []
        for _ in range(5):
            started = time.perf_counter()
            sender.deliver(warehouse)
            idle.append(1000 * (time.perf_counter() - started))
        say("   deliver with nothing due, 5 calls (ms): " + " ".join(f"{t:.1f}" for t in idle))

        say("3. one deliver() with the receiver down (production retries: 4 POSTs, 1 s backoff)")
        with warehouse.transaction() as conn:
            for i in range(3):
                sender.enqueue(conn, event_key=f"run_failure:down-{i}", kind="run_failure",
                               event=run_failure_event(job_name="bench", run_id=f"down-{i}",
                                                       error="boom"))
        for label, target in (("HTTP 503", hook.url), ("connection refused",
                                                        f"http://127.0.0.1:{free_port()}/hook")):
            hook.fail(100, status=503)
            down = WebhookNotifier(url=target, retry_base_seconds=0.0, retry_max_seconds=0.0)
            posts = len(hook.posts)
            started = time.perf_counter()
            delivery = down.deliver(warehouse)
            wall = time.perf_counter() - started
            tried = [f"{k}: {o.status} after {o.attempts}" for k, o in delivery.outcomes.items()]
            say(f"   {label}: {wall:.2f} s; {'; '.join(tried)}; "
                f"{len(hook.posts) - posts} POSTs received; {delivery.waiting} waiting")
            hook.recover()

    created = datetime(2026, 1, 1, tzinfo=UTC)
    now, rounds = created, 0
    while now < created + timedelta(hours=24):
        rounds += 1
        due = next_attempt_at(created, now, base_seconds=60.0, max_seconds=3600.0)
        now = created + timedelta(seconds=30 * -(-(due - created).total_seconds() // 30))
    say(f"4. rounds in 24 h for an event whose receiver stays down: {rounds} "
        f"({4 * rounds} POSTs), computed from next_attempt_at with ticks every 30 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
