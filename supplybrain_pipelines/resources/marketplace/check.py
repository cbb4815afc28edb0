"""One cheap authenticated call that says whether an account's token and base URL work.

``supplybrain accounts add`` runs it before it writes an account: WB ``GET /ping`` on the
account's statistics host, MoySklad ``GET /context/employee``. It makes exactly one request
with a short time-out (no retries, no rate-limit wait), so a bad account is refused in about a
second instead of costing every ingest run five retries per endpoint.
"""

from __future__ import annotations

import httpx

from supplybrain_pipelines.resources.marketplace.accounts import Account
from supplybrain_pipelines.resources.marketplace.errors import ApiError
from supplybrain_pipelines.resources.marketplace.limits import (
    MinIntervalLimiter,
    WeightedWindowLimiter,
)
from supplybrain_pipelines.resources.marketplace.moysklad import MoySkladClient
from supplybrain_pipelines.resources.marketplace.wb import WbClient

#: Connect/read time-out of the check's one request.
CHECK_TIMEOUT_S = 10.0


def check_account(account: Account, *, timeout_s: float = CHECK_TIMEOUT_S) -> ApiError | None:
    """None when the API accepted the token, else the classified :class:`ApiError` of the one
    attempt (``unauthorized`` for 401/403, ``network`` when the host did not answer, …)."""
    options = {"timeout_s": timeout_s, "max_attempts": 1}
    # No redirects: a redirect must not carry the Authorization header elsewhere.
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as http:
        try:
            if account.kind == "wb":
                WbClient(account, limiter=MinIntervalLimiter(0.0), http=http, **options).ping()
            else:
                MoySkladClient(account, limiter=WeightedWindowLimiter(), http=http,
                               **options).context_employee()
        except ApiError as error:
            return error
    return None
