"""Turn parsed rows into table rows: natural keys become ids through lookups. Pure: the lookups
are plain dicts (``load.fetch_lookups`` reads them from the database), keyed by tuples of the
natural-key values, e.g. ``lookups["sku_unit"][("TR-100", "BLK", "M")] -> 7``.

Orders resolve as the ingestion maps them (``assets/unified.py``): a barcode maps through the
WB barcode map (lowest mapping id first) to an article's bundle type in a size, or to a single
piece and its SKU unit; the barcode is the item key. A WB order named by article, colour or
bundle type, and size takes the barcode that maps to that item. A MoySklad order names a SKU
unit; its item key is ``sku:<article>:<colour>:<size>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supplybrain_pipelines.importer.parse import ParsedFile, ParsedRow, quoted
from supplybrain_pipelines.importer.report import RowError
from supplybrain_pipelines.importer.spec import Column, FileSpec, Ref

Lookups = dict[str, dict[tuple, Any]]

ORDER_COLUMNS = ("channel", "account_id", "order_id", "ordered_at", "item_key", "barcode",
                 "article_id", "bundle_type_id", "color_id", "size_id", "sku_unit_id",
                 "quantity", "price", "is_cancelled", "cancelled_at", "last_change_at")


@dataclass
class Resolved:
    """Rows for the table: values in the order of ``columns``, and each row's line."""

    columns: list[str]
    rows: list[tuple] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def unknown(lookup: str, key: tuple) -> str:
    """The sentence for a natural key that the lookup does not know."""
    v = [quoted(x) for x in key]
    if lookup == "sku_unit":
        return (f"article {v[0]} has no SKU unit in colour {v[1]} and size {v[2]}; "
                "add it to sku_units.csv")
    if lookup == "recipe":
        return f"article {v[0]} has no recipe for bundle type {v[1]}; add it to bundle_recipes.csv"
    column, file = {
        "article": ("article_code", "articles.csv"), "color": ("color_code", "colors.csv"),
        "size": ("size_label", "sizes.csv"), "bundle_type": ("bundle_type_code",
                                                             "bundle_types.csv"),
        "warehouse": ("warehouse_code", "warehouses.csv"),
        "purchase_order": ("external_ref", "purchase_orders.csv"),
        "barcode": ("barcode", "wb_barcodes.csv"),
    }[lookup]
    return f"unknown {column} {v[0]}; add it to {file}"


def _refs(refs: tuple[Ref, ...], values: dict[str, Any], lookups: Lookups
          ) -> tuple[dict[str, Any], list[str]]:
    """Ids of the references by table column, and the problems. A reference is skipped when a
    source value is empty, or when a reference on the same columns already failed."""
    ids, problems, failed = {}, [], set()
    for ref in refs:
        key = tuple(values.get(c) for c in ref.source)
        found = None
        if all(k is not None for k in key) and not failed.intersection(ref.source):
            found = lookups[ref.lookup].get(key)
            if found is None:
                problems.append(unknown(ref.lookup, key))
                failed.update(ref.source)
        if ref.db is not None:
            ids[ref.db] = found
    return ids, problems


def _order(values: dict[str, Any], lookups: Lookups) -> tuple | list[str]:
    """The ``orders`` row of one order line, or its problems."""
    channel, barcode = values["channel"], values.get("barcode")
    if barcode:
        mapped = lookups["barcode"].get((barcode,))
        if mapped is None:
            return [unknown("barcode", (barcode,))]
        article_id, bundle_type_id, color_id, size_id, sku_unit_id = mapped
        item_key = barcode
    else:
        a, c, s, b = (values.get(k) for k in ("article_code", "color_code", "size_label",
                                              "bundle_type_code"))
        refs = [Ref("article", ("article_code",), "article_id"),
                Ref("size", ("size_label",), "size_id"),
                Ref("bundle_type", ("bundle_type_code",), "bundle_type_id"),
                Ref("color", ("color_code",), "color_id")]
        refs.append(Ref("recipe", ("article_code", "bundle_type_code")) if b else
                    Ref("sku_unit", ("article_code", "color_code", "size_label"), "sku_unit_id"))
        ids, problems = _refs(tuple(refs), values, lookups)
        if problems:
            return problems
        article_id, bundle_type_id, color_id, size_id = (
            ids[k] for k in ("article_id", "bundle_type_id", "color_id", "size_id"))
        sku_unit_id = ids.get("sku_unit_id")
        if channel == "wb":
            barcode = lookups["barcode_by_item"].get((a, b or "", c or "", s))
            if barcode is None:
                item = f"bundle type {quoted(b)}" if b else f"colour {quoted(c)}"
                return [f"no WB barcode maps to article {quoted(a)}, {item}, size {quoted(s)}; "
                        "add one to wb_barcodes.csv or give the barcode"]
            item_key = barcode
        else:
            item_key = f"sku:{a}:{c}:{s}"
    cancelled_at = values.get("cancelled_at")
    is_cancelled = values.get("is_cancelled")
    if is_cancelled is None:
        is_cancelled = cancelled_at is not None
    ordered_at = values["ordered_at"]
    return (channel, values["account_id"], values["order_id"], ordered_at, item_key, barcode,
            article_id, bundle_type_id, color_id, size_id, sku_unit_id, values["quantity"],
            values.get("price"), is_cancelled, cancelled_at, max(ordered_at, cancelled_at or
                                                                 ordered_at))


def table_columns(spec: FileSpec, present: list[Column]) -> list[str]:
    """The table columns a file fills, given the spec's columns its header has."""
    if spec.write == "orders":
        return list(ORDER_COLUMNS)
    return [*(r.db for r in spec.refs if r.db is not None),
            *(c.db for c in present if c.db is not None)]


def resolve_rows(spec: FileSpec, present: list[Column], rows: list[ParsedRow],
                 lookups: Lookups) -> tuple[Resolved, list[RowError]]:
    """The table rows of valid parsed rows (any number of them: a chunk of a large file), and
    the problems of the rows whose references are unknown."""
    errors: list[RowError] = []
    out = Resolved(table_columns(spec, present))
    if spec.write == "orders":
        for row in rows:
            result = _order(row.values, lookups)
            if isinstance(result, list):
                errors += [RowError(spec.file, row.line, p) for p in result]
            else:
                out.rows.append(result)
                out.lines.append(row.line)
        return out, errors
    value_columns = [c for c in present if c.db is not None]
    ref_columns = [r.db for r in spec.refs if r.db is not None]
    for row in rows:
        ids, problems = _refs(spec.refs, row.values, lookups)
        if problems:
            errors += [RowError(spec.file, row.line, p) for p in problems]
            continue
        out.rows.append((*(ids[c] for c in ref_columns),
                         *(row.values[c.name] for c in value_columns)))
        out.lines.append(row.line)
    return out, errors


def resolve(parsed: ParsedFile, lookups: Lookups) -> tuple[Resolved, list[RowError]]:
    """The table rows of a parsed file (which must have no errors), and unresolved references."""
    return resolve_rows(parsed.spec, parsed.present, parsed.rows, lookups)
