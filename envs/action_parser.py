"""Parse model output into typed actions. Nothing is ever executed: code is *read* with :mod:`ast`.

Three input forms:

* OSWorld's ``pyautogui`` code-string action space (:func:`parse_pyautogui`): Python source with one or
  more statements (lines or ``;``), optionally inside a ```` ```python ```` fence, made only of
  ``import pyautogui`` / ``import time`` (ignored) and calls of an allowlist of ``pyautogui`` functions and
  ``time.sleep`` whose arguments are literals (numbers, strings, bools, None, lists/tuples of those, unary
  minus). The whole input may instead be one of OSWorld's special strings ``WAIT``, ``DONE``, ``FAIL``.
* OSWorld ``computer_13`` JSON actions (:func:`parse_computer13`).
* Our own ``{"kind": ...}`` dicts (:func:`envs.actions.action_from_dict`), via :func:`parse_action_text`.

Anything else raises :class:`~studio.errors.ActionError` naming what was refused and on which line.

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

import ast
import difflib
import json
import re
from typing import Any, cast

from envs.actions import (
    Action,
    Button,
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
    action_from_dict,
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
_SINGLE_CHAR_KEYS = '\t\n\r !"#$%&\'()*+,-./0123456789:;<=>?@[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'
_NAMED_KEYS = (
    'accept', 'add', 'alt', 'altleft', 'altright', 'apps', 'backspace', 'browserback', 'browserfavorites',
    'browserforward', 'browserhome', 'browserrefresh', 'browsersearch', 'browserstop', 'capslock', 'clear',
    'convert', 'ctrl', 'ctrlleft', 'ctrlright', 'decimal', 'del', 'delete', 'divide', 'down', 'end',
    'enter', 'esc', 'escape', 'execute', 'f1', 'f10', 'f11', 'f12', 'f13', 'f14', 'f15', 'f16', 'f17',
    'f18', 'f19', 'f2', 'f20', 'f21', 'f22', 'f23', 'f24', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9',
    'final', 'fn', 'hanguel', 'hangul', 'hanja', 'help', 'home', 'insert', 'junja', 'kana', 'kanji',
    'launchapp1', 'launchapp2', 'launchmail', 'launchmediaselect', 'left', 'modechange', 'multiply',
    'nexttrack', 'nonconvert', 'num0', 'num1', 'num2', 'num3', 'num4', 'num5', 'num6', 'num7', 'num8',
    'num9', 'numlock', 'pagedown', 'pageup', 'pause', 'pgdn', 'pgup', 'playpause', 'prevtrack', 'print',
    'printscreen', 'prntscrn', 'prtsc', 'prtscr', 'return', 'right', 'scrolllock', 'select', 'separator',
    'shift', 'shiftleft', 'shiftright', 'sleep', 'space', 'stop', 'subtract', 'tab', 'up', 'volumedown',
    'volumemute', 'volumeup', 'win', 'winleft', 'winright', 'yen', 'command', 'option', 'optionleft',
    'optionright',
)
KEYBOARD_KEYS: frozenset[str] = frozenset(_SINGLE_CHAR_KEYS) | frozenset(_NAMED_KEYS)
"""pyautogui 0.9.54 ``KEYBOARD_KEYS`` (single characters are also accepted upper-case, as pyautogui does)."""

SPECIAL_STRINGS = {"WAIT": Wait, "DONE": Done, "FAIL": Fail}


class _Refused(Exception):
    """Internal: a refusal, turned into an ActionError with line and source snippet by the caller."""

    def __init__(self, reason: str, node: ast.AST | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.node = node


# ---- value validators (shared by the pyautogui and computer_13 parsers)
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _coord(v: Any, name: str, *, offset: bool = False) -> int:
    if not _is_number(v):
        raise _Refused(f"{name} must be a number, got {type(v).__name__} {v!r}")
    if v != v or v in (float("inf"), float("-inf")):
        raise _Refused(f"{name} must be a finite number, got {v!r}")
    lo = -MAX_COORD if offset else 0
    if not lo <= v <= MAX_COORD:
        what = "offset" if offset else "screen coordinate"
        raise _Refused(f"{name}={v!r} is not a sane {what} (allowed {lo}..{MAX_COORD})")
    return int(v)  # pyautogui truncates floats


def _int_in(v: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise _Refused(f"{name} must be an integer, got {type(v).__name__} {v!r}")
    if not lo <= v <= hi:
        raise _Refused(f"{name}={v!r} is out of range (allowed {lo}..{hi})")
    return v


def _seconds(v: Any, name: str, hi: float) -> float:
    if not _is_number(v) or v != v:
        raise _Refused(f"{name} must be a number of seconds, got {type(v).__name__} {v!r}")
    if not 0 <= v <= hi:
        raise _Refused(f"{name}={v!r} is out of range (allowed 0..{hi} seconds)")
    return float(v)


def _button(v: Any, name: str = "button") -> str:
    if isinstance(v, int) and not isinstance(v, bool) and v in (1, 2, 3):
        return {1: "left", 2: "middle", 3: "right"}[v]
    if isinstance(v, str):
        b = v.lower()
        b = {"primary": "left", "secondary": "right"}.get(b, b)
        if b in ("left", "right", "middle"):
            return b
    raise _Refused(f"{name}={v!r} is not a mouse button (use 'left', 'right' or 'middle')")


def normalize_key(key: Any, name: str = "key") -> str:
    """Validate a pyautogui key name and normalize it the way pyautogui does (names lower-cased).

    Raises:
        ActionError: not a string or not in :data:`KEYBOARD_KEYS` (with a close match when there is one).
    """
    try:
        return _key(key, name)
    except _Refused as exc:
        raise ActionError(exc.reason) from None


def _key(key: Any, name: str = "key") -> str:
    if not isinstance(key, str):
        raise _Refused(f"{name} must be a string key name, got {type(key).__name__} {key!r}")
    k = key if len(key) == 1 else key.lower()
    if k.lower() in KEYBOARD_KEYS:
        return k
    close = difflib.get_close_matches(k, _NAMED_KEYS, n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = key if len(key) <= 40 else key[:40] + "..."
    raise _Refused(
        f"unknown key {shown!r}{hint} Keys are pyautogui names (enter, tab, esc, ctrl, shift, alt, a..z, "
        "f1..f12, ...; see envs.action_parser.KEYBOARD_KEYS); type text with pyautogui.typewrite('...')"
    )


def _text(v: Any, name: str = "text") -> str:
    if not isinstance(v, str):
        raise _Refused(f"{name} must be a string, got {type(v).__name__} {v!r}")
    if not v:
        raise _Refused(f"{name} is empty: nothing to type")
    if len(v) > MAX_STRING_CHARS:
        raise _Refused(f"{name} is {len(v)} characters; the limit is {MAX_STRING_CHARS}")
    if "\x00" in v:
        raise _Refused(f"{name} contains a NUL character")
    return v


# ---- literal arguments
_NODE_NAMES: dict[type, str] = {
    ast.Name: "a variable name (only literal values are allowed)",
    ast.JoinedStr: "an f-string (use a plain string literal)",
    ast.FormattedValue: "an f-string (use a plain string literal)",
    ast.Call: "a nested call (arguments must be literals)",
    ast.Attribute: "an attribute access",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.BinOp: "an arithmetic/string operation (write the literal value)",
    ast.BoolOp: "a boolean operation",
    ast.Compare: "a comparison",
    ast.IfExp: "a conditional expression",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Starred: "*-unpacking",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}


def _literal(node: ast.AST, depth: int = 0) -> Any:
    if isinstance(node, ast.Constant):
        v = node.value
        if v is None or isinstance(v, (bool, int, float, str)):
            if isinstance(v, str) and len(v) > MAX_STRING_CHARS:
                raise _Refused(f"a string of {len(v)} characters (the limit is {MAX_STRING_CHARS})", node)
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**9:
                raise _Refused(f"the number {v} is far too large", node)
            return v
        raise _Refused(f"a {type(v).__name__} literal (allowed: numbers, strings, bools, None, lists)", node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        if isinstance(node.operand, ast.Constant) and _is_number(node.operand.value):
            number = node.operand.value
            if not isinstance(number, int | float):  # _is_number said so; this tells the type checker
                raise _Refused("a unary operator on something other than a number literal", node)
            if isinstance(number, int) and abs(number) > 10**9:
                raise _Refused(f"the number {number} is far too large", node)
            return -number if isinstance(node.op, ast.USub) else number
        raise _Refused("a unary operator on something other than a number literal", node)
    if isinstance(node, (ast.List, ast.Tuple)):
        if depth >= 2:
            raise _Refused("lists nested more than two deep", node)
        if len(node.elts) > MAX_LIST_ITEMS:
            raise _Refused(f"a list of {len(node.elts)} items (the limit is {MAX_LIST_ITEMS})", node)
        return [_literal(e, depth + 1) for e in node.elts]
    fallback = f"a {type(node).__name__} expression (only literals are allowed)"
    raise _Refused(_NODE_NAMES.get(type(node), fallback), node)


# ---- pyautogui function signatures (parameter order as pyautogui 0.9.54 declares them)
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "click": ("x", "y", "clicks", "interval", "button", "duration", "tween"),
    "leftClick": ("x", "y", "interval", "duration", "tween"),
    "rightClick": ("x", "y", "interval", "duration", "tween"),
    "middleClick": ("x", "y", "interval", "duration", "tween"),
    "doubleClick": ("x", "y", "interval", "button", "duration", "tween"),
    "tripleClick": ("x", "y", "interval", "button", "duration", "tween"),
    "moveTo": ("x", "y", "duration", "tween"),
    "moveRel": ("xOffset", "yOffset", "duration", "tween"),
    "move": ("xOffset", "yOffset", "duration", "tween"),
    "dragTo": ("x", "y", "duration", "tween", "button", "logScreenshot", "_pause", "mouseDownUp"),
    "dragRel": ("xOffset", "yOffset", "duration", "tween", "button", "logScreenshot", "_pause",
                "mouseDownUp"),
    "drag": ("xOffset", "yOffset", "duration", "tween", "button", "logScreenshot", "_pause", "mouseDownUp"),
    "mouseDown": ("x", "y", "button", "duration", "tween"),
    "mouseUp": ("x", "y", "button", "duration", "tween"),
    "scroll": ("clicks", "x", "y"),
    "vscroll": ("clicks", "x", "y"),
    "hscroll": ("clicks", "x", "y"),
    "typewrite": ("message", "interval"),
    "write": ("message", "interval"),
    "press": ("keys", "presses", "interval"),
    "keyDown": ("key",),
    "keyUp": ("key",),
    "hotkey": (),  # *args + interval=
}
_REFUSED_PARAMS = {
    "tween": "tween functions are not allowed (the driver moves linearly)",
    "logScreenshot": "logScreenshot is not allowed",
    "_pause": "_pause is not allowed",
}
ALLOWED_FUNCTIONS = tuple(sorted(_SIGNATURES)) + ("time.sleep",)


def _bind(fname: str, call: ast.Call) -> dict[str, Any]:
    """Bind literal arguments to pyautogui's parameter names like Python would.

    Hotkey keeps its ``*args`` in ``args``.
    """
    for kw in call.keywords:
        if kw.arg is None:
            raise _Refused("**-unpacking of keyword arguments", kw)
    if fname == "hotkey":
        bound: dict[str, Any] = {"args": [_literal(a) for a in call.args]}
        for kw in call.keywords:
            if kw.arg != "interval":
                raise _Refused(f"unknown keyword argument {kw.arg!r} for pyautogui.hotkey "
                               "(allowed: interval)", kw)
            bound["interval"] = _literal(kw.value)
        return bound
    params = _SIGNATURES[fname] if fname != "time.sleep" else ("seconds",)
    if len(call.args) > len(params):
        raise _Refused(f"{fname} takes at most {len(params)} positional arguments ({', '.join(params)}), "
                       f"got {len(call.args)}", call)
    bound = {}
    for name, arg in zip(params, call.args, strict=False):
        bound[name] = (name, arg)
    for kw in call.keywords:
        if fname == "time.sleep" or kw.arg not in params:
            allowed = ", ".join(p for p in params if p not in _REFUSED_PARAMS)
            raise _Refused(f"unknown keyword argument {kw.arg!r} for {fname} (allowed: {allowed})", kw)
        if kw.arg in bound:
            raise _Refused(f"{fname} got argument {kw.arg!r} twice", kw)
        bound[kw.arg] = (kw.arg, kw.value)
    out: dict[str, Any] = {}
    for name, (_, node) in bound.items():
        if name in _REFUSED_PARAMS:
            raise _Refused(_REFUSED_PARAMS[name], node)
        out[name] = _literal(node)
    return out


def _xy(args: dict[str, Any], xname: str = "x", yname: str = "y", *, offset: bool = False,
        required: bool = False, fname: str = "") -> tuple[int | None, int | None]:
    x, y = args.get(xname), args.get(yname)
    if isinstance(x, list) and y is None:
        if len(x) != 2:
            raise _Refused(f"{fname}: a point must have exactly 2 numbers, got {len(x)}")
        x, y = x
    if isinstance(x, str):
        raise _Refused(f"{fname}: locating an image on screen ({x!r}) is not supported; give x and y pixels")
    if x is None and y is None:
        if required:
            raise _Refused(f"{fname} needs both {xname} and {yname}")
        return None, None
    if x is None or y is None:
        raise _Refused(f"{fname}: give both {xname} and {yname} (or neither)")
    return _coord(x, xname, offset=offset), _coord(y, yname, offset=offset)


class _State:
    """Pointer position known from earlier statements of the same code string (None: unknown)."""

    def __init__(self) -> None:
        self.pos: tuple[int, int] | None = None


def _keys_list(v: Any, name: str) -> list[str]:
    if isinstance(v, str):
        return [_key(v, name)]
    if isinstance(v, list):
        if not v:
            raise _Refused(f"{name} is an empty list")
        return [_key(k, name) for k in v]
    raise _Refused(f"{name} must be a key name or a list of key names, got {type(v).__name__} {v!r}")


def _call_to_actions(fname: str, a: dict[str, Any], st: _State) -> list[Action]:  # noqa: C901 - a flat dispatch
    if fname == "time.sleep":
        if "seconds" not in a:
            raise _Refused("time.sleep needs the number of seconds")
        return [Wait(_seconds(a["seconds"], "seconds", MAX_SECONDS))]
    for name in ("duration",):
        if name in a and a[name] is not None:
            _seconds(a[name], name, MAX_DURATION)
    if "interval" in a and a["interval"] is not None:
        _seconds(a["interval"], "interval", MAX_INTERVAL)

    if fname in ("click", "leftClick", "rightClick", "middleClick", "doubleClick", "tripleClick"):
        x, y = _xy(a, fname=fname)
        button = {"rightClick": "right", "middleClick": "middle", "leftClick": "left"}.get(fname)
        if button is None:
            button = _button(a["button"]) if a.get("button") is not None else "left"
        clicks = {"doubleClick": 2, "tripleClick": 3}.get(fname)
        if clicks is None:
            clicks = _int_in(a["clicks"], "clicks", 1, MAX_CLICKS) if a.get("clicks") is not None else 1
        if x is not None and y is not None:
            st.pos = (x, y)
        return [Click(x, y, button=button, clicks=clicks)]  # type: ignore[arg-type]
    if fname == "moveTo":
        x, y = _xy(a, required=True, fname=fname)
        assert x is not None and y is not None
        st.pos = (x, y)
        return [Move(x, y)]
    if fname in ("moveRel", "move"):
        dx, dy = _xy(a, "xOffset", "yOffset", offset=True, fname=fname)
        dx, dy = dx or 0, dy or 0
        if st.pos is not None:
            st.pos = (max(0, st.pos[0] + dx), max(0, st.pos[1] + dy))
            return [Move(*st.pos)]
        return [Move(dx, dy, relative=True)]
    if fname in ("dragTo", "dragRel", "drag"):
        rel = fname != "dragTo"
        if rel:
            x2, y2 = _xy(a, "xOffset", "yOffset", offset=True, fname=fname)
            x2, y2 = x2 or 0, y2 or 0
        else:
            x2, y2 = _xy(a, required=True, fname=fname)
            assert x2 is not None and y2 is not None
        button = _button(a["button"]) if a.get("button") is not None else "left"
        duration = float(a.get("duration") or 0.0)
        down_up = a.get("mouseDownUp", True)
        if not isinstance(down_up, bool):
            raise _Refused(f"mouseDownUp must be True or False, got {down_up!r}")
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
        x, y = _xy(a, fname=fname)
        button = _button(a["button"]) if a.get("button") is not None else "left"
        if x is not None and y is not None:
            st.pos = (x, y)
        cls = MouseDown if fname == "mouseDown" else MouseUp
        return [cls(x, y, button=button)]  # type: ignore[arg-type]
    if fname in ("scroll", "vscroll", "hscroll"):
        if "clicks" not in a:
            raise _Refused(f"{fname} needs the number of clicks (wheel notches)")
        clicks = _int_in(a["clicks"], "clicks", -MAX_SCROLL, MAX_SCROLL)
        x, y = _xy(a, fname=fname)
        if x is not None and y is not None:
            st.pos = (x, y)
        return [Scroll(clicks, x, y, horizontal=fname == "hscroll")]
    if fname in ("typewrite", "write"):
        if "message" not in a:
            raise _Refused(f"{fname} needs the text to type")
        interval = float(a.get("interval") or 0.0)
        msg = a["message"]
        if isinstance(msg, list):  # a list of key names, pressed in order
            if not msg:
                raise _Refused(f"{fname} got an empty list of keys")
            return [Key(_key(k, "key")) for k in msg]
        return [TypeText(_text(msg, "message"), interval=interval)]
    if fname == "press":
        if "keys" not in a:
            raise _Refused("press needs a key name")
        keys = _keys_list(a["keys"], "keys")
        presses = _int_in(a["presses"], "presses", 1, MAX_PRESSES) if a.get("presses") is not None else 1
        if len(keys) == 1:
            return [Key(keys[0], presses=presses)]
        if len(keys) * presses > MAX_PRESSES:
            raise _Refused(f"press of {len(keys)} keys x {presses} presses exceeds {MAX_PRESSES} key presses")
        return [Key(k) for _ in range(presses) for k in keys]
    if fname in ("keyDown", "keyUp"):
        if "key" not in a:
            raise _Refused(f"{fname} needs a key name")
        k = _key(a["key"])
        return [KeyDown(k) if fname == "keyDown" else KeyUp(k)]
    if fname == "hotkey":
        args = a["args"]
        if len(args) == 1 and isinstance(args[0], list):
            args = args[0]
        if not args:
            raise _Refused("hotkey needs at least one key")
        if len(args) > MAX_HOTKEY_KEYS:
            raise _Refused(f"hotkey with {len(args)} keys (the limit is {MAX_HOTKEY_KEYS})")
        return [Hotkey(tuple(_key(k) for k in args))]
    raise _Refused(f"pyautogui.{fname} is not supported")  # pragma: no cover - guarded by _SIGNATURES


# ---- statements
_STMT_NAMES: dict[type, str] = {
    ast.Assign: "an assignment", ast.AugAssign: "an assignment", ast.AnnAssign: "an assignment",
    ast.For: "a loop", ast.AsyncFor: "a loop", ast.While: "a loop", ast.If: "an if statement",
    ast.With: "a with statement", ast.AsyncWith: "a with statement", ast.Try: "a try statement",
    ast.FunctionDef: "a function definition", ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition", ast.ImportFrom: "a from-import (write `import pyautogui`)",
    ast.Return: "return", ast.Delete: "del", ast.Global: "global", ast.Nonlocal: "nonlocal",
    ast.Raise: "raise", ast.Assert: "assert", ast.Pass: "pass", ast.Break: "break", ast.Continue: "continue",
}
_ALLOWED_IMPORTS = ("pyautogui", "time")
_CLICK_ELEMENT_COMMENT = re.compile(
    r"^\s*#\s*click_element\(\s*(\d{1,9})\s*(?:,\s*button\s*=\s*'(left|right|middle)'\s*)?"
    r"(?:,\s*clicks\s*=\s*(\d)\s*)?\)\s*$"
)
_FENCE = re.compile(r"^\s*```(?:[ \t]*[A-Za-z0-9_+-]*[ \t]*\n)?(.*?)\n?[ \t]*```\s*$", re.S)


_ONLY = "only pyautogui.<function>(...) and time.sleep(...) may be called"


def _func_name(call: ast.Call) -> str:
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        base, attr = f.value.id, f.attr
        if base == "pyautogui" and attr in _SIGNATURES:
            return attr
        if base == "time" and attr == "sleep":
            return "time.sleep"
        if base == "pyautogui":
            allowed = ", ".join(ALLOWED_FUNCTIONS)
            raise _Refused(f"pyautogui.{attr} is not in the allowlist (allowed: {allowed})", f)
        raise _Refused(f"{base}.{attr} is not allowed; {_ONLY}", f)
    if isinstance(f, ast.Attribute):
        raise _Refused(f"an attribute chain; {_ONLY}", f)
    if isinstance(f, ast.Name):
        raise _Refused(f"calling {f.id}(); {_ONLY}", f)
    raise _Refused("calling the result of an expression; only pyautogui.<function>(...) may be called", f)


def _snippet(source: str, node: ast.AST | None) -> str:
    seg = ast.get_source_segment(source, node) if node is not None else None
    if not seg:
        return ""
    seg = " ".join(seg.split())
    return seg if len(seg) <= 80 else seg[:77] + "..."


def strip_fence(text: str) -> tuple[str, int]:
    """Unwrap a whole-input ```` ``` ```` fenced block.

    Returns:
        (code, number of lines removed before it), or (text, 0) when the input is not one fenced block.
    """
    m = _FENCE.match(text)
    if not m:
        return text, 0
    return m.group(1), text[: m.start(1)].count("\n")


def parse_pyautogui(code: str) -> list[Action]:
    """Parse an OSWorld ``pyautogui`` code-string action into typed actions without executing anything.

    Args:
        code: Python source (one or more statements, optionally fenced), or ``WAIT`` / ``DONE`` / ``FAIL``.

    Returns:
        The typed actions, in order (at least one).

    Raises:
        ActionError: anything outside the allowlist, saying what was refused and on which line.
    """
    if not isinstance(code, str):
        raise ActionError(f"action code must be a string, got {type(code).__name__}")
    if len(code) > MAX_SOURCE_CHARS:
        raise ActionError(f"action code is {len(code)} characters; the limit is {MAX_SOURCE_CHARS}")
    body, offset = strip_fence(code)
    special = body.strip()
    if special in SPECIAL_STRINGS:
        return [SPECIAL_STRINGS[special]()]
    if not special:
        raise ActionError("empty action: write pyautogui calls such as pyautogui.click(100, 200), "
                          "or WAIT/DONE/FAIL")
    try:
        tree = ast.parse(body, mode="exec")
    except SyntaxError as exc:
        line = (exc.lineno or 1) + offset
        raise ActionError(f"line {line}: not valid Python ({exc.msg}); write pyautogui calls such as "
                          "pyautogui.click(100, 200)") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ActionError(f"action code cannot be parsed: {type(exc).__name__}: {str(exc)[:120]}") from None

    items: list[tuple[int, ast.stmt | ClickElement]] = [(s.lineno, s) for s in tree.body]
    for n, text in enumerate(body.splitlines(), start=1):
        m = _CLICK_ELEMENT_COMMENT.match(text)
        if m:
            button = cast(Button, m.group(2) or "left")  # the pattern admits left|right|middle only
            items.append((n, ClickElement(int(m.group(1)), button=button, clicks=int(m.group(3) or 1))))
    items.sort(key=lambda it: it[0])

    st = _State()
    actions: list[Action] = []
    for lineno, item in items:
        line = lineno + offset
        if isinstance(item, ClickElement):
            if not 1 <= item.clicks <= MAX_CLICKS:
                raise ActionError(f"line {line}: click_element clicks={item.clicks} "
                                  f"out of range 1..{MAX_CLICKS}")
            actions.append(item)
            st.pos = None
            continue
        try:
            new = _statement(item, st)
        except _Refused as exc:
            node = exc.node or item
            where = getattr(node, "lineno", lineno) + offset
            snip = _snippet(body, node)
            what = f" `{snip}`" if snip else ""
            raise ActionError(f"line {where}: refused{what}: {exc.reason}") from None
        for act in new:
            if (isinstance(act, Drag) and act.x1 is not None and actions and isinstance(actions[-1], Move)
                    and not actions[-1].relative and (actions[-1].x, actions[-1].y) == (act.x1, act.y1)):
                actions.pop()  # moveTo(a); dragTo(b) is one Drag from a
            actions.append(act)
        if len(actions) > MAX_ACTIONS:
            raise ActionError(f"line {line}: more than {MAX_ACTIONS} actions in one code string")
    if not actions:
        raise ActionError("no action found: the code only imports modules; add pyautogui calls, "
                          "or WAIT/DONE/FAIL")
    return actions


def _statement(stmt: ast.stmt, st: _State) -> list[Action]:
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.name not in _ALLOWED_IMPORTS:
                raise _Refused(f"importing {alias.name} (only `import pyautogui` and `import time` "
                               "are allowed)", stmt)
            if alias.asname and alias.asname != alias.name:
                raise _Refused(f"import aliases (`as {alias.asname}`); write `import {alias.name}`", stmt)
        return []
    if isinstance(stmt, ast.Expr):
        if not isinstance(stmt.value, ast.Call):
            what = _NODE_NAMES.get(type(stmt.value), type(stmt.value).__name__)
            raise _Refused(f"a bare expression ({what}); only calls are allowed", stmt)
        call = stmt.value
        fname = _func_name(call)
        return _call_to_actions(fname, _bind(fname, call), st)
    what = _STMT_NAMES.get(type(stmt), type(stmt).__name__)
    raise _Refused(f"{what} is not allowed; only pyautogui calls, time.sleep and imports of pyautogui/time",
                   stmt)


# ---- computer_13
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
        raise ActionError(f"computer_13 action has unknown fields {sorted(extra)} "
                          "(allowed: action_type, parameters)")
    atype = obj.get("action_type")
    if not isinstance(atype, str) or atype.upper() not in _C13_PARAMS:
        raise ActionError(f"unknown computer_13 action_type {atype!r}; expected one of {sorted(_C13_PARAMS)}")
    atype = atype.upper()
    params = obj.get("parameters") or {}
    if not isinstance(params, dict):
        raise ActionError(f"computer_13 {atype}: parameters must be an object, got {type(params).__name__}")
    unknown = set(params) - set(_C13_PARAMS[atype])
    if unknown:
        raise ActionError(f"computer_13 {atype}: unknown parameters {sorted(unknown)} "
                          f"(allowed: {', '.join(_C13_PARAMS[atype]) or 'none'})")
    try:
        return _c13(atype, params)
    except _Refused as exc:
        raise ActionError(f"computer_13 {atype}: {exc.reason}") from None


def _c13(atype: str, p: dict[str, Any]) -> list[Action]:
    if atype in SPECIAL_STRINGS:
        return [SPECIAL_STRINGS[atype]()]
    if atype == "MOVE_TO":
        x, y = _xy(p, required=True, fname="MOVE_TO")
        assert x is not None and y is not None
        return [Move(x, y)]
    if atype in ("CLICK", "RIGHT_CLICK", "DOUBLE_CLICK"):
        x, y = _xy(p, fname=atype)
        button = "right" if atype == "RIGHT_CLICK" else _button(p.get("button") or "left")
        clicks = 2 if atype == "DOUBLE_CLICK" else (
            _int_in(p["num_clicks"], "num_clicks", 1, MAX_CLICKS) if p.get("num_clicks") is not None else 1)
        return [Click(x, y, button=button, clicks=clicks)]  # type: ignore[arg-type]
    if atype in ("MOUSE_DOWN", "MOUSE_UP"):
        x, y = _xy(p, fname=atype)
        cls = MouseDown if atype == "MOUSE_DOWN" else MouseUp
        return [cls(x, y, button=_button(p.get("button") or "left"))]  # type: ignore[arg-type]
    if atype == "DRAG_TO":
        x, y = _xy(p, required=True, fname="DRAG_TO")
        assert x is not None and y is not None
        return [Drag(None, None, x, y, duration=C13_DRAG_DURATION)]
    if atype == "SCROLL":
        if "dx" not in p and "dy" not in p:
            raise _Refused("SCROLL needs dx and/or dy (wheel notches)")
        out: list[Action] = []
        if p.get("dx"):
            out.append(Scroll(_int_in(p["dx"], "dx", -MAX_SCROLL, MAX_SCROLL), horizontal=True))
        if p.get("dy") or not out:
            out.append(Scroll(_int_in(p.get("dy", 0), "dy", -MAX_SCROLL, MAX_SCROLL)))
        return out
    if atype == "TYPING":
        if "text" not in p:
            raise _Refused("TYPING needs text")
        return [TypeText(_text(p["text"]))]
    if atype in ("PRESS", "KEY_DOWN", "KEY_UP"):
        if "key" not in p:
            raise _Refused(f"{atype} needs key")
        k = _key(p["key"])
        return [{"PRESS": Key, "KEY_DOWN": KeyDown, "KEY_UP": KeyUp}[atype](k)]
    if atype == "HOTKEY":
        keys = p.get("keys")
        if not isinstance(keys, list) or not keys:
            raise _Refused("HOTKEY needs keys: a non-empty list of key names")
        if len(keys) > MAX_HOTKEY_KEYS:
            raise _Refused(f"HOTKEY with {len(keys)} keys (the limit is {MAX_HOTKEY_KEYS})")
        return [Hotkey(tuple(_key(k) for k in keys))]
    raise _Refused(f"unsupported action_type {atype}")  # pragma: no cover


def parse_computer13(obj: dict[str, Any]) -> Action:
    """Parse one OSWorld ``computer_13`` JSON action (``{"action_type": ..., "parameters": {...}}``).

    Raises:
        ActionError: as :func:`parse_computer13_actions`, or SCROLL with both dx and dy (two actions: use
            :func:`parse_computer13_actions`).
    """
    out = parse_computer13_actions(obj)
    if len(out) != 1:
        raise ActionError("computer_13 SCROLL with both dx and dy is two actions; use "
                          "parse_computer13_actions or send them as two SCROLL actions")
    return out[0]


# ---- any text
def validate_action(action: Action) -> Action:
    """Check a typed action's values against the same limits the parsers apply (types, ranges, key names).

    Returns:
        The action itself, when valid.

    Raises:
        ActionError: a field that is out of range or of the wrong type.
    """
    try:
        _validate(action)
    except _Refused as exc:
        raise ActionError(f"invalid {action.kind} action: {exc.reason}") from None
    return action


def _opt_xy(x: Any, y: Any, *, offset: bool = False) -> None:
    if (x is None) != (y is None):
        raise _Refused("give both x and y (or neither)")
    if x is not None:
        _coord(x, "x", offset=offset)
        _coord(y, "y", offset=offset)


def _validate(a: Action) -> None:  # noqa: C901 - flat
    if isinstance(a, Move):
        _opt_xy(a.x, a.y, offset=a.relative)
        if a.x is None:
            raise _Refused("move needs x and y")
    elif isinstance(a, (Click, MouseDown, MouseUp)):
        _opt_xy(a.x, a.y)
        _button(a.button)
        if isinstance(a, Click):
            _int_in(a.clicks, "clicks", 1, MAX_CLICKS)
    elif isinstance(a, Drag):
        _opt_xy(a.x1, a.y1)
        _coord(a.x2, "x2", offset=a.relative)
        _coord(a.y2, "y2", offset=a.relative)
        _button(a.button)
        _seconds(a.duration, "duration", MAX_DURATION)
    elif isinstance(a, Scroll):
        _int_in(a.clicks, "clicks", -MAX_SCROLL, MAX_SCROLL)
        _opt_xy(a.x, a.y)
    elif isinstance(a, TypeText):
        _text(a.text)
        _seconds(a.interval, "interval", MAX_INTERVAL)
    elif isinstance(a, Key):
        _key(a.key)
        _int_in(a.presses, "presses", 1, MAX_PRESSES)
    elif isinstance(a, (KeyDown, KeyUp)):
        _key(a.key)
    elif isinstance(a, Hotkey):
        if not isinstance(a.keys, (tuple, list)) or not 1 <= len(a.keys) <= MAX_HOTKEY_KEYS:
            raise _Refused(f"keys must be 1..{MAX_HOTKEY_KEYS} key names")
        for k in a.keys:
            _key(k)
    elif isinstance(a, ClickElement):
        _int_in(a.element_id, "element_id", 0, 10**9)
        _button(a.button)
        _int_in(a.clicks, "clicks", 1, MAX_CLICKS)
    elif isinstance(a, Wait):
        _seconds(a.seconds, "seconds", MAX_SECONDS)
    elif isinstance(a, (Done, Fail)):
        pass
    else:
        raise _Refused(f"unknown action type {type(a).__name__}")


def _from_json_obj(obj: Any) -> list[Action]:
    if isinstance(obj, dict) and "action_type" in obj:
        return parse_computer13_actions(obj)
    if isinstance(obj, dict) and "kind" in obj:
        return [validate_action(action_from_dict(obj))]
    raise ActionError("a JSON action must be an object with 'action_type' (OSWorld computer_13) or 'kind' "
                      f"(studio action), got {json.dumps(obj)[:80]}")


def parse_action_text(text: str) -> list[Action]:
    """Parse any supported action text: a JSON object (or list of objects), else pyautogui code.

    JSON objects with ``action_type`` are OSWorld ``computer_13`` actions; with ``kind`` they are studio
    action dicts (:func:`envs.actions.action_to_dict`). Everything else goes to :func:`parse_pyautogui`.

    Raises:
        ActionError: the text is not an allowed action (the message says what was refused).
    """
    if not isinstance(text, str):
        raise ActionError(f"action text must be a string, got {type(text).__name__}")
    if len(text) > MAX_SOURCE_CHARS:
        raise ActionError(f"action text is {len(text)} characters; the limit is {MAX_SOURCE_CHARS}")
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
