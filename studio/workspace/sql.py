"""SQL filters for LanceDB queries, quoted in one place (values never reach a filter unquoted)."""

from __future__ import annotations

from typing import Any


def quote(value: object) -> str:
    """A SQL string literal: ``'it''s'``."""
    return "'" + str(value).replace("'", "''") + "'"


def where_eq(**eq: Any) -> str | None:
    """SQL filter for equality on columns (None values are skipped); column names are backquoted."""
    parts = []
    for col, val in eq.items():
        if val is None:
            continue
        if isinstance(val, bool):
            parts.append(f"`{col}` = {'true' if val else 'false'}")
        elif isinstance(val, int | float):
            parts.append(f"`{col}` = {val}")
        elif isinstance(val, list | tuple | set):
            parts.append(f"`{col}` IN ({', '.join(quote(v) for v in val) or quote('')})")
        else:
            parts.append(f"`{col}` = {quote(val)}")
    return " AND ".join(parts) or None


def and_(*filters: str | None) -> str | None:
    """The filters joined with AND (None ones skipped); None when there is none."""
    parts = [f"({f})" for f in filters if f]
    return " AND ".join(parts) or None
