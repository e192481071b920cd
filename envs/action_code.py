"""Typed actions -> OSWorld ``pyautogui`` code strings, the inverse of :mod:`envs.action_parser`.

Element clicks are not pyautogui: ``ClickElement`` becomes ``pyautogui.click(x, y)  # click_element(12)`` when
the element's centre is given, else the marker comment ``# click_element(12)``, which the parser (and only it)
reads back as a ``ClickElement`` when it stands on its own line. ``Done``/``Fail`` become ``DONE``/``FAIL``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from envs.actions import (
    Action,
    Click,
    ClickElement,
    Done,
    Drag,
    Fail,
    Hotkey,
    Key,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseUp,
    Move,
    Scroll,
    TypeText,
    Wait,
)
from envs.errors import ActionError

_MARKER_RE = re.compile(r"#\s*click_element\(\s*(\d+)")


def marked_element(code: str) -> int | None:
    """The element id of the ``# click_element(N)`` marker :func:`to_pyautogui` writes (on a line of its own or
    after the executable click), or None; the parser runs the click and drops the comment, this reads it back."""
    found = _MARKER_RE.search(code)
    return int(found.group(1)) if found else None


def _fmt(v: Any) -> str:
    return repr(v)


def _call(fname: str, *args: Any, **kwargs: Any) -> str:
    parts = [_fmt(a) for a in args] + [f"{k}={_fmt(v)}" for k, v in kwargs.items()]
    return f"{fname}({', '.join(parts)})"


def to_pyautogui(action: Action, *, element_xy: tuple[int, int] | None = None) -> str:
    """Render a typed action as an OSWorld pyautogui code string that the parser reads back.

    Args:
        action: the action.
        element_xy: for :class:`ClickElement`, the element's centre if known; then the string is an
            executable ``pyautogui.click(x, y)  # click_element(N)``. Without it, the marker comment
            ``# click_element(N)`` (a no-op for OSWorld, a ClickElement for our parser).

    Returns:
        The code string (``DONE``/``FAIL`` for the terminal actions; ``time.sleep(s)`` for Wait).
    """
    p = "pyautogui."
    if isinstance(action, Move):
        return _call(p + ("moveRel" if action.relative else "moveTo"), action.x, action.y)
    if isinstance(action, Click):
        kw: dict[str, Any] = {}
        if action.clicks != 1:
            kw["clicks"] = action.clicks
        if action.button != "left":
            kw["button"] = action.button
        xy = () if action.x is None else (action.x, action.y)
        return _call(p + "click", *xy, **kw)
    if isinstance(action, (MouseDown, MouseUp)):
        fname = "mouseDown" if isinstance(action, MouseDown) else "mouseUp"
        xy = () if action.x is None else (action.x, action.y)
        kw = {"button": action.button} if action.button != "left" else {}
        return _call(p + fname, *xy, **kw)
    if isinstance(action, Drag):
        kw = {}
        if action.duration:
            kw["duration"] = action.duration
        if action.button != "left":
            kw["button"] = action.button
        if action.x1 is None or action.y1 is None:
            return _call(p + ("dragRel" if action.relative else "dragTo"), action.x2, action.y2, **kw)
        x2, y2 = action.x2, action.y2
        if action.relative:
            x2, y2 = action.x1 + x2, action.y1 + y2
        return f"{_call(p + 'moveTo', action.x1, action.y1)}; {_call(p + 'dragTo', x2, y2, **kw)}"
    if isinstance(action, Scroll):
        kw = {} if action.x is None else {"x": action.x, "y": action.y}
        return _call(p + ("hscroll" if action.horizontal else "scroll"), action.clicks, **kw)
    if isinstance(action, TypeText):
        kw = {"interval": action.interval} if action.interval else {}
        return _call(p + "typewrite", action.text, **kw)
    if isinstance(action, Key):
        kw = {"presses": action.presses} if action.presses != 1 else {}
        return _call(p + "press", action.key, **kw)
    if isinstance(action, KeyDown):
        return _call(p + "keyDown", action.key)
    if isinstance(action, KeyUp):
        return _call(p + "keyUp", action.key)
    if isinstance(action, Hotkey):
        return _call(p + "hotkey", *action.keys)
    if isinstance(action, ClickElement):
        marker_args = [str(action.element_id)]
        if action.button != "left":
            marker_args.append(f"button={action.button!r}")
        if action.clicks != 1:
            marker_args.append(f"clicks={action.clicks}")
        marker = f"# click_element({', '.join(marker_args)})"
        if element_xy is None:
            return marker
        click = Click(int(element_xy[0]), int(element_xy[1]), button=action.button, clicks=action.clicks)
        return f"{to_pyautogui(click)}  {marker}"
    if isinstance(action, Wait):
        return _call("time.sleep", action.seconds)
    if isinstance(action, Done):
        return "DONE"
    if isinstance(action, Fail):
        return "FAIL"
    raise ActionError(f"cannot render {type(action).__name__} as pyautogui code")


def actions_to_pyautogui(
    actions: Sequence[Action], element_xy: Callable[[int], tuple[int, int] | None] | None = None
) -> str:
    """Render several actions, one per line. ``Done``/``Fail`` must be the only action (OSWorld's rule)."""
    if len(actions) > 1 and any(isinstance(a, (Done, Fail)) for a in actions):
        raise ActionError("DONE/FAIL must be the only action in a code string")
    lines = []
    for a in actions:
        xy = element_xy(a.element_id) if (element_xy is not None and isinstance(a, ClickElement)) else None
        lines.append(to_pyautogui(a, element_xy=xy))
    return "\n".join(lines)
