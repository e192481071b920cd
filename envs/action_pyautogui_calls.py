"""What each allowlisted ``pyautogui`` call means as typed actions, with the pointer tracked across a code string.

:mod:`envs.action_pyautogui` reads the code and binds each call's literal arguments to pyautogui's parameter
names; :func:`call_to_actions` turns one bound call into typed actions. :class:`PointerState` is where the pointer
is after the earlier calls of the same code string, so ``moveTo(a, b); dragTo(c, d)`` is a drag from (a, b) and
``moveRel`` after a known position is an absolute move.
"""

from __future__ import annotations

from typing import Any

from envs.action_values import (
    MAX_CLICKS,
    MAX_DURATION,
    MAX_HOTKEY_KEYS,
    MAX_INTERVAL,
    MAX_PRESSES,
    MAX_SCROLL,
    MAX_SECONDS,
    Refused,
    check_button,
    check_int,
    check_key,
    check_point,
    check_seconds,
    check_text,
)
from envs.actions import (
    Action,
    Click,
    Drag,
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


class PointerState:
    """Pointer position known from earlier statements of the same code string (None: unknown)."""

    def __init__(self) -> None:
        self.pos: tuple[int, int] | None = None


def _keys_list(v: Any, name: str) -> list[str]:
    if isinstance(v, str):
        return [check_key(v, name)]
    if isinstance(v, list):
        if not v:
            raise Refused(f"{name} is an empty list")
        return [check_key(k, name) for k in v]
    raise Refused(f"{name} must be a key name or a list of key names, got {type(v).__name__} {v!r}")


def call_to_actions(fname: str, a: dict[str, Any], st: PointerState) -> list[Action]:  # noqa: C901 - a flat dispatch
    if fname == "time.sleep":
        if "seconds" not in a:
            raise Refused("time.sleep needs the number of seconds")
        return [Wait(check_seconds(a["seconds"], "seconds", MAX_SECONDS))]
    for name in ("duration",):
        if name in a and a[name] is not None:
            check_seconds(a[name], name, MAX_DURATION)
    if "interval" in a and a["interval"] is not None:
        check_seconds(a["interval"], "interval", MAX_INTERVAL)

    if fname in ("click", "leftClick", "rightClick", "middleClick", "doubleClick", "tripleClick"):
        x, y = check_point(a, fname=fname)
        button = {"rightClick": "right", "middleClick": "middle", "leftClick": "left"}.get(fname)
        if button is None:
            button = check_button(a["button"]) if a.get("button") is not None else "left"
        clicks = {"doubleClick": 2, "tripleClick": 3}.get(fname)
        if clicks is None:
            clicks = check_int(a["clicks"], "clicks", 1, MAX_CLICKS) if a.get("clicks") is not None else 1
        if x is not None and y is not None:
            st.pos = (x, y)
        return [Click(x, y, button=button, clicks=clicks)]  # type: ignore[arg-type]
    if fname == "moveTo":
        x, y = check_point(a, required=True, fname=fname)
        assert x is not None and y is not None
        st.pos = (x, y)
        return [Move(x, y)]
    if fname in ("moveRel", "move"):
        dx, dy = check_point(a, "xOffset", "yOffset", offset=True, fname=fname)
        dx, dy = dx or 0, dy or 0
        if st.pos is not None:
            st.pos = (max(0, st.pos[0] + dx), max(0, st.pos[1] + dy))
            return [Move(*st.pos)]
        return [Move(dx, dy, relative=True)]
    if fname in ("dragTo", "dragRel", "drag"):
        rel = fname != "dragTo"
        if rel:
            x2, y2 = check_point(a, "xOffset", "yOffset", offset=True, fname=fname)
            x2, y2 = x2 or 0, y2 or 0
        else:
            x2, y2 = check_point(a, required=True, fname=fname)
            assert x2 is not None and y2 is not None
        button = check_button(a["button"]) if a.get("button") is not None else "left"
        duration = float(a.get("duration") or 0.0)
        down_up = a.get("mouseDownUp", True)
        if not isinstance(down_up, bool):
            raise Refused(f"mouseDownUp must be True or False, got {down_up!r}")
        if not down_up:  # movement only, with the button held by an earlier mouseDown
            if rel and st.pos is None:
                return [Move(x2, y2, relative=True)]
            if rel:
                assert st.pos is not None
                x2, y2 = st.pos[0] + x2, st.pos[1] + y2
            st.pos = (x2, y2)
            return [Move(x2, y2)]
        if st.pos is None:
            return [Drag(None, None, x2, y2, button=button, duration=duration, relative=rel)]  # type: ignore[arg-type]
        x1, y1 = st.pos
        if rel:
            x2, y2 = max(0, x1 + x2), max(0, y1 + y2)
        st.pos = (x2, y2)
        return [Drag(x1, y1, x2, y2, button=button, duration=duration)]  # type: ignore[arg-type]
    if fname in ("mouseDown", "mouseUp"):
        x, y = check_point(a, fname=fname)
        button = check_button(a["button"]) if a.get("button") is not None else "left"
        if x is not None and y is not None:
            st.pos = (x, y)
        cls = MouseDown if fname == "mouseDown" else MouseUp
        return [cls(x, y, button=button)]  # type: ignore[arg-type]
    if fname in ("scroll", "vscroll", "hscroll"):
        if "clicks" not in a:
            raise Refused(f"{fname} needs the number of clicks (wheel notches)")
        clicks = check_int(a["clicks"], "clicks", -MAX_SCROLL, MAX_SCROLL)
        x, y = check_point(a, fname=fname)
        if x is not None and y is not None:
            st.pos = (x, y)
        return [Scroll(clicks, x, y, horizontal=fname == "hscroll")]
    if fname in ("typewrite", "write"):
        if "message" not in a:
            raise Refused(f"{fname} needs the text to type")
        interval = float(a.get("interval") or 0.0)
        msg = a["message"]
        if isinstance(msg, list):  # a list of key names, pressed in order
            if not msg:
                raise Refused(f"{fname} got an empty list of keys")
            return [Key(check_key(k, "key")) for k in msg]
        return [TypeText(check_text(msg, "message"), interval=interval)]
    if fname == "press":
        if "keys" not in a:
            raise Refused("press needs a key name")
        keys = _keys_list(a["keys"], "keys")
        presses = check_int(a["presses"], "presses", 1, MAX_PRESSES) if a.get("presses") is not None else 1
        if len(keys) == 1:
            return [Key(keys[0], presses=presses)]
        if len(keys) * presses > MAX_PRESSES:
            raise Refused(f"press of {len(keys)} keys x {presses} presses exceeds {MAX_PRESSES} key presses")
        return [Key(k) for _ in range(presses) for k in keys]
    if fname in ("keyDown", "keyUp"):
        if "key" not in a:
            raise Refused(f"{fname} needs a key name")
        k = check_key(a["key"])
        return [KeyDown(k) if fname == "keyDown" else KeyUp(k)]
    if fname == "hotkey":
        args = a["args"]
        if len(args) == 1 and isinstance(args[0], list):
            args = args[0]
        if not args:
            raise Refused("hotkey needs at least one key")
        if len(args) > MAX_HOTKEY_KEYS:
            raise Refused(f"hotkey with {len(args)} keys (the limit is {MAX_HOTKEY_KEYS})")
        return [Hotkey(tuple(check_key(k) for k in args))]
    raise Refused(f"pyautogui.{fname} is not supported")  # pragma: no cover - the reader allows only known names
