"""An integration account as the clients see it: kind, id, name, token and base URL.

The token is excluded from ``repr`` so that an account can be logged or shown in an error
without leaking it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AccountKind = Literal["wb", "moysklad"]

WB_DEFAULT_BASE_URL = "https://statistics-api.wildberries.ru"
MOYSKLAD_DEFAULT_BASE_URL = "https://api.moysklad.ru/api/remap/1.2"
DEFAULT_BASE_URLS: dict[str, str] = {
    "wb": WB_DEFAULT_BASE_URL,
    "moysklad": MOYSKLAD_DEFAULT_BASE_URL,
}


@dataclass(frozen=True)
class Account:
    """One WB or MoySklad account. ``base_url`` ``None`` means the vendor's public API."""

    kind: AccountKind
    id: int
    name: str
    token: str = field(repr=False)
    base_url: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in DEFAULT_BASE_URLS:
            raise ValueError(f"Account {self.id}: kind {self.kind!r} is not one of "
                             f"{', '.join(sorted(DEFAULT_BASE_URLS))}.")

    @property
    def effective_base_url(self) -> str:
        """``base_url``, or the vendor's default, without a trailing slash."""
        return (self.base_url or DEFAULT_BASE_URLS[self.kind]).rstrip("/")
