"""Client-side rate limiters: one request per interval (WB) and weighted units per window
(MoySklad); and the retry-wait budget of a run (:class:`RetryBudget`).

Both book a slot under a lock and sleep outside it, so threads that share a limiter queue up in
order instead of all waking at once. ``reserve`` books and returns the delay without sleeping
(for callers that log the wait and sleep themselves); ``acquire`` books and sleeps. The clock and
the sleep are injectable so that tests run on a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class MinIntervalLimiter:
    """At most one request per ``interval_s`` seconds per key, e.g. ``(account_id, method)``.

    WB allows one statistics request per minute per method and account; ``interval_s=0``
    turns the limiter off (the sandbox and tests). ``margin_s`` is added to every interval: the
    server counts from when a request arrives, we from when we book it.
    """

    def __init__(self, interval_s: float, *, margin_s: float = 0.0,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if interval_s < 0 or margin_s < 0:
            raise ValueError(f"interval_s and margin_s must be >= 0, not {interval_s}, "
                             f"{margin_s}")
        self.interval_s = float(interval_s)
        self.margin_s = float(margin_s)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free: dict[Hashable, float] = {}

    def reserve(self, key: Hashable) -> float:
        """Book the next slot for ``key``; return how many seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_free.get(key, now))
            self._next_free[key] = start + self.interval_s + self.margin_s
            return start - now

    def acquire(self, key: Hashable) -> float:
        """Wait until ``key`` may make its next request; return the seconds waited."""
        delay = self.reserve(key)
        if delay > 0:
            self._sleep(delay)
        return delay


class WeightedWindowLimiter:
    """At most ``units`` request units in any ``window_s`` seconds per key (sliding window).

    MoySklad's budget is 45 units per 3 s per user or solution; most requests weigh 1, the
    stock reports 5. A booking holds its units for ``window_s + margin_s`` seconds, so no
    half-open window of that length ever holds more than ``units``. ``margin_s`` absorbs the
    difference between when we book a request and when the server counts it (connection
    set-up, scheduling), which would otherwise earn an occasional 429 at the window's edge.
    """

    def __init__(self, units: int = 45, window_s: float = 3.0, *, margin_s: float = 0.0,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if units < 1:
            raise ValueError(f"units must be >= 1, not {units}")
        if window_s < 0 or margin_s < 0:
            raise ValueError(f"window_s and margin_s must be >= 0, not {window_s}, {margin_s}")
        self.units = int(units)
        self.window_s = float(window_s)
        self.margin_s = float(margin_s)
        self._hold = self.window_s + self.margin_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._booked: dict[Hashable, deque[tuple[float, int]]] = {}

    def reserve(self, key: Hashable, weight: int = 1) -> float:
        """Book ``weight`` units for ``key`` at the earliest time they fit; return the delay."""
        if not 1 <= weight <= self.units:
            raise ValueError(f"weight must be between 1 and {self.units}, not {weight}")
        with self._lock:
            now = self._clock()
            booked = self._booked.setdefault(key, deque())
            while booked and booked[0][0] + self._hold <= now:
                booked.popleft()  # left the window for good
            # Bookings are in time order; a new one never goes before the last one.
            start = max(now, booked[-1][0]) if booked else now
            entries = list(booked)
            first = 0
            while first < len(entries) and entries[first][0] + self._hold <= start:
                first += 1
            used = sum(w for _, w in entries[first:])
            while used + weight > self.units:
                # Wait until the oldest booking still in the window drops out of it.
                start = entries[first][0] + self._hold
                used -= entries[first][1]
                first += 1
            booked.append((start, weight))
            return start - now

    def acquire(self, key: Hashable, weight: int = 1) -> float:
        """Wait until ``weight`` units are free for ``key``; return the seconds waited."""
        delay = self.reserve(key, weight)
        if delay > 0:
            self._sleep(delay)
        return delay


class RetryBudget:
    """Seconds that each key (``(api, account id)``) may spend waiting between retries, over
    the life of the object (the resource's: one run, or one step process of it).

    A client asks :meth:`take` before each wait (a 429's ``Retry-After``, capped, or a backoff);
    once a wait would pass the budget it stops retrying and raises the error it has. ``None``
    means no budget (the per-call attempt limit still holds).
    """

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None and seconds < 0:
            raise ValueError(f"a retry budget must be >= 0 seconds, not {seconds}")
        self.seconds = seconds
        self._lock = threading.Lock()
        self._spent: dict[Hashable, float] = {}

    def take(self, key: Hashable, wait_s: float) -> bool:
        """Book ``wait_s`` seconds for ``key`` if they fit in what is left; False otherwise
        (nothing booked)."""
        with self._lock:
            spent = self._spent.get(key, 0.0)
            if self.seconds is not None and spent + wait_s > self.seconds:
                return False
            self._spent[key] = spent + wait_s
            return True

    def spent(self, key: Hashable) -> float:
        """Seconds booked for ``key`` so far."""
        with self._lock:
            return self._spent.get(key, 0.0)
