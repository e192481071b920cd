"""Parse OSWorld ``computer_13`` JSON actions (``{"action_type": ..., "parameters": {...}}``) into typed actions."""

from __future__ import annotations

from typing import Any

from envs.action_values import (
    MAX_CLICKS,
    MAX_HOTKEY_KEYS,
    MAX_SCROLL,
    SPECIAL_STRINGS,
    Refused,
    check_button,
    check_int,
    check_key,
    check_point,
    check_text,
)
from envs.actions import Action, Click, Drag, Hotkey, Key, KeyDown, KeyUp, MouseDown, MouseUp, Move, Scroll, TypeText
from envs.errors import ActionError

_C13_PARAMS: dict[str, tuple[str, ...]] = {
    "MOVE_TO": ("x", "y"),
    "CLICK": ("button", "x", "y", "num_clicks"),
    "MOUSE_DOWN": ("button", "x", "y"),
    "MOUSE_UP": ("button", "x", "y"),
    "RIGHT_CLICK": ("x", "y"),
    "DOUBLE_CLICK": ("x", "y"),
    "DRAG_TO": ("x", "y"),
    "SCROLL": ("dx", "dy"),
    "TYPING": ("text",),
    "PRESS": ("key",),
    "KEY_DOWN": ("key",),
    "KEY_UP": ("key",),
    "HOTKEY": ("keys",),
    "WAIT": (),
    "FAIL": (),
    "DONE": (),
}
C13_DRAG_DURATION = 1.0  # OSWorld's controller drags with duration=1.0


def parse_computer13_actions(obj: Any) -> list[Action]:
    """Parse one OSWorld ``computer_13`` action; SCROLL with both ``dx`` and ``dy`` gives two actions.

    Raises:
        ActionError: unknown action_type, unknown/missing parameters, or bad values.
    """
    if not isinstance(obj, dict):
        raise ActionError(f"a computer_13 action must be a JSON object, got {type(obj).__name__}")
    extra = set(obj) - {"action_type", "parameters"}
    if extra:
        raise ActionError(f"computer_13 action has unknown fields {sorted(extra)} (allowed: action_type, parameters)")
    atype = obj.get("action_type")
    if not isinstance(atype, str) or atype.upper() not in _C13_PARAMS:
        raise ActionError(f"unknown computer_13 action_type {atype!r}; expected one of {sorted(_C13_PARAMS)}")
    atype = atype.upper()
    params = obj.get("parameters") or {}
    if not isinstance(params, dict):
        raise ActionError(f"computer_13 {atype}: parameters must be an object, got {type(params).__name__}")
    unknown = set(params) - set(_C13_PARAMS[atype])
    if unknown:
        raise ActionError(
            f"computer_13 {atype}: unknown parameters {sorted(unknown)} "
            f"(allowed: {', '.join(_C13_PARAMS[atype]) or 'none'})"
        )
    try:
        return _c13(atype, params)
    except Refused as exc:
        raise ActionError(f"computer_13 {atype}: {exc.reason}") from None


def _c13(atype: str, p: dict[str, Any]) -> list[Action]:
    if atype in SPECIAL_STRINGS:
        return [SPECIAL_STRINGS[atype]()]
    if atype == "MOVE_TO":
        x, y = check_point(p, required=True, fname="MOVE_TO")
        assert x is not None and y is not None
        return [Move(x, y)]
    if atype in ("CLICK", "RIGHT_CLICK", "DOUBLE_CLICK"):
        x, y = check_point(p, fname=atype)
        button = "right" if atype == "RIGHT_CLICK" else check_button(p.get("button") or "left")
        clicks = (
            2
            if atype == "DOUBLE_CLICK"
            else (check_int(p["num_clicks"], "num_clicks", 1, MAX_CLICKS) if p.get("num_clicks") is not None else 1)
        )
        return [Click(x, y, button=button, clicks=clicks)]  # type: ignore[arg-type]
    if atype in ("MOUSE_DOWN", "MOUSE_UP"):
        x, y = check_point(p, fname=atype)
        cls = MouseDown if atype == "MOUSE_DOWN" else MouseUp
        return [cls(x, y, button=check_button(p.get("button") or "left"))]  # type: ignore[arg-type]
    if atype == "DRAG_TO":
        x, y = check_point(p, required=True, fname="DRAG_TO")
        assert x is not None and y is not None
        return [Drag(None, None, x, y, duration=C13_DRAG_DURATION)]
    if atype == "SCROLL":
        if "dx" not in p and "dy" not in p:
            raise Refused("SCROLL needs dx and/or dy (wheel notches)")
        out: list[Action] = []
        if p.get("dx"):
            out.append(Scroll(check_int(p["dx"], "dx", -MAX_SCROLL, MAX_SCROLL), horizontal=True))
        if p.get("dy") or not out:
            out.append(Scroll(check_int(p.get("dy", 0), "dy", -MAX_SCROLL, MAX_SCROLL)))
        return out
    if atype == "TYPING":
        if "text" not in p:
            raise Refused("TYPING needs text")
        return [TypeText(check_text(p["text"]))]
    if atype in ("PRESS", "KEY_DOWN", "KEY_UP"):
        if "key" not in p:
            raise Refused(f"{atype} needs key")
        k = check_key(p["key"])
        return [{"PRESS": Key, "KEY_DOWN": KeyDown, "KEY_UP": KeyUp}[atype](k)]
    if atype == "HOTKEY":
        keys = p.get("keys")
        if not isinstance(keys, list) or not keys:
            raise Refused("HOTKEY needs keys: a non-empty list of key names")
        if len(keys) > MAX_HOTKEY_KEYS:
            raise Refused(f"HOTKEY with {len(keys)} keys (the limit is {MAX_HOTKEY_KEYS})")
        return [Hotkey(tuple(check_key(k) for k in keys))]
    raise Refused(f"unsupported action_type {atype}")  # pragma: no cover


def parse_computer13(obj: dict[str, Any]) -> Action:
    """Parse one OSWorld ``computer_13`` JSON action (``{"action_type": ..., "parameters": {...}}``).

    Raises:
        ActionError: as :func:`parse_computer13_actions`, or SCROLL with both dx and dy (two actions: use
            :func:`parse_computer13_actions`).
    """
    out = parse_computer13_actions(obj)
    if len(out) != 1:
        raise ActionError(
            "computer_13 SCROLL with both dx and dy is two actions; use "
            "parse_computer13_actions or send them as two SCROLL actions"
        )
    return out[0]
