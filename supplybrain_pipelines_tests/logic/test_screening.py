"""Screening of raw records for what PostgreSQL cannot store, and the quarantine's form of them.

Expected reasons, digests and stored forms are written out by hand from the rules in
``logic/screening.py``'s docstrings.
"""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from supplybrain_pipelines.logic.screening import (
    record_digest,
    screen,
    screen_many,
    storable,
)

GOOD = {"srid": "1.a", "supplierArticle": "MC-1003/4", "warehouseName": "Подольск\u00a0СЦ",
        "nmId": 134608683, "totalPrice": 2550.0, "isCancel": False, "cancelDate": None,
        "sticker": "tab\there\nand\rthere"}


def nested(levels: int) -> dict:
    """A record whose objects are nested ``levels`` deep (the record itself is level 1)."""
    record: dict = {"leaf": 1}
    for _ in range(levels - 1):
        record = {"x": record}
    return record


def test_a_clean_record_passes():
    assert screen(GOOD) is None
    assert screen("a bare string") is None
    assert screen(nested(16)) is None


@pytest.mark.parametrize("changes, expected", [
    ({"supplierArticle": "a\u0000b"},
     ("unstorable_text", "supplierArticle: text holds NUL (U+0000) at character 1, which "
                         "PostgreSQL cannot store")),
    ({"warehouseName": "x\ud800"},
     ("unstorable_text", "warehouseName: text holds a lone surrogate (U+D800) at character 1, "
                         "which PostgreSQL cannot store")),
    ({"techSize": "4\u00078"},
     ("control_character", "techSize: text holds the control character U+0007 at character 1")),
    ({"techSize": "48\u0085"},
     ("control_character", "techSize: text holds the control character U+0085 at character 2")),
    ({"techSize": "\u007f"},
     ("control_character", "techSize: text holds the control character U+007F at character 0")),
    ({"gNumber": "9" * 1001},
     ("text_too_long", "gNumber: 1001 characters, more than the 1000 allowed")),
    ({"description": "d" * 4097},
     ("text_too_long", "description: 4097 characters, more than the 4096 allowed")),
    ({"k" * 129: 1},
     ("text_too_long", f"{'k' * 40}... (key): 129 characters, more than the 128 allowed")),
    ({"a\u0000": 1},
     ("unstorable_text", "'a\\x00' (key): text holds NUL (U+0000) at character 1, which "
                         "PostgreSQL cannot store")),
    ({"totalPrice": float("nan")},
     ("number_out_of_range", "totalPrice: nan is not a finite number")),
    ({"totalPrice": float("-inf")},
     ("number_out_of_range", "totalPrice: -inf is not a finite number")),
    ({"nmId": 2 ** 63},
     ("number_out_of_range", "nmId: an integer of 19 digits is beyond PostgreSQL's bigint")),
    ({"nmId": -(2 ** 63) - 1},
     ("number_out_of_range", "nmId: an integer of 19 digits is beyond PostgreSQL's bigint")),
    ({"nmId": 10 ** 30},
     ("number_out_of_range", "nmId: an integer of 31 digits is beyond PostgreSQL's bigint")),
])
def test_each_problem_has_its_reason(changes, expected):
    assert screen({**GOOD, **changes}) == expected


@pytest.mark.parametrize("changes", [
    {"gNumber": "9" * 1000}, {"description": "d" * 4096}, {"k" * 128: 1},
    {"nmId": 2 ** 63 - 1}, {"nmId": -(2 ** 63)}, {"totalPrice": 1.7e308}, {"isCancel": True},
])
def test_values_at_the_limits_pass(changes):
    assert screen({**GOOD, **changes}) is None


def test_nesting_deeper_than_16_levels_is_too_deep_and_names_where():
    assert screen(nested(17)) == ("too_deep", "x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x: nested deeper "
                                              "than 16 levels")
    assert screen([[[]]]) is None
    deep_list: list = []
    for _ in range(500):  # parseable by Python's json, far deeper than any marketplace record
        deep_list = [deep_list]
    assert screen({"a": deep_list})[0] == "too_deep"


def test_the_first_problem_in_document_order_wins_and_paths_name_list_items():
    record = {"positions": {"rows": [{"id": "ok"}, {"id": "\u0001", "name": "\u0000"}]},
              "later": float("inf")}
    assert screen(record) == ("control_character", "positions.rows.1.id: text holds the "
                                                   "control character U+0001 at character 0")


def test_screen_many_gives_the_index_of_each_bad_record():
    page = [GOOD, {**GOOD, "srid": "2"}, "not an object", {**GOOD, "sticker": "\u0000"},
            {**GOOD, "nmId": 2 ** 64}]
    assert screen_many(page) == {
        3: ("unstorable_text", "sticker: text holds NUL (U+0000) at character 0, which "
                               "PostgreSQL cannot store"),
        4: ("number_out_of_range", "nmId: an integer of 20 digits is beyond PostgreSQL's bigint"),
    }
    assert screen_many([GOOD] * 5) == {}
    assert screen_many([]) == {}


BAD_VALUES = ["\u0000", "x\ud83d", "\u001b[0m", "\u009f", "y" * 1001, float("nan"),
              float("inf"), 2 ** 63, -(2 ** 63) - 1, nested(17), [nested(16)]]
OK_VALUES = ["", "Подольск", "a'b\"c\\d", "\t", "y" * 1000, 0.0, -1.5, 2 ** 63 - 1, None, True,
             {"a": [1, 2]}, [], "\u00a0", 1e308]


@pytest.mark.parametrize("seed", range(30))
def test_screen_many_agrees_with_screen_on_fuzzed_pages(seed):
    """The page-level pre-test is exact: it never clears a page holding a bad record, whatever
    the column (same key order, another order, another number of keys)."""
    rng = random.Random(seed)
    page = []
    for _ in range(rng.randint(1, 40)):
        record = dict(GOOD)
        if rng.random() < 0.3:
            record = dict(reversed(list(record.items())))
        if rng.random() < 0.2:
            record[f"extra{rng.randint(0, 3)}"] = rng.choice(OK_VALUES)
        if rng.random() < 0.6:
            record[rng.choice(list(record))] = rng.choice(OK_VALUES)
        page.append(record)
    if seed % 3:
        record = rng.choice(page)
        record[rng.choice(list(record))] = rng.choice(BAD_VALUES)
    expected = {at: problem for at, record in enumerate(page)
                if (problem := screen(record)) is not None}
    assert screen_many(page) == expected
    assert (expected != {}) == (seed % 3 != 0)


def test_the_digest_is_sha256_of_the_canonical_json():
    canonical = b'{"a":1,"b":"\\u0436","c":[NaN,"\\udc80"]}'
    assert record_digest({"c": [float("nan"), "\udc80"], "b": "ж", "a": 1}) == \
        hashlib.sha256(canonical).hexdigest()
    assert record_digest({"a": 1, "b": 2}) == record_digest({"b": 2, "a": 1})
    assert record_digest({"a": "x" * 2000}) != record_digest({"a": "x" * 1999 + "y"})


def test_storable_escapes_cuts_and_notes_the_original_size():
    record = {"nul": "a\u0000b", "surrogate": "\udc80x", "big": "z" * 10_000_000,
              "nan": float("nan"), "inf": float("-inf"), "deep": nested(17), "n": 10 ** 30,
              "_sandbox_malformed": "long_text"}
    form, size = storable(record)
    assert form["nul"] == "a\\u0000b"
    assert form["surrogate"] == "\\udc80x"
    assert form["big"] == "z" * 1000 + "...[cut: 10000000 characters]"
    assert form["nan"] == "nan" and form["inf"] == "-inf"
    assert form["n"] == 10 ** 30
    assert form["_sandbox_malformed"] == "long_text"
    deep = form["deep"]
    for _ in range(15):  # "deep" is level 2 ... the 16th level is the last kept
        deep = deep["x"]
    assert deep == "[nested deeper than 16 levels: left out]"
    # the original's JSON: 10,000,000 z's plus the rest
    assert size == len(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    assert size > 10_000_000
    json.dumps(form, allow_nan=False).encode("utf-8")  # what JSONB needs: no NaN, valid UTF-8


def test_storable_sizes_by_hand():
    assert storable({"s": "ab"}) == ({"s": "ab"}, 10)  # {"s":"ab"}
    assert storable("a\u0000") == ("a\\u0000", 9)  # "a\u0000" as JSON: 1 + 1 + 6 + 1


def test_storable_masks_before_it_cuts():
    secret = "S" * 40
    record = {"note": "x" * 990 + secret}
    form, _ = storable(record, mask=lambda text: text.replace(secret, "***"))
    assert form == {"note": "x" * 990 + "***"}


def test_a_record_over_64_kib_keeps_its_smallest_entries_and_lists_the_rest():
    record = {f"k{n:02d}": "v" * 1000 for n in range(100)}
    record["_sandbox_malformed"] = "big"
    form, size = storable(record)
    # each {"kNN":"v...v"} is 1010 characters; the tag's entry 28; half of 64 KiB is 32,768:
    # 32,768 - 28 = 32,740 leaves room for 32 entries (32,320), k00..k31 (ties by key)
    assert list(form) == ["_sandbox_malformed", *[f"k{n:02d}" for n in range(32)], "_left_out"]
    assert form["_left_out"] == [f"k{n:02d}" for n in range(32, 100)]
    # the original: 100 entries "kNN":"v...v" of 1008 characters, the tag's of 26, 100 commas
    # and the braces
    assert size == 100 * 1008 + 26 + 100 + 2
    assert len(json.dumps(form, ensure_ascii=False)) < 64 * 1024


def test_screen_many_clears_clean_blocks_and_finds_a_bad_record_in_a_later_one():
    page = [{**GOOD, "srid": str(n)} for n in range(600)]  # three blocks of 256, 256, 88
    page[300]["techSize"] = "\u0000"
    page[599]["nmId"] = 2 ** 63
    assert screen_many(page) == {
        300: ("unstorable_text", "techSize: text holds NUL (U+0000) at character 0, which "
                                 "PostgreSQL cannot store"),
        599: ("number_out_of_range", "nmId: an integer of 19 digits is beyond PostgreSQL's "
                                     "bigint"),
    }
