"""Structured output helpers: JSON extraction, response formats for a pydantic schema, typed results."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class StructuredResult(Generic[T]):
    """The outcome of a structured call. Never raised: ``ok`` says whether ``value`` is valid.

    Attributes:
        ok: True when ``value`` validated against the schema.
        value: The validated object, or None on failure.
        raw: The model's raw text of the last attempt (kept on failure for inspection).
        error: What was wrong with the last attempt (None when ok).
        attempts: Model calls made (1, or 2 after a repair).
    """

    ok: bool
    value: T | None
    raw: str
    error: str | None = None
    attempts: int = 1


def extract_json(text: str) -> Any:
    """Parse the first JSON object or array in ``text``.

    Tolerates ```json fences, leading prose, trailing chatter and raw newlines inside strings (llama.cpp's
    grammar lets them through). As a last resort a reply cut off by ``max_tokens`` is closed: the unfinished
    string is dropped and open brackets are closed (see :func:`close_truncated_json`). Raises ``ValueError``
    when there is no JSON at all.
    """
    candidates: list[str] = [m.group(1) for m in _FENCE.finditer(text)]
    candidates.append(text)
    decoder = json.JSONDecoder(strict=False)
    for cand in candidates:
        cand = cand.strip()
        try:
            return decoder.decode(cand)
        except ValueError:
            pass
        first = min((i for i in (cand.find("{"), cand.find("[")) if i >= 0), default=-1)
        if first >= 0:
            try:
                return decoder.raw_decode(cand, first)[0]
            except ValueError:
                closed = close_truncated_json(cand[first:])
                if closed is not None:
                    try:
                        return decoder.decode(closed)
                    except ValueError:
                        pass
        for i, ch in enumerate(cand):
            if ch in "{[":
                try:
                    value, _ = decoder.raw_decode(cand, i)
                    return value
                except ValueError:
                    continue
    raise ValueError("no JSON object found in the reply")


def close_truncated_json(text: str) -> str | None:
    """Close JSON that was cut off mid-way (``finish_reason == "length"``).

    Everything after the last complete element (the last ``,`` or opening bracket at any depth) is dropped,
    except a finished string at the end of an array; then every open bracket is closed. Returns None when the
    text is already balanced or is not JSON-like.
    """
    stack: list[str] = []
    in_str = False
    esc = False
    last_safe = 0
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
            last_safe = i + 1
        elif ch in "}]":
            if not stack or stack[-1] != ch:
                return None
            stack.pop()
            last_safe = i + 1
            if not stack:
                return None  # balanced: nothing to close
        elif ch == ",":
            last_safe = i
    if not stack:
        return None
    body = text[:last_safe]
    tail = text.rstrip()
    if not in_str and stack[-1] == "]" and tail.endswith('"') and len(tail) > last_safe:
        body = tail
    return body.rstrip().rstrip(",") + "".join(reversed(stack))


def parse_structured(schema: type[T], text: str) -> tuple[T | None, str | None]:
    """Validate model text against ``schema``. Returns ``(value, None)`` or ``(None, error message)``."""
    try:
        data = extract_json(text)
    except ValueError as exc:
        return None, str(exc)
    try:
        return schema.model_validate(data), None
    except ValidationError as exc:
        parts = []
        for e in exc.errors()[:8]:
            loc = ".".join(str(p) for p in e["loc"]) or "(root)"
            parts.append(f"{loc}: {e['msg']}")
        return None, "; ".join(parts)


def schema_instruction(schema: type[BaseModel]) -> str:
    """A system-prompt line asking for JSON that matches ``schema`` (helps models without constraints)."""
    js = json.dumps(schema.model_json_schema(), separators=(",", ":"))
    return f"Reply with only one JSON object (no prose, no code fences) that matches this JSON schema: {js}"


def json_schema_format(schema: type[BaseModel]) -> dict[str, Any]:
    """OpenAI ``response_format`` of type ``json_schema`` for ``schema``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False},
    }


def repair_message(error: str) -> dict[str, Any]:
    """The user message appended for the single repair attempt."""
    return {
        "role": "user",
        "content": f"Your reply was not valid: {error}. Reply again with only the corrected JSON object.",
    }
