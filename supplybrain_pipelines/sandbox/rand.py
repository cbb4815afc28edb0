"""Deterministic random streams and identifier helpers shared by the generator modules."""

from __future__ import annotations

import math
import random
import uuid
from datetime import date


class Streams:
    """Named, independent random streams derived from the generator's arguments.

    ``random.Random`` seeded with a string is stable across processes and machines (it hashes
    the string with SHA-512, not with Python's randomised ``hash``).
    """

    def __init__(self, seed: int, articles: int, as_of: date, days: int) -> None:
        self._master = f"{seed}|{articles}"
        self._timed = f"{seed}|{articles}|{as_of.isoformat()}|{days}"

    def master(self, name: str) -> random.Random:
        """A stream that depends on (seed, articles) only: master data."""
        return random.Random(f"{self._master}|{name}")

    def timed(self, name: str) -> random.Random:
        """A stream that also depends on (as_of, days): history and tokens."""
        return random.Random(f"{self._timed}|{name}")


def ean13(body12: str) -> str:
    """A 13-digit EAN with a valid check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def make_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fast_int(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high] from one ``random()`` call (randint is 4x slower)."""
    return low + int(rng.random() * (high - low + 1))


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; fine for the small rates used here)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
