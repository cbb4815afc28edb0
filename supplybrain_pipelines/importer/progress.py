"""Progress of a long import on stderr: rows read and rows per second, per file.

Nothing is printed for a file that takes less than ``after`` seconds; after that a line at most
every ``every`` seconds while it is read, one when its rows are read and the writing starts,
and one when it is done. ``supplybrain import`` shows it when stderr is a terminal
(``--progress always|never`` overrides that; ``--progress-after`` sets ``after``), so logs and
CI, whose stderr is a pipe, get no progress lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """The progress lines of an import, one file at a time (``start``, ``read`` per chunk,
    ``writing``, ``done``), written to ``stream`` (default: stderr) by the ``clock``."""

    def __init__(self, stream: TextIO | None = None, after: float = 3.0, every: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.after, self.every, self.clock = stream, after, every, clock
        self.file, self.rows, self.started, self.last, self.shown = "", 0, 0.0, 0.0, False

    def _say(self, text: str, now: float) -> None:
        stream = self.stream or sys.stderr
        stream.write(f"{self.file}: {text}\n")
        stream.flush()
        self.shown, self.last = True, now

    def _rate(self, now: float) -> str:
        elapsed = now - self.started
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        return f"{self.rows:,} rows in {elapsed:.1f} s ({rate:,.0f} rows/s)"

    def start(self, file: str) -> None:
        self.file, self.rows, self.shown = file, 0, False
        self.started = self.last = self.clock()

    def read(self, rows: int) -> None:
        """``rows`` more data rows were read."""
        self.rows += rows
        now = self.clock()
        if now - self.started >= self.after and (not self.shown or now - self.last >=
                                                 self.every):
            self._say(f"read {self._rate(now)}", now)

    def writing(self) -> None:
        """Every row is read; the set-based write starts."""
        now = self.clock()
        if self.shown or now - self.started >= self.after:
            self._say(f"read {self._rate(now)}; writing", now)

    def done(self) -> None:
        now = self.clock()
        if self.shown or now - self.started >= self.after:
            self._say(f"done in {now - self.started:.1f} s", now)

