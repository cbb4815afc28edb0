"""The notification outbox's delivery rules (pure; the SQL is in ``resources/notifier.py``).

An event waits in ``monitoring_notifications`` until it is delivered or expires:

* ``pending``: queued, never tried;
* ``failed``: the receiver was unreachable, timed out, or answered 5xx, 408 or 429. The
  receiver is down, so this event *holds back* every later one (they keep their order);
* ``refused``: the receiver answered another 4xx. It is retried on the same schedule, but it
  does not hold back later events (the receiver is up and taking other bodies);
* ``sent``: delivered (a 2xx answer) and recorded; never posted again;
* ``expired``: not delivered before ``expires_at`` (``created_at`` + the notifier's
  ``expire_after_hours``, 24 by default); never posted again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

UNDELIVERED = ("pending", "failed", "refused")
FINAL = ("sent", "expired")


def holds_back(status: str) -> bool:
    """Whether an undelivered event in ``status`` keeps later events from being sent."""
    return status in ("pending", "failed")


def failure_status(http_status: int | None) -> str:
    """``failed`` for no answer (None), 5xx, 408 and 429 (the receiver is down or busy);
    ``refused`` for any other answer that is not a 2xx."""
    if http_status is None or http_status >= 500 or http_status in (408, 429):
        return "failed"
    return "refused"


def next_attempt_at(created_at: datetime, now: datetime, *, base_seconds: float,
                    max_seconds: float) -> datetime:
    """When a failed or refused event may be tried again: after a wait as long as the event
    has waited so far, at least ``base_seconds`` and at most ``max_seconds``. The wait thus
    about doubles with each round (1, 2, 4, … minutes with a base of 60 s), so a receiver that
    is down for hours costs a handful of posts, and one that is back is reached within the
    cap."""
    age = max((now - created_at).total_seconds(), 0.0)
    wait = min(max(age, base_seconds), max_seconds)
    return now + timedelta(seconds=max(wait, 0.0))
