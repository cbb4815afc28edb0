"""The one exception the marketplace clients raise, and the error classes it carries.

The class names are the ones the account-health table records. A message is one sentence that
names the account id, the endpoint, the class and the HTTP status, and says what to do. It never
holds the token, the request URL, its query or its headers.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    """Why a call failed."""

    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate_limited"
    HTTP_5XX = "http_5xx"
    HTTP_4XX = "http_4xx"
    NETWORK = "network"
    BAD_PAYLOAD = "bad_payload"


RETRYABLE = frozenset({ErrorClass.RATE_LIMITED, ErrorClass.HTTP_5XX, ErrorClass.NETWORK,
                       ErrorClass.BAD_PAYLOAD})

_DEFAULT_HINTS = {
    ErrorClass.UNAUTHORIZED: "the token was rejected; replace the account's token or deactivate it",
    ErrorClass.RATE_LIMITED: "the API kept answering 429; lower the request rate or try later",
    ErrorClass.HTTP_5XX: "the API kept failing on its side; try again later",
    ErrorClass.HTTP_4XX: "the API refused the request; it is not retried",
    ErrorClass.NETWORK: "the API could not be reached or did not answer in time",
    ErrorClass.BAD_PAYLOAD: "the response was not the JSON the API documents",
}


class ApiError(Exception):
    """A failed marketplace API call, classified.

    ``endpoint`` is ``"<api>/<name>"`` (e.g. ``"wb/orders"``), ``status`` the HTTP status of the
    last response (``None`` when there was none), ``attempts`` how many requests were made, and
    ``retry_after_s`` the wait the server asked for on a 429, capped at the client's
    ``max_retry_after_s``.
    """

    def __init__(
        self,
        error_class: ErrorClass | str,
        *,
        endpoint: str,
        account_id: int,
        status: int | None = None,
        hint: str | None = None,
        attempts: int = 1,
        retry_after_s: float | None = None,
    ) -> None:
        self.error_class = ErrorClass(error_class)
        self.endpoint = endpoint
        self.account_id = account_id
        self.status = status
        self.hint = hint or _DEFAULT_HINTS[self.error_class]
        self.attempts = attempts
        self.retry_after_s = retry_after_s
        super().__init__(self._message())

    def _message(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no HTTP status"
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return (f"Account {self.account_id}: {self.endpoint} failed with {self.error_class} "
                f"({status}){tries}: {self.hint}.")

    def with_attempts(self, attempts: int) -> ApiError:
        """The same error, saying how many attempts were made."""
        self.attempts = attempts
        self.args = (self._message(),)
        return self

    @property
    def retryable(self) -> bool:
        """True when trying again later may succeed (429, 5xx, network, bad payload)."""
        return self.error_class in RETRYABLE

    def __reduce__(self):  # keyword-only __init__: pickle through the keywords
        return (_rebuild, (self.error_class.value, self.endpoint, self.account_id, self.status,
                           self.hint, self.attempts, self.retry_after_s))

    def __repr__(self) -> str:
        return (f"ApiError({self.error_class.value!r}, endpoint={self.endpoint!r}, "
                f"account_id={self.account_id!r}, status={self.status!r}, "
                f"attempts={self.attempts!r})")


def _rebuild(error_class, endpoint, account_id, status, hint, attempts, retry_after_s) -> ApiError:
    return ApiError(error_class, endpoint=endpoint, account_id=account_id, status=status,
                    hint=hint, attempts=attempts, retry_after_s=retry_after_s)
