"""Marketplace tokens encrypted at rest: Fernet (``cryptography``) under a key the database never
holds.

Where the key comes from, first match wins:

1. ``SUPPLYBRAIN_TOKEN_KEY``: one or more Fernet keys, comma-separated;
2. ``SUPPLYBRAIN_TOKEN_KEY_FILE``: a file of keys, one a line (compose passes it as a secret);
3. ``<state dir>/token.key`` (``.local/token.key`` in a checkout) when it exists: the local
   default's file, which ``supplybrain dev`` creates once (``ensure_local_key``).

With several keys the first one encrypts and every one decrypts (``MultiFernet``): that is how a
key is rotated (``supplybrain accounts rotate-key``). A Fernet token is AES-128-CBC with an
HMAC-SHA256 over it, so a wrong key is detected, never mistaken for a token; stored values always
start with ``gAAAAA`` (the version byte and a timestamp), which the tables' CHECK enforces.

Every failure is a ``TokenKeyError`` (a ``ConfigError``): one sentence that names the variable or
file and the fix, never a key or a token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from supplybrain_pipelines import config
from supplybrain_pipelines.config import TOKEN_KEY_ENV, TOKEN_KEY_FILE_ENV, ConfigError

#: How every stored ciphertext begins (Fernet's version byte 0x80 and a 64-bit timestamp).
CIPHERTEXT_PREFIX = "gAAAAA"
#: ``list`` shows this many last characters of a token, and only of tokens at least this long.
HINT_CHARS = 4
HINT_MIN_LENGTH = 16


class TokenKeyError(ConfigError):
    """No key, a malformed key, or a stored token that no configured key opens."""


@dataclass(frozen=True)
class TokenKeys:
    """The configured keys (first encrypts) and where they came from, for messages."""

    keys: tuple[bytes, ...]
    source: str
    file: Path | None = None

    @property
    def cipher(self) -> MultiFernet:
        return MultiFernet([Fernet(key) for key in self.keys])


def local_key_file() -> Path:
    """The local default's key file: ``<state dir>/token.key``."""
    return config.LOCAL_STATE_DIR / config.LOCAL_TOKEN_KEY_NAME


def generate_key() -> str:
    """A new random Fernet key (44 url-safe base64 characters)."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(text: str, source: str) -> tuple[bytes, ...]:
    """The keys in ``text`` (separated by commas or line breaks; blank entries ignored); a
    TokenKeyError naming ``source`` and the key's position when one is not a Fernet key."""
    entries = [e.strip() for e in text.replace(",", "\n").splitlines() if e.strip()]
    if not entries:
        raise TokenKeyError(f"{source} holds no key; put a Fernet key in it "
                            "(`supplybrain accounts new-key` prints one).")
    for n, entry in enumerate(entries, start=1):
        try:
            Fernet(entry)
        except ValueError:
            raise TokenKeyError(
                f"Key {n} in {source} is not a Fernet key (32 url-safe base64-encoded bytes, "
                "44 characters); `supplybrain accounts new-key` prints one.") from None
    return tuple(e.encode("ascii") for e in entries)


def _read_file(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable"
        raise TokenKeyError(f"Cannot read the token key file {source} ({reason}); point "
                            f"{TOKEN_KEY_FILE_ENV} at a readable file of Fernet keys."
                            ) from None


def configured_keys(required: bool = True) -> TokenKeys | None:
    """The configured keys (see the module docstring for the order); without any, None, or a
    TokenKeyError when ``required``."""
    raw = os.environ.get(TOKEN_KEY_ENV, "").strip()
    if raw:
        return TokenKeys(parse_keys(raw, TOKEN_KEY_ENV), TOKEN_KEY_ENV)
    named = os.environ.get(TOKEN_KEY_FILE_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        source = f"{TOKEN_KEY_FILE_ENV} ({path})"
        return TokenKeys(parse_keys(_read_file(path, source), source), source, path)
    local = local_key_file()
    if local.is_file():
        source = f"the local key file {local}"
        return TokenKeys(parse_keys(_read_file(local, source), source), source, local)
    if required:
        raise TokenKeyError(
            f"No token key is configured: set {TOKEN_KEY_ENV} or {TOKEN_KEY_FILE_ENV} to the key "
            "the tokens were encrypted with (a new deployment: `supplybrain accounts new-key` "
            f"prints one; `make dev` creates {local} by itself).")
    return None


def encrypt_token(token: str, keys: TokenKeys | None = None) -> str:
    """``token`` encrypted under the first configured key (text starting ``gAAAAA``)."""
    keys = keys or configured_keys()
    return keys.cipher.encrypt(token.encode("utf-8")).decode("ascii")


def decrypt_token(ciphertext: str, keys: TokenKeys | None = None, *,
                  what: str = "a stored token") -> str:
    """The token in ``ciphertext``; a TokenKeyError naming ``what`` (e.g. "the token of wb
    account 3") when no configured key opens it."""
    keys = keys or configured_keys()
    try:
        return keys.cipher.decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise TokenKeyError(
            f"{what[:1].upper()}{what[1:]} cannot be decrypted with the key(s) from "
            f"{keys.source}: the key is not the one it was encrypted with (or was rotated "
            "away); configure that key, or store the token again with `supplybrain accounts "
            "activate --new-token`.") from None


def reencrypt_token(ciphertext: str, keys: TokenKeys, *, what: str = "a stored token") -> str:
    """``ciphertext`` decrypted with any configured key and encrypted under the first."""
    try:
        return keys.cipher.rotate(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        decrypt_token(ciphertext, keys, what=what)  # raises the one-sentence error
        raise


def token_hint(token: str) -> str:
    """What ``accounts list`` may show of a token: its last 4 characters, or nothing for a
    token shorter than 16 (stored beside the ciphertext, so listing needs no key)."""
    return token[-HINT_CHARS:] if len(token) >= HINT_MIN_LENGTH else ""


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace ``path`` with ``keys`` (one a line), readable by its owner only; written to a
    temporary file first and renamed, so a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write("".join(f"{key}\n" for key in keys))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def ensure_local_key() -> Path | None:
    """For ``supplybrain dev``: unless a key is configured by environment, make sure the local
    key file exists (a new random key the first time, mode 0600). Returns the file when it was
    created now, else None."""
    if os.environ.get(TOKEN_KEY_ENV, "").strip() or os.environ.get(TOKEN_KEY_FILE_ENV, "").strip():
        return None
    path = local_key_file()
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(generate_key() + "\n")
    return path
