"""Read an OSWorld ``pyautogui`` code-string action with :mod:`ast` (never executed) into typed actions.

The code is one or more statements (lines or ``;``), optionally inside a ```` ```python ```` fence, made only of
``import pyautogui`` / ``import time`` (ignored) and calls of an allowlist of ``pyautogui`` functions and
``time.sleep`` whose arguments are literals; or one of OSWorld's special strings ``WAIT``, ``DONE``, ``FAIL``.
This module reads the statements and binds each call's arguments like Python would; what a call means is
:mod:`envs.action_pyautogui_calls`. A ``# click_element(12)`` comment on its own line is a ``ClickElement``.
"""

from __future__ import annotations

import ast
import re
from typing import Any, cast

from envs.action_pyautogui_calls import PointerState, call_to_actions
from envs.action_values import (
    MAX_ACTIONS,
    MAX_CLICKS,
    MAX_LIST_ITEMS,
    MAX_STRING_CHARS,
    SPECIAL_STRINGS,
    Refused,
    check_source,
    is_number,
)
from envs.actions import Action, Button, ClickElement, Drag, Move
from envs.errors import ActionError

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
                raise Refused(f"a string of {len(v)} characters (the limit is {MAX_STRING_CHARS})", node)
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**9:
                raise Refused(f"the number {v} is far too large", node)
            return v
        raise Refused(f"a {type(v).__name__} literal (allowed: numbers, strings, bools, None, lists)", node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        if isinstance(node.operand, ast.Constant) and is_number(node.operand.value):
            number = node.operand.value
            if not isinstance(number, int | float):  # is_number said so; this tells the type checker
                raise Refused("a unary operator on something other than a number literal", node)
            if isinstance(number, int) and abs(number) > 10**9:
                raise Refused(f"the number {number} is far too large", node)
            return -number if isinstance(node.op, ast.USub) else number
        raise Refused("a unary operator on something other than a number literal", node)
    if isinstance(node, (ast.List, ast.Tuple)):
        if depth >= 2:
            raise Refused("lists nested more than two deep", node)
        if len(node.elts) > MAX_LIST_ITEMS:
            raise Refused(f"a list of {len(node.elts)} items (the limit is {MAX_LIST_ITEMS})", node)
        return [_literal(e, depth + 1) for e in node.elts]
    fallback = f"a {type(node).__name__} expression (only literals are allowed)"
    raise Refused(_NODE_NAMES.get(type(node), fallback), node)


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
    "dragRel": ("xOffset", "yOffset", "duration", "tween", "button", "logScreenshot", "_pause", "mouseDownUp"),
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
            raise Refused("**-unpacking of keyword arguments", kw)
    if fname == "hotkey":
        bound: dict[str, Any] = {"args": [_literal(a) for a in call.args]}
        for kw in call.keywords:
            if kw.arg != "interval":
                raise Refused(f"unknown keyword argument {kw.arg!r} for pyautogui.hotkey (allowed: interval)", kw)
            bound["interval"] = _literal(kw.value)
        return bound
    params = _SIGNATURES[fname] if fname != "time.sleep" else ("seconds",)
    if len(call.args) > len(params):
        raise Refused(
            f"{fname} takes at most {len(params)} positional arguments ({', '.join(params)}), got {len(call.args)}",
            call,
        )
    bound = {}
    for name, arg in zip(params, call.args, strict=False):
        bound[name] = (name, arg)
    for kw in call.keywords:
        if fname == "time.sleep" or kw.arg not in params:
            allowed = ", ".join(p for p in params if p not in _REFUSED_PARAMS)
            raise Refused(f"unknown keyword argument {kw.arg!r} for {fname} (allowed: {allowed})", kw)
        if kw.arg in bound:
            raise Refused(f"{fname} got argument {kw.arg!r} twice", kw)
        bound[kw.arg] = (kw.arg, kw.value)
    out: dict[str, Any] = {}
    for name, (_, node) in bound.items():
        if name in _REFUSED_PARAMS:
            raise Refused(_REFUSED_PARAMS[name], node)
        out[name] = _literal(node)
    return out


# ---- statements
_STMT_NAMES: dict[type, str] = {
    ast.Assign: "an assignment",
    ast.AugAssign: "an assignment",
    ast.AnnAssign: "an assignment",
    ast.For: "a loop",
    ast.AsyncFor: "a loop",
    ast.While: "a loop",
    ast.If: "an if statement",
    ast.With: "a with statement",
    ast.AsyncWith: "a with statement",
    ast.Try: "a try statement",
    ast.FunctionDef: "a function definition",
    ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition",
    ast.ImportFrom: "a from-import (write `import pyautogui`)",
    ast.Return: "return",
    ast.Delete: "del",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.Raise: "raise",
    ast.Assert: "assert",
    ast.Pass: "pass",
    ast.Break: "break",
    ast.Continue: "continue",
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
            raise Refused(f"pyautogui.{attr} is not in the allowlist (allowed: {allowed})", f)
        raise Refused(f"{base}.{attr} is not allowed; {_ONLY}", f)
    if isinstance(f, ast.Attribute):
        raise Refused(f"an attribute chain; {_ONLY}", f)
    if isinstance(f, ast.Name):
        raise Refused(f"calling {f.id}(); {_ONLY}", f)
    raise Refused("calling the result of an expression; only pyautogui.<function>(...) may be called", f)


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
    check_source(code, "action code")
    body, offset = strip_fence(code)
    special = body.strip()
    if special in SPECIAL_STRINGS:
        return [SPECIAL_STRINGS[special]()]
    if not special:
        raise ActionError("empty action: write pyautogui calls such as pyautogui.click(100, 200), or WAIT/DONE/FAIL")
    try:
        tree = ast.parse(body, mode="exec")
    except SyntaxError as exc:
        line = (exc.lineno or 1) + offset
        raise ActionError(
            f"line {line}: not valid Python ({exc.msg}); write pyautogui calls such as pyautogui.click(100, 200)"
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ActionError(f"action code cannot be parsed: {type(exc).__name__}: {str(exc)[:120]}") from None

    items: list[tuple[int, ast.stmt | ClickElement]] = [(s.lineno, s) for s in tree.body]
    for n, text in enumerate(body.splitlines(), start=1):
        m = _CLICK_ELEMENT_COMMENT.match(text)
        if m:
            button = cast(Button, m.group(2) or "left")  # the pattern admits left|right|middle only
            items.append((n, ClickElement(int(m.group(1)), button=button, clicks=int(m.group(3) or 1))))
    items.sort(key=lambda it: it[0])

    st = PointerState()
    actions: list[Action] = []
    for lineno, item in items:
        line = lineno + offset
        if isinstance(item, ClickElement):
            if not 1 <= item.clicks <= MAX_CLICKS:
                raise ActionError(f"line {line}: click_element clicks={item.clicks} out of range 1..{MAX_CLICKS}")
            actions.append(item)
            st.pos = None
            continue
        try:
            new = _statement(item, st)
        except Refused as exc:
            node = exc.node or item
            where = getattr(node, "lineno", lineno) + offset
            snip = _snippet(body, node)
            what = f" `{snip}`" if snip else ""
            raise ActionError(f"line {where}: refused{what}: {exc.reason}") from None
        for act in new:
            if (
                isinstance(act, Drag)
                and act.x1 is not None
                and actions
                and isinstance(actions[-1], Move)
                and not actions[-1].relative
                and (actions[-1].x, actions[-1].y) == (act.x1, act.y1)
            ):
                actions.pop()  # moveTo(a); dragTo(b) is one Drag from a
            actions.append(act)
        if len(actions) > MAX_ACTIONS:
            raise ActionError(f"line {line}: more than {MAX_ACTIONS} actions in one code string")
    if not actions:
        raise ActionError("no action found: the code only imports modules; add pyautogui calls, or WAIT/DONE/FAIL")
    return actions


def _statement(stmt: ast.stmt, st: PointerState) -> list[Action]:
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.name not in _ALLOWED_IMPORTS:
                raise Refused(f"importing {alias.name} (only `import pyautogui` and `import time` are allowed)", stmt)
            if alias.asname and alias.asname != alias.name:
                raise Refused(f"import aliases (`as {alias.asname}`); write `import {alias.name}`", stmt)
        return []
    if isinstance(stmt, ast.Expr):
        # Calls joined by commas (`write('5+10='), press('enter')`, or one call with a trailing comma) parse as
        # a tuple; small models write them often. Each element must itself be an allowed call, run in order.
        calls = stmt.value.elts if isinstance(stmt.value, ast.Tuple) else [stmt.value]
        out: list[Action] = []
        for node in calls:
            if not isinstance(node, ast.Call):
                what = _NODE_NAMES.get(type(node), type(node).__name__)
                raise Refused(f"a bare expression ({what}); only calls are allowed", stmt)
            fname = _func_name(node)
            out.extend(call_to_actions(fname, _bind(fname, node), st))
        return out
    what = _STMT_NAMES.get(type(stmt), type(stmt).__name__)
    raise Refused(f"{what} is not allowed; only pyautogui calls, time.sleep and imports of pyautogui/time", stmt)
