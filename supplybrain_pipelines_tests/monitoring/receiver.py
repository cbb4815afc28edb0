"""A real local webhook receiver for the notification tests: a threaded HTTP server on
127.0.0.1 (free port) that records every POST and answers as it is told::

    with WebhookReceiver() as hook:
        hook.fail(2, status=500)          # the next two POSTs get HTTP 500, then 200s again
        ... post to hook.url ...
        assert len(hook.posts) == 3

Test modules get the ``webhook`` fixture with
``from supplybrain_pipelines_tests.monitoring.receiver import webhook_fixture  # noqa: F401``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from supplybrain_pipelines_tests.http_stub import LoopbackServer, QuietHandler


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it is not JSON


class WebhookReceiver(LoopbackServer):
    """Records POSTs; answers 200 ``{"ok": true}`` unless told otherwise."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        #: Called with each Post before it is answered (a test's hook into the receiver).
        self.on_post: Callable[[Post], None] | None = None
        self._answers: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                post = Post(self.path, dict(self.headers), body)
                if receiver.on_post is not None:
                    receiver.on_post(post)
                with receiver._lock:
                    receiver.posts.append(post)
                    status, headers = (receiver._answers.pop(0) if receiver._answers
                                       else (200, {}))
                answer = json.dumps({"ok": 200 <= status < 300}).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "application/json",
                                    "Content-Length": str(len(answer))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

        super().__init__(Handler)
        self.base_url = self.url  # where a destination shows only the scheme, host and port
        self.url = f"{self.base_url}/hook"

    def fail(self, times: int, status: int = 500, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` POSTs with ``status`` (and ``headers``)."""
        with self._lock:
            self._answers.extend([(status, headers or {})] * times)

    def recover(self) -> None:
        """Forget the failures still scripted by :meth:`fail`: answer 200 again."""
        with self._lock:
            self._answers.clear()

    @property
    def bodies(self) -> list[Any]:
        return [post.body for post in self.posts]


@pytest.fixture(name="webhook")
def webhook_fixture() -> Iterator[WebhookReceiver]:
    """A running :class:`WebhookReceiver`, stopped after the test."""
    with WebhookReceiver() as receiver:
        yield receiver
