"""Console output of the bench scripts: flushed lines, PASS/FAIL and the run's first line."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from types import ModuleType


def say(text: str = "") -> None:
    """Print one line and flush it, so a long run shows its progress as it goes."""
    print(text, flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def banner(script: str, *libraries: ModuleType, load: bool = True) -> str:
    """The run's first line: ``script  YYYY-MM-DD HH:MM UTC  python X  <library> X ...  cpus N``
    and, with ``load``, ``load L`` (the one-minute load average)."""
    parts = [f"{script}  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
             f"python {platform.python_version()}",
             *(f"{library.__name__} {library.__version__}" for library in libraries),
             f"cpus {os.cpu_count()}"]
    if load:
        parts.append(f"load {os.getloadavg()[0]:.1f}")
    return "  ".join(parts)
