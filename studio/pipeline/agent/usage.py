"""Model use of a decision: the keys summed per task, and how a model call's result becomes them.

Its own module (no imports) so policies, their wrappers and the factory that builds them all use it without an
import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["USAGE_KEYS", "add_usage", "usage_of"]

#: Keys of a decision's ``usage`` that are summed per task (``Decision.usage``).
USAGE_KEYS: tuple[str, ...] = ("model_calls", "prompt_tokens", "completion_tokens", "cost", "cache_hits")


def usage_of(result: Any) -> dict[str, Any]:
    """A model call's usage (:data:`USAGE_KEYS` + ``model``) from a ``ModelClient`` result."""
    return {
        "model_calls": 1,
        "prompt_tokens": int(result.prompt_tokens),
        "completion_tokens": int(result.completion_tokens),
        "cost": float(result.cost),
        "cache_hits": int(result.cache_hit),
        "model": result.model,
    }


def add_usage(total: dict[str, Any], usage: Mapping[str, Any]) -> dict[str, Any]:
    """Sum the :data:`USAGE_KEYS` of ``usage`` into ``total`` (in place) and return it."""
    for key in USAGE_KEYS:
        value = usage.get(key)
        if isinstance(value, bool):
            total[key] = total.get(key, 0) + int(value)
        elif isinstance(value, int | float):
            total[key] = total.get(key, 0) + value
    return total
