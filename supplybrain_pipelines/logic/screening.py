"""Screening of raw marketplace records for what PostgreSQL cannot store, before validation.

A record can pass its model and still be unusable: text with a NUL (PostgreSQL's text and JSONB
reject it), a lone surrogate (it has no UTF-8 form), a 10 MB string, JSON nested hundreds of
levels deep, a number no column can hold. :func:`screen` walks a raw JSON record once and gives
the first such problem, in document order, as a quarantine reason:

=======================  =============================================================
``too_deep``             objects/arrays nested deeper than :data:`MAX_DEPTH` (the record is 1)
``unstorable_text``      a key or string with NUL (U+0000) or a lone surrogate (U+D800-DFFF)
``control_character``    a key or string with another C0 control than tab, LF and CR, DEL or
                         a C1 control (U+0080-009F): never part of marketplace text, they are
                         what broken encodings and binary data leave behind
``text_too_long``        a string longer than its field's limit (:func:`text_limit`), or a key
                         longer than :data:`MAX_KEY_LENGTH`
``number_out_of_range``  NaN or +-Infinity (Python's json reads them), or an integer outside
                         PostgreSQL's bigint (the widest integer column)
=======================  =============================================================

Limits are in characters (code points). A field's columns may be narrower still: the models
state those (e.g. a barcode of at most 64), and a value that passes both and still fails in
PostgreSQL is caught by the write's batch fallback (``write_rejected``).

:func:`storable` gives the form of a record that the quarantine can keep (JSONB accepts it), and
:func:`record_digest` the record's identity there (a hash of the ORIGINAL record).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from itertools import chain, compress, repeat
from math import isfinite
from operator import is_
from typing import Any

#: Deepest nesting of objects and arrays a record may have; the record itself is level 1. WB
#: records are flat (1), a MoySklad order with expanded positions is about 5 levels deep.
MAX_DEPTH = 16
#: Longest object key (characters).
MAX_KEY_LENGTH = 128
#: Longest string value of a field without a limit of its own (characters).
DEFAULT_TEXT_LIMIT = 1_000
#: Fields (by JSON name, wherever they are in the record) allowed longer text: MoySklad's free
#: text fields hold up to 4 096 characters, its ``meta`` links about 200.
TEXT_LIMITS = {"description": 4_096, "comment": 4_096, "shipmentAddress": 4_096}
#: PostgreSQL's bigint, the widest integer column.
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1

#: The quarantine keeps strings up to this many characters; longer ones are cut, with a note.
STORED_TEXT_LIMIT = 1_000
#: The quarantine keeps records up to this size (characters of JSON); see :func:`storable`.
STORED_RECORD_LIMIT = 64 * 1024

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

Problem = tuple[str, str]


def text_limit(field: str | None) -> int:
    """The longest string (characters) that field ``field`` may hold."""
    return TEXT_LIMITS.get(field, DEFAULT_TEXT_LIMIT) if field is not None else DEFAULT_TEXT_LIMIT


def _text_problem(text: str, limit: int, where: str) -> Problem | None:
    """The problem of one key or string, or None. Most text is printable and short, which one
    C-level test says (``isprintable`` is False for every character the regexes look for)."""
    if len(text) <= limit and text.isprintable():
        return None
    if (bad := _UNSTORABLE.search(text)) is not None:
        what = "NUL" if bad.group() == "\x00" else "a lone surrogate"
        return "unstorable_text", f"{where}: text holds {what} (U+{ord(bad.group()):04X}) " \
                                  f"at character {bad.start()}, which PostgreSQL cannot store"
    if (bad := _CONTROL.search(text)) is not None:
        return "control_character", f"{where}: text holds the control character " \
                                    f"U+{ord(bad.group()):04X} at character {bad.start()}"
    if len(text) > limit:
        return "text_too_long", f"{where}: {len(text)} characters, more than the {limit} allowed"
    return None


def _number_problem(value: Any, where: str) -> Problem | None:
    kind = type(value)
    if kind is float and not isfinite(value):
        return "number_out_of_range", f"{where}: {value!r} is not a finite number"
    if kind is int and not INT_MIN <= value <= INT_MAX:
        digits = len(str(abs(value)))
        return "number_out_of_range", f"{where}: an integer of {digits} digits is beyond " \
                                      f"PostgreSQL's bigint"
    return None


def _walk(value: Any, field: str | None, where: str, depth: int) -> Problem | None:
    kind = type(value)
    if kind is str:
        return _text_problem(value, text_limit(field), where)
    if kind is dict or kind is list:
        if depth > MAX_DEPTH:
            return "too_deep", f"{where or 'record'}: nested deeper than {MAX_DEPTH} levels"
        prefix = f"{where}." if where else ""
        if kind is list:
            for at, item in enumerate(value):
                if (problem := _walk(item, field, f"{prefix}{at}", depth + 1)) is not None:
                    return problem
            return None
        for key, item in value.items():
            name = f"{prefix}{_printable(key)}"
            if (problem := _text_problem(key, MAX_KEY_LENGTH, f"{name} (key)")) is not None:
                return problem
            if (problem := _walk(item, key, name, depth + 1)) is not None:
                return problem
        return None
    if kind is float or kind is int:
        return _number_problem(value, where or "record")
    return None  # bool, None, or a subclass json never makes


def _printable(key: str) -> str:
    """A key as it may appear in a reason: escaped, at most 40 characters."""
    head = key[:40]
    text = head if head.isprintable() else ascii(head)
    return text if len(key) <= 40 else f"{text}..."


def screen(record: Any) -> Problem | None:
    """``(reason_code, reason)`` of the first thing in ``record`` that cannot be stored (see the
    module's table), in document order; None when it can. A record that is a bare string or
    number is screened as a value. The reason names the field, never quotes the value."""
    if type(record) is dict:
        # The common flat record, inline: no nesting, every key and value printable and short.
        for key, item in record.items():
            kind = type(item)
            if kind is str:
                if not (len(item) <= DEFAULT_TEXT_LIMIT and item.isprintable()):
                    break
            elif kind is float:
                if not isfinite(item):
                    break
            elif kind is int:
                if not INT_MIN <= item <= INT_MAX:
                    break
            elif kind is dict or kind is list:
                break
            if not (len(key) <= MAX_KEY_LENGTH and key.isprintable()):
                break
        else:
            return None
    return _walk(record, None, "", 1)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_NO_PROBLEM = frozenset({bool, type(None)})


def _clean_values(values: tuple | list) -> bool:
    """Whether none of ``values`` (any types) can have a problem, in C-level passes: no nested
    value, every string short and printable, the float sum finite (so each float is), every
    integer within bigint. True is exact; False only means "look closer"."""
    types = list(map(type, values))
    if not _SCALARS.issuperset(types):
        return False
    texts = list(compress(values, map(is_, types, repeat(str))))
    if texts and (max(map(len, texts)) > DEFAULT_TEXT_LIMIT or not "".join(texts).isprintable()):
        return False
    if not isfinite(sum(compress(values, map(is_, types, repeat(float))))):
        return False
    integers = list(compress(values, map(is_, types, repeat(int))))
    return not integers or (min(integers) >= INT_MIN and max(integers) <= INT_MAX)


def _clean_dicts(records: list[dict]) -> bool:
    """Whether none of ``records`` (all dicts) can have a problem: every key short and
    printable, then the values column by column when the records have as many keys (a
    column of a feed's records is one field, and a column of text one ``join``), else all at
    once. A column may mix fields: every value is still checked against the strictest rule.
    True is exact; False only means "look at each record"."""
    keys = set(chain.from_iterable(records))
    if not all(len(key) <= MAX_KEY_LENGTH and key.isprintable() for key in keys):
        return False
    try:
        columns = list(zip(*map(dict.values, records), strict=True))
    except ValueError:  # records of different lengths: all values at once
        return _clean_values(list(chain.from_iterable(map(dict.values, records))))
    for column in columns:  # a feed's records have the same keys in the same order
        try:
            text = "".join(column)
        except TypeError:  # not all text
            kinds = set(map(type, column))
            if kinds == {int}:
                if not INT_MIN <= min(column) <= max(column) <= INT_MAX:
                    return False
            elif kinds == {float}:
                if not isfinite(sum(column)):
                    return False
            elif not (kinds <= _NO_PROBLEM or _clean_values(column)):
                return False
        else:
            if not text.isprintable() or (len(text) > DEFAULT_TEXT_LIMIT
                                          and max(map(len, column)) > DEFAULT_TEXT_LIMIT):
                return False
    return True


#: Records cleared together by :func:`_clean_dicts`: small enough that a block's values stay in
#: the CPU caches between its passes (256 measured about twice as fast per record as 10 000),
#: and a bad record costs a record-by-record walk of its block only.
BLOCK = 256


def screen_many(records: list) -> dict[int, Problem]:
    """:func:`screen` of each of ``records``: ``{index: problem}`` of those with one. Blocks
    of :data:`BLOCK` clean flat records are cleared in a few C-level passes (see
    :func:`_clean_dicts`); only a block where those see something is screened record by
    record."""
    problems: dict[int, Problem] = {}
    for start in range(0, len(records), BLOCK):
        block = records[start:start + BLOCK]
        if set(map(type, block)) == {dict} and _clean_dicts(block):
            continue
        for at, record in enumerate(block, start):
            if (problem := screen(record)) is not None:
                problems[at] = problem
    return problems


# --- the quarantine's form of a record -----------------------------------------------------

def record_digest(record: Any) -> str:
    """The identity of a raw record in the quarantine: SHA-256 (hex) of its canonical JSON,
    keys sorted, no spaces, non-ASCII as ``\\uXXXX`` (so lone surrogates encode), NaN and
    Infinity as Python's json writes them. Taken of the ORIGINAL record, before secrets are
    stripped or anything is cut, so two records that differ only past a cut stay apart."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _escape(text: str) -> str:
    """NUL and lone surrogates as visible ``\\uXXXX`` text (JSONB and UTF-8 reject them)."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _stored_text(text: str, mask: Callable[[str], str]) -> str:
    text = mask(text)
    if len(text) > STORED_TEXT_LIMIT:
        text = f"{text[:STORED_TEXT_LIMIT]}...[cut: {len(text)} characters]"
    return _escape(text) if _UNSTORABLE.search(text) else text


def _stored(value: Any, depth: int, mask: Callable[[str], str]) -> Any:
    kind = type(value)
    if kind is str:
        return _stored_text(value, mask)
    if kind is float and not isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf': JSON has no such numbers
    if kind is dict or kind is list:
        if depth > MAX_DEPTH:
            return f"[nested deeper than {MAX_DEPTH} levels: left out]"
        if kind is list:
            return [_stored(item, depth + 1, mask) for item in value]
        return {_stored_text(key, mask): _stored(item, depth + 1, mask)
                for key, item in value.items()}
    return value


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def storable(record: Any, mask: Callable[[str], str] = lambda text: text) -> tuple[Any, int]:
    """``(form, original size)``: a form of ``record`` that JSONB accepts, and the size of the
    original's canonical JSON (characters) so that what was cut is known.

    - ``mask`` is applied to every key and string first (the caller masks secrets there, before
      anything is cut);
    - NUL and lone surrogates become the visible text ``\\u0000`` / ``\\udXXX``;
    - a string over :data:`STORED_TEXT_LIMIT` characters keeps its start and ends with
      ``...[cut: N characters]``;
    - NaN and +-Infinity become the strings ``'nan'``, ``'inf'``, ``'-inf'``;
    - what is nested deeper than :data:`MAX_DEPTH` becomes a note;
    - if the whole form is still over :data:`STORED_RECORD_LIMIT` characters of JSON, an object
      keeps its smallest top-level entries that fit (so short fields such as keys and tags
      survive) and lists the others' names under ``"_left_out"``; anything else becomes a note
      of its size.
    """
    original = len(json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=True))
    form = _stored(record, 1, mask)
    if original <= STORED_RECORD_LIMIT or _size(form) <= STORED_RECORD_LIMIT:
        return form, original
    if type(form) is not dict:
        return f"[a {type(record).__name__} of {original} characters: left out]", original
    sizes = sorted(((_size({key: value}), key) for key, value in form.items()))
    kept: dict[str, Any] = {}
    budget = STORED_RECORD_LIMIT // 2  # room for the names of what is left out
    for size, key in sizes:
        if size > budget:
            break
        kept[key] = form[key]
        budget -= size
    left_out = [key[:100] for key in form if key not in kept]
    kept["_left_out"] = left_out[:200]
    return kept, original
