"""Faults that a test switches on and off while the sandbox runs.

Every fault applies to one API (``"wb"`` or ``"moysklad"``; None = both) and optionally to one
path (a request path equal to it or ending with it, e.g. ``"/api/v1/supplier/orders"`` or
``"/entity/customerorder"``). Counted faults (``*_next``) are used up by the matching requests
in arrival order; ``slow`` and ``malformed`` stay on until :meth:`Faults.reset`.

The same object is reachable over HTTP (``POST /__sandbox/faults`` with
``{"action": "<method name>", ...keyword arguments}``), so another process can drive it.
Tokens given to :meth:`Faults.unauthorized` are never shown by :meth:`Faults.snapshot`.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from supplybrain_pipelines.sandbox.malformed import KINDS

APIS = ("wb", "moysklad")
#: Counted fault kinds, in the order a request meets them.
COUNTED = ("hang", "fail", "rate_limit", "truncate")


@dataclass
class Rule:
    kind: str  # hang | fail | rate_limit | truncate | slow
    api: str | None
    path: str | None
    remaining: int | None  # None: until reset
    status: int = 503
    seconds: float = 0.0
    retry_after_s: float = 1.0

    def matches(self, api: str, path: str) -> bool:
        return (self.api in (None, api)) and (
            self.path is None or path == self.path or path.endswith(self.path))


class Faults:
    """Thread-safe fault switchboard shared by the test thread and the server's event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Set when the server stops, so hanging and slow answers end at once.
        self.stopping = threading.Event()
        self.reset()

    # -- switches ---------------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 503, *, api: str | None = None,
                  path: str | None = None) -> None:
        """The next ``n`` matching requests get ``status`` (an error body of that API)."""
        if not 400 <= status <= 599:
            raise ValueError(f"fail_next status must be an HTTP error (400-599), not {status}")
        self._add(Rule("fail", _api(api), path, _count(n), status=status))

    def slow(self, seconds: float, *, api: str | None = None, path: str | None = None) -> None:
        """Delay every matching answer by ``seconds`` (0 turns the delay off)."""
        with self._lock:
            self._rules = [r for r in self._rules
                           if not (r.kind == "slow" and r.api == api and r.path == path)]
        if seconds > 0:
            self._add(Rule("slow", _api(api), path, None, seconds=float(seconds)))

    def hang_next(self, n: int = 1, seconds: float = 30.0, *, api: str | None = None,
                  path: str | None = None) -> None:
        """The next ``n`` matching requests wait ``seconds`` (longer than a client timeout)
        before they are answered."""
        self._add(Rule("hang", _api(api), path, _count(n), seconds=float(seconds)))

    def truncate_next(self, n: int = 1, *, api: str | None = None,
                      path: str | None = None) -> None:
        """The next ``n`` matching successful answers are status 200 with the JSON cut in half."""
        self._add(Rule("truncate", _api(api), path, _count(n)))

    def rate_limit_next(self, n: int = 1, retry_after_s: float = 1, *, api: str | None = None,
                        path: str | None = None) -> None:
        """The next ``n`` matching requests get 429 with the API's retry header
        (WB ``X-Ratelimit-Retry`` in seconds, MoySklad ``X-Lognex-Retry-After`` in ms)."""
        self._add(Rule("rate_limit", _api(api), path, _count(n), status=429,
                       retry_after_s=float(retry_after_s)))

    def malformed(self, kinds: set[str] | str | None = "all", *, api: str | None = None,
                  path: str | None = None) -> None:
        """Mix bad records of ``kinds`` (see ``malformed.KINDS``) into every matching page;
        ``"all"`` for every kind, an empty set or None to stop."""
        chosen = set(KINDS) if kinds == "all" else set(kinds or ())
        unknown = chosen - set(KINDS)
        if unknown:
            raise ValueError(f"unknown malformed kind(s) {sorted(unknown)}; "
                             f"known: {sorted(KINDS)}")
        with self._lock:
            key = (_api(api), path)
            if chosen:
                self._malformed[key] = chosen
            else:
                self._malformed.pop(key, None)

    def unauthorized(self, token: str) -> None:
        """Requests with this token get 401 until :meth:`reset`."""
        with self._lock:
            self._revoked.add(token)

    def reset(self) -> None:
        """Every fault off, counters of injected records cleared."""
        with self._lock:
            self._rules: list[Rule] = []
            self._malformed: dict[tuple[str | None, str | None], set[str]] = {}
            self._revoked: set[str] = set()
            self._injected: Counter[tuple[str, str, str]] = Counter()

    # -- used by the server -----------------------------------------------------------------
    def take(self, kind: str, api: str, path: str) -> Rule | None:
        """Use up one count of the first matching fault of ``kind``, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.kind == kind and rule.matches(api, path):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def delay(self, api: str, path: str) -> float:
        with self._lock:
            return sum(r.seconds for r in self._rules if r.kind == "slow" and r.matches(api, path))

    def malformed_kinds(self, api: str, path: str) -> set[str]:
        with self._lock:
            found: set[str] = set()
            for (rule_api, rule_path), kinds in self._malformed.items():
                if Rule("m", rule_api, rule_path, None).matches(api, path):
                    found |= kinds
            return found

    def is_revoked(self, token: str | None) -> bool:
        with self._lock:
            return token in self._revoked

    def record_injected(self, api: str, path: str, kinds: list[str]) -> None:
        with self._lock:
            self._injected.update((api, path, kind) for kind in kinds)

    def injected_counts(self, api: str | None = None) -> dict[str, int]:
        """How many bad records of each kind were served (since the last reset)."""
        with self._lock:
            counts: Counter[str] = Counter()
            for (rule_api, _path, kind), n in self._injected.items():
                if api in (None, rule_api):
                    counts[kind] += n
            return dict(counts)

    def snapshot(self) -> dict[str, Any]:
        """The active faults as JSON-ready data (revoked tokens only as a count)."""
        with self._lock:
            return {
                "rules": [asdict(r) for r in self._rules],
                "malformed": [{"api": a, "path": p, "kinds": sorted(k)}
                              for (a, p), k in self._malformed.items()],
                "unauthorized_tokens": len(self._revoked),
                "injected": [{"api": a, "path": p, "kind": k, "count": n}
                             for (a, p, k), n in sorted(self._injected.items())],
            }

    def apply(self, spec: dict[str, Any]) -> None:
        """One action given as data: ``{"action": "fail_next", "n": 2, "api": "wb", ...}``."""
        spec = dict(spec)
        action = spec.pop("action", None)
        if action not in _ACTIONS:
            raise ValueError(f"unknown fault action {action!r}; known: {sorted(_ACTIONS)}")
        if action == "malformed" and isinstance(spec.get("kinds"), list):
            spec["kinds"] = set(spec["kinds"])
        try:
            getattr(self, action)(**spec)
        except TypeError as exc:
            raise ValueError(f"bad arguments for fault action {action!r}: {exc}") from None

    def _add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)


_ACTIONS = {"fail_next", "slow", "hang_next", "truncate_next", "rate_limit_next", "malformed",
            "unauthorized", "reset"}


def _api(api: str | None) -> str | None:
    if api is not None and api not in APIS:
        raise ValueError(f"api must be one of {APIS} or None, not {api!r}")
    return api


def _count(n: int) -> int:
    if int(n) < 1:
        raise ValueError(f"a counted fault needs n >= 1, not {n}")
    return int(n)
