"""How records are stored: one LanceDB table per record type, JSON text for ``dict``/``list`` fields.

The storage boundary of :mod:`studio.records`: :func:`to_row` / :func:`from_row` convert between a record and
a stored row, and :func:`arrow_schema` derives each table's Arrow schema from the record's fields, so the two
never drift apart.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal, TypeVar

import pyarrow as pa

from studio.records import RECORD_TYPES, Example, Record

R = TypeVar("R", bound=Record)

#: Table name -> record type (every record type with a table: the ledger is a JSONL file, not a table).
TABLES: dict[str, type[Record]] = {cls.table: cls for cls in RECORD_TYPES if cls.table}


def to_row(record: Record) -> dict[str, Any]:
    """The row as stored: JSON fields serialized to text."""
    row = record.model_dump()
    for name in json_fields(type(record)):
        row[name] = json.dumps(row[name], ensure_ascii=False, separators=(",", ":"))
    return row


def from_row(cls: type[R], row: dict[str, Any]) -> R:
    """Build a record from a stored row (ignores LanceDB's ``_score``/``_distance`` columns)."""
    data = {k: v for k, v in row.items() if k in cls.model_fields}
    for name in json_fields(cls):
        if isinstance(data.get(name), str):
            data[name] = (
                json.loads(data[name]) if data[name] else cls.model_fields[name].get_default(call_default_factory=True)
            )
    return cls.model_validate(data)


def _arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """(arrow type, is_json) for a field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _arrow_type(args[0])
    if origin is Literal:
        return pa.string(), False
    if origin in (list, dict) or annotation in (list, dict):
        return pa.string(), True
    mapping = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    if annotation in mapping:
        return mapping[annotation], False
    raise TypeError(f"no arrow type for {annotation!r}")


def json_fields(cls: type[Record]) -> tuple[str, ...]:
    """Fields stored as JSON text (``dict`` and ``list`` fields)."""
    return tuple(n for n, f in cls.model_fields.items() if _arrow_type(f.annotation)[1])


def arrow_schema(cls: type[Record]) -> pa.Schema:
    """The table schema of a record type (every column nullable, as LanceDB appends expect)."""
    return pa.schema([pa.field(n, _arrow_type(f.annotation)[0]) for n, f in cls.model_fields.items()])


def vector_schema(dim: int) -> pa.Schema:
    """Schema of the ``example_vectors`` table: the example's columns plus its embedding."""
    return arrow_schema(Example).append(pa.field("vector", pa.list_(pa.float32(), dim)))
