"""``supplybrain accounts`` as an operator runs it: the installed console script in a subprocess,
against a migrated PostgreSQL database. Tokens go in through stdin and never come out."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess

import pytest
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import DRIVER, redact
from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines_tests.fixtures_db import (
    SUPPLYBRAIN,
    cli_env,
    fetch_all,
)


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
                stdin=WB_TOKEN + "\n")
    assert added.returncode == 0, added.stderr
    match = re.fullmatch(r"added wb account (\d+) \(Shop\), token …(\S{4})\n", added.stdout)
    assert match, added.stdout
    assert match[2] == WB_TOKEN[-4:]
    wb_id = match[1]
    # MoySklad's token piped without a trailing newline, and a Cyrillic name.
    added_ms = cli("accounts", "add", "--kind", "moysklad", "--name", "Склад НСК", stdin=MS_TOKEN)
    assert added_ms.returncode == 0, added_ms.stderr
    ms_id = re.search(r"account (\d+)", added_ms.stdout)[1]

    # The tokens were read from stdin and stored exactly (stripped of the newline).
    assert fetch_all(migrated_db_url, "SELECT id, name, supplier_id, api_token, is_active "
                     "FROM supplybrain.wb_integration_accounts") == [
        (int(wb_id), "Shop", "987654", WB_TOKEN, True)]
    assert fetch_all(migrated_db_url, "SELECT id, account_id, api_token, is_active "
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
    assert fetch_all(migrated_db_url, "SELECT api_token, is_active "
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
    assert options == {"--kind", "--name", "--external-id", "--base-url", "--help"}
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
