"""What an action may hold: the limits, pyautogui's key names, and the value checks every parser applies.

The parsers (:mod:`envs.action_pyautogui`, :mod:`envs.action_computer13`) and :func:`validate_action` (for
typed actions that arrive as dicts) share these checks, so one limit is written once. A check raises
:class:`Refused`; the caller turns it into an :class:`~envs.errors.ActionError` that says where (line, snippet,
action type).
"""

from __future__ import annotations

import ast
import difflib
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

# ---- limits
MAX_SOURCE_CHARS = 20_000
MAX_STRING_CHARS = 10_000
MAX_ACTIONS = 200
MAX_COORD = 10_000  # absolute coordinates 0..MAX_COORD, offsets -MAX_COORD..MAX_COORD
MAX_CLICKS = 5
MAX_PRESSES = 100
MAX_SCROLL = 1_000
MAX_HOTKEY_KEYS = 8
MAX_SECONDS = 60.0  # time.sleep / Wait
MAX_DURATION = 10.0  # drag / move duration
MAX_INTERVAL = 1.0  # typewrite interval
MAX_LIST_ITEMS = 1_000

# ---- pyautogui's KEYBOARD_KEYS (copied: importing pyautogui needs an X display)
_SINGLE_CHAR_KEYS = "\t\n\r !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
_NAMED_KEYS: tuple[str, ...] = tuple(
    """
    accept add alt altleft altright apps backspace browserback browserfavorites browserforward browserhome
    browserrefresh browsersearch browserstop capslock clear convert ctrl ctrlleft ctrlright decimal del delete
    divide down end enter esc escape execute f1 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19 f2 f20 f21 f22 f23 f24
    f3 f4 f5 f6 f7 f8 f9 final fn hanguel hangul hanja help home insert junja kana kanji launchapp1 launchapp2
    launchmail launchmediaselect left modechange multiply nexttrack nonconvert num0 num1 num2 num3 num4 num5
    num6 num7 num8 num9 numlock pagedown pageup pause pgdn pgup playpause prevtrack print printscreen prntscrn
    prtsc prtscr return right scrolllock select separator shift shiftleft shiftright sleep space stop subtract
    tab up volumedown volumemute volumeup win winleft winright yen command option optionleft optionright
    """.split()
)
KEYBOARD_KEYS: frozenset[str] = frozenset(_SINGLE_CHAR_KEYS) | frozenset(_NAMED_KEYS)
"""pyautogui 0.9.54 ``KEYBOARD_KEYS`` (single characters are also accepted upper-case, as pyautogui does)."""

SPECIAL_STRINGS = {"WAIT": Wait, "DONE": Done, "FAIL": Fail}


class Refused(Exception):
    """A refusal inside a parser, turned into an ActionError with line and source snippet by its caller."""

    def __init__(self, reason: str, node: ast.AST | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.node = node


def check_source(text: Any, what: str) -> str:
    """Model output about to be parsed: a string of at most :data:`MAX_SOURCE_CHARS` characters.

    Raises:
        ActionError: not a string, or too long (``what`` names it: "action text", "action code").
    """
    if not isinstance(text, str):
        raise ActionError(f"{what} must be a string, got {type(text).__name__}")
    if len(text) > MAX_SOURCE_CHARS:
        raise ActionError(f"{what} is {len(text)} characters; the limit is {MAX_SOURCE_CHARS}")
    return text


# ---- value checks (shared by the pyautogui and computer_13 parsers and validate_action)
def is_number(v: Any) -> bool:
    """Whether ``v`` is an int or float (a bool is not a number here)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_coord(v: Any, name: str, *, offset: bool = False) -> int:
    """A finite screen coordinate (``offset``: a relative one) as pyautogui uses it (truncated to int)."""
    if not is_number(v):
        raise Refused(f"{name} must be a number, got {type(v).__name__} {v!r}")
    if v != v or v in (float("inf"), float("-inf")):
        raise Refused(f"{name} must be a finite number, got {v!r}")
    lo = -MAX_COORD if offset else 0
    if not lo <= v <= MAX_COORD:
        what = "offset" if offset else "screen coordinate"
        raise Refused(f"{name}={v!r} is not a sane {what} (allowed {lo}..{MAX_COORD})")
    return int(v)  # pyautogui truncates floats


def check_int(v: Any, name: str, lo: int, hi: int) -> int:
    """An integer (or integral float) in ``lo..hi``."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise Refused(f"{name} must be an integer, got {type(v).__name__} {v!r}")
    if not lo <= v <= hi:
        raise Refused(f"{name}={v!r} is out of range (allowed {lo}..{hi})")
    return v


def check_seconds(v: Any, name: str, hi: float) -> float:
    """A number of seconds in ``0..hi``."""
    if not is_number(v) or v != v:
        raise Refused(f"{name} must be a number of seconds, got {type(v).__name__} {v!r}")
    if not 0 <= v <= hi:
        raise Refused(f"{name}={v!r} is out of range (allowed 0..{hi} seconds)")
    return float(v)


def check_button(v: Any, name: str = "button") -> str:
    """A mouse button name (``left``/``right``/``middle``; pyautogui's aliases and 1/2/3 accepted)."""
    if isinstance(v, int) and not isinstance(v, bool) and v in (1, 2, 3):
        return {1: "left", 2: "middle", 3: "right"}[v]
    if isinstance(v, str):
        b = v.lower()
        b = {"primary": "left", "secondary": "right"}.get(b, b)
        if b in ("left", "right", "middle"):
            return b
    raise Refused(f"{name}={v!r} is not a mouse button (use 'left', 'right' or 'middle')")


def normalize_key(key: Any, name: str = "key") -> str:
    """Validate a pyautogui key name and normalize it the way pyautogui does (names lower-cased).

    Raises:
        ActionError: not a string or not in :data:`KEYBOARD_KEYS` (with a close match when there is one).
    """
    try:
        return check_key(key, name)
    except Refused as exc:
        raise ActionError(exc.reason) from None


def check_key(key: Any, name: str = "key") -> str:
    """A pyautogui key name, normalized like :func:`normalize_key`; refused with a close match when unknown."""
    if not isinstance(key, str):
        raise Refused(f"{name} must be a string key name, got {type(key).__name__} {key!r}")
    k = key if len(key) == 1 else key.lower()
    if k.lower() in KEYBOARD_KEYS:
        return k
    close = difflib.get_close_matches(k, _NAMED_KEYS, n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = key if len(key) <= 40 else key[:40] + "..."
    raise Refused(
        f"unknown key {shown!r}{hint} Keys are pyautogui names (enter, tab, esc, ctrl, shift, alt, a..z, "
        "f1..f12, ...; see envs.action_parser.KEYBOARD_KEYS); type text with pyautogui.typewrite('...')"
    )


def check_text(v: Any, name: str = "text") -> str:
    """Text to type: a non-empty string of at most :data:`MAX_STRING_CHARS`, without NUL."""
    if not isinstance(v, str):
        raise Refused(f"{name} must be a string, got {type(v).__name__} {v!r}")
    if not v:
        raise Refused(f"{name} is empty: nothing to type")
    if len(v) > MAX_STRING_CHARS:
        raise Refused(f"{name} is {len(v)} characters; the limit is {MAX_STRING_CHARS}")
    if "\x00" in v:
        raise Refused(f"{name} contains a NUL character")
    return v


def check_point(
    args: dict[str, Any],
    xname: str = "x",
    yname: str = "y",
    *,
    offset: bool = False,
    required: bool = False,
    fname: str = "",
) -> tuple[int | None, int | None]:
    """The point ``(args[xname], args[yname])`` (or one ``[x, y]`` list); ``(None, None)`` when neither is given
    and the point is not ``required``."""
    x, y = args.get(xname), args.get(yname)
    if isinstance(x, list) and y is None:
        if len(x) != 2:
            raise Refused(f"{fname}: a point must have exactly 2 numbers, got {len(x)}")
        x, y = x
    if isinstance(x, str):
        raise Refused(f"{fname}: locating an image on screen ({x!r}) is not supported; give x and y pixels")
    if x is None and y is None:
        if required:
            raise Refused(f"{fname} needs both {xname} and {yname}")
        return None, None
    if x is None or y is None:
        raise Refused(f"{fname}: give both {xname} and {yname} (or neither)")
    return check_coord(x, xname, offset=offset), check_coord(y, yname, offset=offset)


def validate_action(action: Action) -> Action:
    """Check a typed action's values against the same limits the parsers apply (types, ranges, key names).

    Returns:
        The action itself, when valid.

    Raises:
        ActionError: a field that is out of range or of the wrong type.
    """
    try:
        _validate(action)
    except Refused as exc:
        raise ActionError(f"invalid {action.kind} action: {exc.reason}") from None
    return action


def _opt_xy(x: Any, y: Any, *, offset: bool = False) -> None:
    if (x is None) != (y is None):
        raise Refused("give both x and y (or neither)")
    if x is not None:
        check_coord(x, "x", offset=offset)
        check_coord(y, "y", offset=offset)


def _validate(a: Action) -> None:  # noqa: C901 - flat
    if isinstance(a, Move):
        _opt_xy(a.x, a.y, offset=a.relative)
        if a.x is None:
            raise Refused("move needs x and y")
    elif isinstance(a, (Click, MouseDown, MouseUp)):
        _opt_xy(a.x, a.y)
        check_button(a.button)
        if isinstance(a, Click):
            check_int(a.clicks, "clicks", 1, MAX_CLICKS)
    elif isinstance(a, Drag):
        _opt_xy(a.x1, a.y1)
        check_coord(a.x2, "x2", offset=a.relative)
        check_coord(a.y2, "y2", offset=a.relative)
        check_button(a.button)
        check_seconds(a.duration, "duration", MAX_DURATION)
    elif isinstance(a, Scroll):
        check_int(a.clicks, "clicks", -MAX_SCROLL, MAX_SCROLL)
        _opt_xy(a.x, a.y)
    elif isinstance(a, TypeText):
        check_text(a.text)
        check_seconds(a.interval, "interval", MAX_INTERVAL)
    elif isinstance(a, Key):
        check_key(a.key)
        check_int(a.presses, "presses", 1, MAX_PRESSES)
    elif isinstance(a, (KeyDown, KeyUp)):
        check_key(a.key)
    elif isinstance(a, Hotkey):
        if not isinstance(a.keys, (tuple, list)) or not 1 <= len(a.keys) <= MAX_HOTKEY_KEYS:
            raise Refused(f"keys must be 1..{MAX_HOTKEY_KEYS} key names")
        for k in a.keys:
            check_key(k)
    elif isinstance(a, ClickElement):
        check_int(a.element_id, "element_id", 0, 10**9)
        check_button(a.button)
        check_int(a.clicks, "clicks", 1, MAX_CLICKS)
    elif isinstance(a, Wait):
        check_seconds(a.seconds, "seconds", MAX_SECONDS)
    elif isinstance(a, (Done, Fail)):
        pass
    else:
        raise Refused(f"unknown action type {type(a).__name__}")
