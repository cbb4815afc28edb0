"""The explanation of a proposal, as JSON text: the article's minimum records cut to one SKU unit.

:func:`~.minimums.apply_production_minimums` records every step of an article; each proposal's
``explanation`` keeps only the records that concern its SKU unit (:func:`steps_json_by_sku`).
The records shared by the SKU units are encoded once per article, so the text of a catalogue
is built without a JSON encode per row; :func:`steps_by_sku` is the same cut as Python objects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from supplybrain_pipelines.logic.planning.bundles import SingleKey

#: Compact JSON, as the explanation column stores it (JSONB keeps it parsed).
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def encode_json(value: object) -> str:
    """``value`` as compact JSON text (no spaces; non-ASCII escaped)."""
    return _encode(value)


def _key(line: dict) -> SingleKey:
    """The SKU unit of an ``added`` or ``would_produce`` line."""
    return SingleKey(line["article_id"], line["color_id"], line["size_id"])


def _with(base: str, name: str, line: dict | None) -> str:
    """A record encoded without its list ``name`` (``base``, an object's text), with that list
    holding only ``line`` (or nothing)."""
    own = "[]" if line is None else f"[{_encode(line)}]"
    return f'{base[:-1]},"{name}":{own}}}'


def steps_json_by_sku(steps: Sequence[dict], keys: Sequence[SingleKey]) -> dict[SingleKey, str]:
    """Per SKU unit, the records of :func:`~.minimums.apply_production_minimums` that concern
    it, in order, as the JSON text of their list's items ("" when none; "[" + text + "]" is the
    list).

    Every SKU unit gets the "input" and "output" records (the article's totals), the
    "fabric_min" record of its own Pantone group (the record whose ``color_ids`` hold its
    colour), the article's "elastic_min" record, the "minimum_cover" record and the
    "pack_multiple" record of its own rounding. In the fabric and elastic records ``added``
    keeps only the SKU unit's own line (empty when the step added nothing to it), and in the
    cover record ``would_produce`` only its own line, so an explanation grows with the SKU
    unit's own steps, not with the size of its article. A record of any other kind goes to
    every SKU unit. Example: two SKU units of one group, fabric minimum 40, quantities 5 and 7
    → each gets ``{"step":"fabric_min",…,"added":[<its own line>]}``.
    """
    result: dict[SingleKey, list[str]] = {SingleKey(*key): [] for key in keys}
    by_color: dict[int, list[SingleKey]] = {}
    for key in result:
        by_color.setdefault(key.color_id, []).append(key)
    for record in steps:
        step = record.get("step")
        if step == "pack_multiple":
            text = _encode(record)
            for line in record.get("added", []):
                key = _key(line)
                if key in result:
                    result[key].append(text)
            continue
        if step in ("minimum_cover", "fabric_min", "elastic_min"):
            name = "would_produce" if step == "minimum_cover" else "added"
            base = _encode({field: value for field, value in record.items() if field != name})
            lines = {_key(line): line for line in record.get(name, [])}
            if step == "fabric_min":
                members = [key for color in record.get("color_ids", ())
                           for key in by_color.get(color, ())]
            else:
                members = list(result)
            for key in members:
                result[key].append(_with(base, name, lines.get(key)))
            continue
        text = _encode(record)
        for own in result.values():
            own.append(text)
    return {key: ",".join(own) for key, own in result.items()}


def steps_by_sku(steps: Sequence[dict], keys: Sequence[SingleKey]) -> dict[SingleKey, list[dict]]:
    """:func:`steps_json_by_sku` as Python objects: per SKU unit, the list of its records."""
    return {key: json.loads(f"[{text}]")
            for key, text in steps_json_by_sku(steps, keys).items()}
