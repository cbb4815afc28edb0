"""``supplybrain accounts`` as an operator runs it: the installed console script in a subprocess,
against a migrated PostgreSQL database. Tokens go in through stdin and never come out."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import DRIVER, redact
from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.model import Business
from supplybrain_pipelines.sandbox.server import SandboxServer
from supplybrain_pipelines_tests.fixtures_db import (
    SUPPLYBRAIN,
    cli_env,
    fetch_all,
)
from supplybrain_pipelines_tests.token_helpers import fetch_opened


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _fake_wb_token() -> str:
    """Shaped like a WB API token (an ES256 JWT), but signed by nobody."""
    header = {"alg": "ES256", "kid": "20250520v1", "typ": "JWT"}
    payload = {"ent": 1, "exp": 1795000000, "oid": 4242424, "s": 1073741886, "uid": 55555555}
    signature = _b64(hashlib.sha512(b"supplybrain test token").digest())
    parts = [_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)]
    return ".".join([*parts, signature])


WB_TOKEN = _fake_wb_token()
MS_TOKEN = hashlib.sha1(b"moysklad test token").hexdigest()
TOKENS = (WB_TOKEN, MS_TOKEN)


def test_the_fake_tokens_are_realistic_and_distinguishable():
    assert 200 <= len(WB_TOKEN) <= 260 and WB_TOKEN.count(".") == 2
    assert len(MS_TOKEN) == 40
    assert WB_TOKEN[-4:] != MS_TOKEN[-4:]


def assert_no_token(*outputs: str) -> None:
    for out in outputs:
        for token in TOKENS:
            assert token not in out
            assert token[:-4] not in out  # not even all but the masked tail
            assert token[:12] not in out


class Cli:
    """Runs ``supplybrain`` with a fixed environment and keeps everything it printed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.printed: list[str] = []

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(SUPPLYBRAIN), *args], input=stdin, env=self.env,
                              capture_output=True, text=True, timeout=120)
        self.printed += [done.stdout, done.stderr]
        return done


@pytest.fixture
def cli(migrated_db_url) -> Cli:
    return Cli(cli_env(migrated_db_url))


def listed_rows(stdout: str) -> list[list[str]]:
    """The rows of ``accounts list`` below its header, split into cells."""
    header, *rows = stdout.splitlines()
    assert re.split(r"\s{2,}", header) == ["kind", "id", "name", "external id", "status",
                                           "base url", "token"]
    return [re.split(r"\s{2,}", row) for row in rows]


def test_add_list_and_deactivate(cli, migrated_db_url):
    added = cli("accounts", "add", "--kind", "wb", "--name", "Shop", "--external-id", "987654",
                "--no-check", stdin=WB_TOKEN + "\n")
    assert added.returncode == 0, added.stderr
    match = re.fullmatch(r"added wb account (\d+) \(Shop\), token …(\S{4}), not checked\n",
                         added.stdout)
    assert match, added.stdout
    assert match[2] == WB_TOKEN[-4:]
    wb_id = match[1]
    # MoySklad's token piped without a trailing newline, and a Cyrillic name.
    added_ms = cli("accounts", "add", "--kind", "moysklad", "--name", "Склад НСК", "--no-check",
                   stdin=MS_TOKEN)
    assert added_ms.returncode == 0, added_ms.stderr
    ms_id = re.search(r"account (\d+)", added_ms.stdout)[1]

    # The tokens were read from stdin and stored exactly (stripped of the newline).
    assert fetch_opened(migrated_db_url, "SELECT id, name, supplier_id, api_token_encrypted, "
                        "is_active FROM supplybrain.wb_integration_accounts") == [
        (int(wb_id), "Shop", "987654", WB_TOKEN, True)]
    assert fetch_opened(migrated_db_url, "SELECT id, account_id, api_token_encrypted, is_active "
                     "FROM supplybrain.moysklad_integration_accounts") == [
        (int(ms_id), None, MS_TOKEN, True)]

    listed = cli("accounts", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed_rows(listed.stdout) == [
        ["moysklad", ms_id, "Склад НСК", "-", "active", "-", "…" + MS_TOKEN[-4:]],
        ["wb", wb_id, "Shop", "987654", "active", "-", "…" + WB_TOKEN[-4:]],
    ]

    stamps = "SELECT created_at, updated_at FROM supplybrain.wb_integration_accounts"
    [(created, updated_before)] = fetch_all(migrated_db_url, stamps)
    done = cli("accounts", "deactivate", "--kind", "wb", wb_id)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"deactivated wb account {wb_id}\n"
    [(created_after, updated_after)] = fetch_all(migrated_db_url, stamps)
    assert created_after == created
    assert updated_after > updated_before
    assert fetch_opened(migrated_db_url, "SELECT api_token_encrypted, is_active "
                     "FROM supplybrain.wb_integration_accounts") == [(WB_TOKEN, False)]

    relisted = cli("accounts", "list", "--kind", "wb")
    assert relisted.returncode == 0, relisted.stderr
    assert listed_rows(relisted.stdout) == [
        ["wb", wb_id, "Shop", "987654", "inactive", "-", "…" + WB_TOKEN[-4:]]]
    assert listed_rows(cli("accounts", "list", "--kind", "moysklad").stdout)[0][4] == "active"

    assert len(cli.printed) == 12
    assert_no_token(*cli.printed)


def test_deactivating_a_missing_account_is_one_clear_line(cli):
    done = cli("accounts", "deactivate", "--kind", "wb", "4242")
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: There is no wb account with id 4242")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("stdin", ["", "   \n\n", f"{WB_TOKEN} {MS_TOKEN}\n"],
                         ids=["empty", "blank", "two tokens"])
def test_add_refuses_a_missing_or_ambiguous_token(cli, migrated_db_url, stdin):
    done = cli("accounts", "add", "--kind", "wb", "--name", "Shop", stdin=stdin)
    assert done.returncode != 0
    assert "empty or contains whitespace" in done.stderr
    assert "Traceback" not in done.stderr
    assert fetch_all(migrated_db_url,
                     "SELECT count(*) FROM supplybrain.wb_integration_accounts") == [(0,)]
    assert_no_token(done.stdout, done.stderr)


def test_add_has_no_token_option(cli, migrated_db_url):
    done = cli("accounts", "add", "--help")
    assert done.returncode == 0, done.stderr
    options = set(re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", done.stdout, re.MULTILINE))
    assert options == {"--kind", "--name", "--external-id", "--base-url", "--check", "--help"}
    assert "--check / --no-check" in done.stdout
    assert "token" not in done.stdout.split("Options:")[1].lower()
    assert "stdin" in done.stdout
    # And an attempt to pass it in argv is refused rather than silently taken.
    attempt = cli("accounts", "add", "--kind", "wb", "--name", "Shop", "--token", WB_TOKEN)
    assert attempt.returncode == 2
    assert re.search(r"No such option:? '?--token", attempt.stderr)
    assert fetch_all(migrated_db_url,
                     "SELECT count(*) FROM supplybrain.wb_integration_accounts") == [(0,)]


def test_add_to_an_unmigrated_database_fails_in_one_line_without_the_token(empty_db_url):
    cli = Cli(cli_env(empty_db_url))
    done = cli("accounts", "add", "--kind", "wb", "--name", "Shop", stdin=WB_TOKEN)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: ") and "run `supplybrain db upgrade` first" in line
    assert "Traceback" not in done.stderr
    assert_no_token(done.stdout, done.stderr)


@pytest.mark.parametrize("args", [("list",), ("add", "--kind", "wb", "--name", "Shop"),
                                  ("deactivate", "--kind", "moysklad", "1")],
                         ids=["list", "add", "deactivate"])
def test_an_unreachable_database_is_one_line_without_secrets(args):
    url = URL.create(DRIVER, username="supplybrain", password="pw-" + MS_TOKEN[:8],
                     host="127.0.0.1", port=free_port(), database="supplybrain")
    done = Cli(cli_env(url))("accounts", *args, stdin=WB_TOKEN)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"Error: Could not connect to PostgreSQL at {redact(url)} (")
    assert "Traceback" not in done.stderr
    assert url.password not in done.stderr + done.stdout
    assert_no_token(done.stdout, done.stderr)


# -- checked on entry ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox_business() -> Business:
    return generate_business(seed=5, articles=2)


@pytest.fixture
def sandbox(sandbox_business) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox_business) as server:
        yield server


def account_count(url, kind: str = "wb") -> int:
    table = "wb_integration_accounts" if kind == "wb" else "moysklad_integration_accounts"
    [(n,)] = fetch_all(url, f"SELECT count(*) FROM supplybrain.{table}")
    return n


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit code 1 and said why in one line, without a traceback."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: ")
    return line


def test_add_checks_the_token_with_one_call_and_writes_what_the_api_accepted(
        cli, migrated_db_url, sandbox, sandbox_business):
    wb, ms = sandbox_business.wb_accounts[0], sandbox_business.moysklad_accounts[0]
    added = cli("accounts", "add", "--kind", "wb", "--name", "Checked", "--base-url",
                sandbox.wb_base_url, stdin=wb.token)
    assert added.returncode == 0, added.stderr
    assert re.fullmatch(r"added wb account \d+ \(Checked\), token …\S{4}, "
                        r"accepted by 127\.0\.0\.1\n", added.stdout)
    added_ms = cli("accounts", "add", "--kind", "moysklad", "--name", "Checked MS",
                   "--base-url", sandbox.moysklad_base_url, stdin=ms.token)
    assert added_ms.returncode == 0, added_ms.stderr
    assert added_ms.stdout.endswith(", accepted by 127.0.0.1\n")
    assert fetch_opened(migrated_db_url, "SELECT name, api_token_encrypted, base_url, "
                        "is_active, suspended_at FROM supplybrain.wb_integration_accounts") == [
        ("Checked", wb.token, sandbox.wb_base_url, True, None)]
    assert account_count(migrated_db_url, "moysklad") == 1
    # exactly one request each, to the documented check endpoints
    stats = sandbox.stats()
    assert stats[("wb", "/ping", wb.name)]["statuses"] == {200: 1}
    assert stats[("moysklad", "/api/remap/1.2/context/employee", ms.name)]["statuses"] == {200: 1}
    assert len(stats) == 2
    assert_no_token(*cli.printed)
    for out in cli.printed:
        assert wb.token[:12] not in out and ms.token[:12] not in out


@pytest.mark.parametrize("kind", ["wb", "moysklad"])
def test_add_refuses_a_token_the_api_rejects(cli, migrated_db_url, sandbox, sandbox_business,
                                              kind):
    base_url = sandbox.wb_base_url if kind == "wb" else sandbox.moysklad_base_url
    unknown = cli("accounts", "add", "--kind", kind, "--name", "Shop", "--base-url", base_url,
                  stdin=WB_TOKEN if kind == "wb" else MS_TOKEN)
    label = "WB" if kind == "wb" else "MoySklad"
    assert one_error_line(unknown) == (
        f"Error: Not added: the {label} API at 127.0.0.1 rejected the token (HTTP 401). "
        "Nothing was written; fix the token or --base-url, or pass --no-check to add the "
        "account without checking.")
    # a token the sandbox knows but has revoked: the same refusal
    known = (sandbox_business.wb_accounts if kind == "wb" else
             sandbox_business.moysklad_accounts)[0].token
    sandbox.faults.unauthorized(known)
    revoked = cli("accounts", "add", "--kind", kind, "--name", "Shop", "--base-url", base_url,
                  stdin=known)
    assert "rejected the token (HTTP 401)" in one_error_line(revoked)
    assert account_count(migrated_db_url, kind) == 0
    assert_no_token(*cli.printed)
    assert all(known[:12] not in out for out in cli.printed)


def test_add_refuses_an_unreachable_base_url_naming_its_host(cli, migrated_db_url):
    port = free_port()  # bound, then closed by free_port: nothing listens there
    done = cli("accounts", "add", "--kind", "wb", "--name", "Shop", "--base-url",
               f"http://127.0.0.1:{port}/stats", stdin=WB_TOKEN)
    assert one_error_line(done) == (
        "Error: Not added: 127.0.0.1 could not be reached (the request failed (ConnectError)). "
        "Nothing was written; fix the token or --base-url, or pass --no-check to add the "
        "account without checking.")
    assert account_count(migrated_db_url) == 0
    assert_no_token(done.stdout, done.stderr)


@pytest.mark.parametrize(("stdin", "expected"), [
    (WB_TOKEN[:40] + "\x01" + WB_TOKEN[40:], "Error: The token contains a control character "
     "(U+0001) at position 41, which no HTTP header can carry; paste the token exactly as the "
     "vendor issued it."),
    (WB_TOKEN[:40] + "\x7f" + WB_TOKEN[40:], "Error: The token contains a control character "
     "(U+007F) at position 41, which no HTTP header can carry; paste the token exactly as the "
     "vendor issued it."),
    (MS_TOKEN[:10] + "й" + MS_TOKEN[10:], "Error: The token contains a non-ASCII character "
     "(U+0439) at position 11, which no HTTP header can carry; paste the token exactly as the "
     "vendor issued it."),
], ids=["control", "delete", "non-ascii"])
def test_add_refuses_a_token_no_header_can_carry_before_any_call(cli, migrated_db_url, sandbox,
                                                                 stdin, expected):
    done = cli("accounts", "add", "--kind", "wb", "--name", "Shop", "--base-url",
               sandbox.wb_base_url, stdin=stdin)
    assert one_error_line(done) == expected
    assert account_count(migrated_db_url) == 0
    assert sandbox.stats() == {}  # refused before the check call
    assert_no_token(done.stdout, done.stderr)


def test_add_refuses_a_token_with_a_newline_in_the_middle(cli, migrated_db_url, sandbox):
    done = cli("accounts", "add", "--kind", "wb", "--name", "Shop", "--base-url",
               sandbox.wb_base_url, stdin=WB_TOKEN[:50] + "\n" + WB_TOKEN[50:] + "\n")
    assert done.returncode != 0
    assert "empty or contains whitespace" in done.stderr
    assert "Traceback" not in done.stderr
    assert account_count(migrated_db_url) == 0
    assert sandbox.stats() == {}
    assert_no_token(done.stdout, done.stderr)


@pytest.mark.parametrize(("base_url", "expected"), [
    ("not a url", "Error: --base-url 'not a url' contains spaces or control characters; it "
     "must be an http(s) URL such as https://statistics-api.wildberries.ru."),
    ("statistics-api.wildberries.ru", "Error: --base-url 'statistics-api.wildberries.ru' is "
     "not an http(s) URL such as https://statistics-api.wildberries.ru."),
    ("ftp://127.0.0.1/x", "Error: --base-url 'ftp://127.0.0.1/x' is not an http(s) URL such "
     "as https://statistics-api.wildberries.ru."),
    ("http://:8765", "Error: --base-url 'http://:8765' is not an http(s) URL such as "
     "https://statistics-api.wildberries.ru."),
    ("http://127.0.0.1:99999", "Error: --base-url 'http://127.0.0.1:99999' is not an http(s) "
     "URL such as https://statistics-api.wildberries.ru."),
    ("https://me:secret@127.0.0.1", "Error: --base-url must not carry a user name or "
     "password; the token authenticates."),
    ("http://127.0.0.1:8765/?x=1", "Error: --base-url 'http://127.0.0.1:8765/?x=1' must not "
     "have a query or fragment; endpoint paths are appended to it."),
], ids=["words", "no-scheme", "ftp", "no-host", "bad-port", "password", "query"])
def test_add_refuses_a_base_url_that_is_not_an_http_url(cli, migrated_db_url, base_url,
                                                         expected):
    done = cli("accounts", "add", "--kind", "wb", "--name", "Shop", "--no-check", "--base-url",
               base_url, stdin=WB_TOKEN)
    assert one_error_line(done) == expected
    assert "secret" not in done.stderr
    assert account_count(migrated_db_url) == 0


def test_activate_brings_back_a_suspended_or_deactivated_account(cli, migrated_db_url):
    added = cli("accounts", "add", "--kind", "wb", "--name", "Shop", "--no-check",
                stdin=WB_TOKEN)
    assert added.returncode == 0, added.stderr
    wb_id = re.search(r"account (\d+)", added.stdout)[1]
    engine = sa.create_engine(migrated_db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE supplybrain.wb_integration_accounts SET is_active = false, "
            "suspended_at = '2026-12-01 10:20+00', suspended_reason = 'every endpoint 401' "
            "WHERE id = :id"), {"id": int(wb_id)})
        conn.execute(sa.text(
            "INSERT INTO supplybrain.account_health (account_kind, account_id, endpoint, "
            "last_attempt_at, consecutive_failures, consecutive_unauthorized, last_error_class)"
            " VALUES ('wb', :id, 'orders', now(), 3, 3, 'unauthorized'), "
            "('wb', :id, 'sales', now(), 3, 3, 'unauthorized'), "
            "('wb', :other, 'sales', now(), 4, 4, 'unauthorized')"),
            {"id": int(wb_id), "other": int(wb_id) + 1})
    engine.dispose()
    assert listed_rows(cli("accounts", "list").stdout)[0][4] == "suspended"

    done = cli("accounts", "activate", "--kind", "wb", wb_id, "--no-check")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"activated wb account {wb_id} (suspended since 2026-12-01 10:20 UTC)\n"
    assert fetch_all(migrated_db_url, "SELECT is_active, suspended_at, suspended_reason FROM "
                     "supplybrain.wb_integration_accounts") == [(True, None, None)]
    # its 401 streaks restart (another account's are left alone); failures stay as recorded
    assert fetch_all(migrated_db_url, "SELECT account_id, endpoint, consecutive_unauthorized, "
                     "consecutive_failures FROM supplybrain.account_health "
                     "ORDER BY account_id, endpoint") == [
        (int(wb_id), "orders", 0, 3), (int(wb_id), "sales", 0, 3), (int(wb_id) + 1, "sales", 4, 4)]
    assert listed_rows(cli("accounts", "list").stdout)[0][4] == "active"

    again = cli("accounts", "activate", "--kind", "wb", wb_id, "--no-check")
    assert again.stdout == f"wb account {wb_id} is already active\n"
    assert cli("accounts", "deactivate", "--kind", "wb", wb_id).returncode == 0
    assert listed_rows(cli("accounts", "list").stdout)[0][4] == "inactive"
    plain = cli("accounts", "activate", "--kind", "wb", wb_id, "--no-check")
    assert plain.stdout == f"activated wb account {wb_id}\n"
    assert one_error_line(cli("accounts", "activate", "--kind", "moysklad", "4242")).startswith(
        "Error: There is no moysklad account with id 4242")
    assert_no_token(*cli.printed)


def _suspend(url, account_id: str) -> None:
    """What ingestion leaves behind when it suspends an account (tests/assets cover the how)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE supplybrain.wb_integration_accounts SET is_active = false, "
            "suspended_at = '2026-12-02 08:05+00', suspended_reason = 'every endpoint 401' "
            "WHERE id = :id"), {"id": int(account_id)})
    engine.dispose()


def test_activate_checks_the_token_and_can_replace_it(cli, migrated_db_url, sandbox,
                                                      sandbox_business):
    added = cli("accounts", "add", "--kind", "wb", "--name", "Shop", "--no-check",
                "--base-url", sandbox.wb_base_url, stdin=WB_TOKEN)
    assert added.returncode == 0, added.stderr
    wb_id = re.search(r"account (\d+)", added.stdout)[1]
    _suspend(migrated_db_url, wb_id)
    state = ("SELECT api_token_encrypted, is_active, suspended_at IS NOT NULL "
             "FROM supplybrain.wb_integration_accounts")

    # the stored token is still rejected: not activated
    refused = cli("accounts", "activate", "--kind", "wb", wb_id)
    assert one_error_line(refused) == (
        "Error: Not activated: the WB API at 127.0.0.1 rejected the token (HTTP 401). Nothing "
        "was written; pass a working token with --new-token, or pass --no-check to activate "
        "the account without checking.")
    assert fetch_opened(migrated_db_url, state) == [(WB_TOKEN, False, True)]
    # a new token no header can carry: refused before any call
    bad = cli("accounts", "activate", "--kind", "wb", wb_id, "--new-token",
              stdin="abc\x01def")
    assert "no HTTP header can carry" in one_error_line(bad)
    assert sandbox.stats()[("wb", "/ping", "-")]["requests"] == 1

    good = sandbox_business.wb_accounts[0].token
    done = cli("accounts", "activate", "--kind", "wb", wb_id, "--new-token", stdin=good + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"activated wb account {wb_id} (suspended since 2026-12-02 08:05 UTC)"
                           f", new token …{good[-4:]}, accepted by 127.0.0.1\n")
    assert fetch_opened(migrated_db_url, state) == [(good, True, False)]
    assert_no_token(*cli.printed)
    assert all(good[:12] not in out for out in cli.printed)
