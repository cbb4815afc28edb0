"""The account rules of ``logic/accounts.py``: what a token and a base URL must be, and when an
account is suspended."""

from __future__ import annotations

import pytest

from supplybrain_pipelines.logic.accounts import (
    base_url_problem,
    due_for_suspension,
    suspension_reason,
    token_problem,
)


@pytest.mark.parametrize("token", ["eyJhbGciOiJFUzI1NiJ9.eyJleHAiOjF9.c2ln",
                                   "0123456789abcdef0123456789abcdef01234567",
                                   "!~/+=_-.", "a"])
def test_printable_ascii_tokens_pass(token):
    assert token_problem(token) is None


@pytest.mark.parametrize(("token", "what", "code", "position"), [
    ("ab\x01cd", "a control character", "0001", 3),
    ("\x00", "a control character", "0000", 1),
    ("abc\x7f", "a control character", "007F", 4),
    ("ab cd", "a space", "0020", 3),
    ("токен", "a non-ASCII character", "0442", 1),
    ("abc\u00a0", "a non-ASCII character", "00A0", 4),
])
def test_a_token_no_header_can_carry_is_named_by_character_and_position(token, what, code,
                                                                         position):
    problem = token_problem(token)
    assert problem == (f"The token contains {what} (U+{code}) at position {position}, which no "
                       "HTTP header can carry; paste the token exactly as the vendor issued it.")
    assert token not in problem


@pytest.mark.parametrize("url", ["https://statistics-api.wildberries.ru",
                                 "https://api.moysklad.ru/api/remap/1.2",
                                 "http://127.0.0.1:8765", "http://127.0.0.1:8765/api/remap/1.2/",
                                 "HTTP://[::1]:8765", "http://localhost"])
def test_http_urls_pass(url):
    assert base_url_problem(url) is None


@pytest.mark.parametrize("url", ["not a url", "", "statistics-api.wildberries.ru", "ftp://h",
                                 "http://", "http:///path", "https://h:port", "http://h:70000",
                                 "mailto:me@h", "http://h\x01"])
def test_what_is_not_an_http_url_is_refused(url):
    assert base_url_problem(url) is not None


def test_a_url_with_credentials_query_or_fragment_or_port_0_is_refused():
    assert base_url_problem("https://me:pw@h") == (
        "--base-url must not carry a user name or password; the token authenticates.")
    assert "pw" not in base_url_problem("https://me:pw@h")
    assert base_url_problem("https://h/x?a=1").endswith("must not have a query or fragment; "
                                                        "endpoint paths are appended to it.")
    assert base_url_problem("https://h/x#f") is not None
    assert base_url_problem("https://h/x?") is not None
    assert base_url_problem("http://h:0") == "--base-url 'http://h:0' names port 0, which no " \
                                             "server listens on."


def test_a_long_url_is_shown_cut():
    problem = base_url_problem("ftp://" + "h" * 200)
    assert problem.startswith("--base-url 'ftp://" + "h" * 71 + "...' is not")


@pytest.mark.parametrize(("streaks", "due"), [
    ([], False), ([3], True), ([2], False), ([3, 3, 3], True), ([3, 3, 2], False),
    ([7, 4, 3], True), ([9, 9, 0], False),
])
def test_suspension_needs_every_endpoint_at_three(streaks, due):
    assert due_for_suspension(streaks) is due


def test_the_threshold_is_a_parameter_of_at_least_one():
    assert due_for_suspension([1, 1], threshold=1) is True
    assert due_for_suspension([4, 4], threshold=5) is False
    with pytest.raises(ValueError, match="at least 1"):
        due_for_suspension([1], threshold=0)


def test_the_reason_names_the_answer_and_the_way_back():
    assert suspension_reason(403) == ("every endpoint answered HTTP 403 (token rejected) in 3 "
                                      "ingest runs in a row; fix the token, then "
                                      "`supplybrain accounts activate`")
    assert suspension_reason(None, threshold=5).startswith(
        "every endpoint answered 401/403 (token rejected) in 5 ingest runs")
