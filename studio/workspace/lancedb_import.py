"""Import LanceDB about 0.6 s faster (of ~1.8 s on this machine): with pydantic's ``defer_build`` on.

LanceDB imports its namespace REST client, ~150 pydantic models and ~370 ``@validate_call`` methods whose
validators pydantic builds at import time, though a local workspace never calls them. ``defer_build`` is
pydantic's own switch to build a validator on first use instead; here it is the default only while LanceDB is
imported, then restored. If pydantic's defaults move, this is a plain import.

Every first import of LanceDB in the studio goes through :func:`import_lancedb` (the workspace, the GUI's
pre-import); later ``import lancedb`` statements find the module already loaded.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Any, cast

_lock = threading.Lock()  # guards the switch only, never held during the import
_depth = 0
_saved: Any = None


def _pydantic_defaults() -> dict[str, Any] | None:
    try:
        from pydantic._internal import _config

        defaults = _config.config_defaults
    except (ImportError, AttributeError):
        return None
    return cast("dict[str, Any]", defaults) if isinstance(defaults, dict) and "defer_build" in defaults else None


def _defer(defaults: dict[str, Any], on: bool) -> None:
    """Turn deferral on (nested, from several threads at once) or back off when the last one is done."""
    global _depth, _saved
    with _lock:
        if on:
            if _depth == 0:
                _saved = defaults["defer_build"]
                defaults["defer_build"] = True
            _depth += 1
        else:
            _depth -= 1
            if _depth == 0:
                defaults["defer_build"] = _saved


def import_lancedb() -> ModuleType:
    """``lancedb``, imported with pydantic validators deferred (see the module docstring).

    The import itself is a plain ``import`` statement, so a thread that asks while another one is importing
    waits for the finished module (Python's module locks), as with any import.
    """
    defaults = None if "lancedb" in sys.modules else _pydantic_defaults()
    if defaults is None:
        import lancedb

        return lancedb
    _defer(defaults, True)
    try:
        import lancedb
    finally:
        _defer(defaults, False)
    return lancedb
