"""Parse model output into typed actions. Nothing is ever executed: code is *read* with :mod:`ast`.

Three input forms:

* OSWorld's ``pyautogui`` code-string action space (:func:`parse_pyautogui`): Python source with one or
  more statements (lines or ``;``), optionally inside a ```` ```python ```` fence, made only of
  ``import pyautogui`` / ``import time`` (ignored) and calls of an allowlist of ``pyautogui`` functions and
  ``time.sleep`` whose arguments are literals (numbers, strings, bools, None, lists/tuples of those, unary
  minus). The whole input may instead be one of OSWorld's special strings ``WAIT``, ``DONE``, ``FAIL``.
* OSWorld ``computer_13`` JSON actions (:func:`parse_computer13`).
* Our own ``{"kind": ...}`` dicts (:func:`envs.actions.action_from_dict`), via :func:`parse_action_text`.

Anything else raises :class:`~envs.errors.ActionError` naming what was refused and on which line.

This module is the public surface (every name below is importable from here); the work is done in:

=================================  ===========================================================================
``envs.action_values``             limits, pyautogui's key names, the value checks, :func:`validate_action`
``envs.action_pyautogui``          reading a code string with :mod:`ast`: statements, literal arguments
``envs.action_pyautogui_calls``    what each allowlisted call means as typed actions (pointer tracking)
``envs.action_computer13``         OSWorld ``computer_13`` JSON actions
=================================  ===========================================================================

Within one code string the parser tracks where the pointer is (after ``moveTo``, ``click(x, y)``, ...), so
``moveTo(a, b); dragTo(c, d)`` becomes one :class:`~envs.actions.Drag` from (a, b) and ``moveRel`` after a
known position becomes an absolute :class:`~envs.actions.Move`. Without a known position ``dragTo`` starts at
the pointer (``Drag(x1=None, y1=None, ...)``) and ``moveRel``/``dragRel`` stay relative.

The inverse, :func:`envs.action_code.to_pyautogui`, stores actions as OSWorld strings. Element clicks are not
pyautogui: ``ClickElement`` becomes ``pyautogui.click(x, y)  # click_element(12)`` when the element's centre
is given, else the marker comment ``# click_element(12)``, which :func:`parse_pyautogui` (and only it) reads
back as a ``ClickElement`` when it stands on its own line. ``Done``/``Fail`` become ``DONE``/``FAIL`` and
must stand alone.
"""

from __future__ import annotations

import json
from typing import Any

from envs.action_computer13 import C13_DRAG_DURATION, parse_computer13, parse_computer13_actions
from envs.action_pyautogui import ALLOWED_FUNCTIONS, parse_pyautogui, strip_fence
from envs.action_values import (
    KEYBOARD_KEYS,
    MAX_ACTIONS,
    MAX_CLICKS,
    MAX_COORD,
    MAX_DURATION,
    MAX_HOTKEY_KEYS,
    MAX_INTERVAL,
    MAX_LIST_ITEMS,
    MAX_PRESSES,
    MAX_SCROLL,
    MAX_SECONDS,
    MAX_SOURCE_CHARS,
    MAX_STRING_CHARS,
    SPECIAL_STRINGS,
    check_source,
    normalize_key,
    validate_action,
)
from envs.actions import Action, action_from_dict
from envs.errors import ActionError

__all__ = [
    "ALLOWED_FUNCTIONS",
    "C13_DRAG_DURATION",
    "KEYBOARD_KEYS",
    "MAX_ACTIONS",
    "MAX_CLICKS",
    "MAX_COORD",
    "MAX_DURATION",
    "MAX_HOTKEY_KEYS",
    "MAX_INTERVAL",
    "MAX_LIST_ITEMS",
    "MAX_PRESSES",
    "MAX_SCROLL",
    "MAX_SECONDS",
    "MAX_SOURCE_CHARS",
    "MAX_STRING_CHARS",
    "SPECIAL_STRINGS",
    "normalize_key",
    "parse_action_text",
    "parse_actions_text",
    "parse_computer13",
    "parse_computer13_actions",
    "parse_pyautogui",
    "strip_fence",
    "validate_action",
]


def _from_json_obj(obj: Any) -> list[Action]:
    if isinstance(obj, dict) and "action_type" in obj:
        return parse_computer13_actions(obj)
    if isinstance(obj, dict) and "kind" in obj:
        return [validate_action(action_from_dict(obj))]
    raise ActionError(
        "a JSON action must be an object with 'action_type' (OSWorld computer_13) or 'kind' "
        f"(studio action), got {json.dumps(obj)[:80]}"
    )


def parse_action_text(text: str) -> list[Action]:
    """Parse any supported action text: a JSON object (or list of objects), else pyautogui code.

    JSON objects with ``action_type`` are OSWorld ``computer_13`` actions; with ``kind`` they are studio
    action dicts (:func:`envs.actions.action_to_dict`). Everything else goes to :func:`parse_pyautogui`.

    Raises:
        ActionError: the text is not an allowed action (the message says what was refused).
    """
    check_source(text, "action text")
    body, _ = strip_fence(text)
    stripped = body.strip()
    if stripped.startswith(("{", "[")):
        try:
            obj = json.loads(stripped)
        except (json.JSONDecodeError, RecursionError) as exc:
            if stripped.startswith("{"):
                raise ActionError(f"action looks like JSON but does not parse: {exc}") from None
            obj = None  # a '[' may start Python too (unlikely); fall through to the pyautogui parser
        if obj is not None:
            if isinstance(obj, list):
                if not obj:
                    raise ActionError("empty JSON list: no action")
                if len(obj) > MAX_ACTIONS:
                    raise ActionError(f"more than {MAX_ACTIONS} actions in one JSON list")
                return [a for item in obj for a in _from_json_obj(item)]
            return _from_json_obj(obj)
    return parse_pyautogui(text)


def parse_actions_text(text: str, source: str = "<actions>") -> list[tuple[int, list[Action]]]:
    """Parse an actions file: one pyautogui code-string action per line (``#`` comments, blank lines skipped).

    Returns (line number, typed actions) per action line.

    Raises:
        ActionError: the first bad line, with its file and line number and why it was refused.
    """
    out: list[tuple[int, list[Action]]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            parsed: Any = parse_pyautogui(line)
        except ActionError as exc:
            raise ActionError(f"{source} line {n}: {exc}") from exc
        actions = list(parsed) if isinstance(parsed, (list, tuple)) else [parsed]
        out.append((n, actions))
    return out
