"""Unit tests of envs.action_parser: allowlisted pyautogui code strings, computer_13, the inverse."""

from __future__ import annotations

import pytest

from envs.action_code import actions_to_pyautogui, to_pyautogui
from envs.action_parser import (
    KEYBOARD_KEYS,
    MAX_SOURCE_CHARS,
    normalize_key,
    parse_action_text,
    parse_computer13,
    parse_computer13_actions,
    parse_pyautogui,
    validate_action,
)
from envs.actions import (
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
    action_to_dict,
)
from studio.errors import ActionError

# ---- accepted forms


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("pyautogui.click(100, 200)", [Click(100, 200)]),
        ("pyautogui.click(x=100, y=200)", [Click(100, 200)]),
        ("pyautogui.click((100, 200))", [Click(100, 200)]),
        ("pyautogui.click()", [Click()]),
        ("pyautogui.click(100, 200, clicks=2, button='right')", [Click(100, 200, button="right", clicks=2)]),
        ("pyautogui.click(100, 200, 2, 0.1, 'middle')", [Click(100, 200, button="middle", clicks=2)]),
        ("pyautogui.click(10.7, 20.2)", [Click(10, 20)]),
        ("pyautogui.click(button='primary')", [Click()]),
        ("pyautogui.click(1, 2, button='SECONDARY')", [Click(1, 2, button="right")]),
        ("pyautogui.doubleClick(5, 6)", [Click(5, 6, clicks=2)]),
        ("pyautogui.tripleClick(5, 6)", [Click(5, 6, clicks=3)]),
        ("pyautogui.rightClick(5, 6)", [Click(5, 6, button="right")]),
        ("pyautogui.middleClick()", [Click(button="middle")]),
        ("pyautogui.leftClick(1, 1)", [Click(1, 1)]),
        ("pyautogui.moveTo(300, 400)", [Move(300, 400)]),
        ("pyautogui.moveTo(300, 400, duration=0.5)", [Move(300, 400)]),
        ("pyautogui.moveTo(300, 400, 0.5)", [Move(300, 400)]),
        ("pyautogui.moveRel(10, -5)", [Move(10, -5, relative=True)]),
        ("pyautogui.move(10, -5)", [Move(10, -5, relative=True)]),
        ("pyautogui.moveTo(100, 100); pyautogui.moveRel(10, -5)", [Move(100, 100), Move(110, 95)]),
        ("pyautogui.dragTo(50, 60)", [Drag(None, None, 50, 60, duration=0.0)]),
        (
            "pyautogui.dragTo(50, 60, duration=1.0, button='left', mouseDownUp=True)",
            [Drag(None, None, 50, 60, duration=1.0)],
        ),
        ("pyautogui.dragRel(30, 0, duration=0.3)", [Drag(None, None, 30, 0, duration=0.3, relative=True)]),
        ("pyautogui.drag(30, 0)", [Drag(None, None, 30, 0, duration=0.0, relative=True)]),
        ("pyautogui.moveTo(10, 20); pyautogui.dragTo(50, 60, duration=0.5)", [Drag(10, 20, 50, 60, duration=0.5)]),
        ("pyautogui.moveTo(10, 20)\npyautogui.dragRel(5, 5)", [Drag(10, 20, 15, 25, duration=0.0)]),
        (
            "pyautogui.click(10, 20); pyautogui.dragTo(50, 60, button='right')",
            [Click(10, 20), Drag(10, 20, 50, 60, button="right", duration=0.0)],
        ),
        (
            "pyautogui.mouseDown(5, 5); pyautogui.dragTo(9, 9, mouseDownUp=False); pyautogui.mouseUp()",
            [MouseDown(5, 5), Move(9, 9), MouseUp()],
        ),
        ("pyautogui.mouseDown(button='right')", [MouseDown(button="right")]),
        ("pyautogui.mouseUp(1, 2, 'middle')", [MouseUp(1, 2, button="middle")]),
        ("pyautogui.scroll(-3)", [Scroll(-3)]),
        ("pyautogui.scroll(-3, x=100, y=200)", [Scroll(-3, 100, 200)]),
        ("pyautogui.scroll(5, 100, 200)", [Scroll(5, 100, 200)]),
        ("pyautogui.vscroll(2)", [Scroll(2)]),
        ("pyautogui.hscroll(-4)", [Scroll(-4, horizontal=True)]),
        ("pyautogui.typewrite('abc')", [TypeText("abc")]),
        ("pyautogui.typewrite('abc', interval=0.05)", [TypeText("abc", interval=0.05)]),
        ("pyautogui.write('héllo <b> 你好 😀')", [TypeText("héllo <b> 你好 😀")]),
        ("pyautogui.typewrite(message='x')", [TypeText("x")]),
        ("pyautogui.typewrite(['a', 'enter'])", [Key("a"), Key("enter")]),
        ("pyautogui.typewrite('line\\n')", [TypeText("line\n")]),
        ("pyautogui.press('enter')", [Key("enter")]),
        ("pyautogui.press('Enter')", [Key("enter")]),
        ("pyautogui.press('A')", [Key("A")]),
        ("pyautogui.press('enter', presses=3)", [Key("enter", presses=3)]),
        ("pyautogui.press(['a', 'b'])", [Key("a"), Key("b")]),
        ("pyautogui.press(['a', 'b'], presses=2)", [Key("a"), Key("b"), Key("a"), Key("b")]),
        ("pyautogui.press(['tab'], 4)", [Key("tab", presses=4)]),
        (
            "pyautogui.keyDown('shift'); pyautogui.press('a'); pyautogui.keyUp('shift')",
            [KeyDown("shift"), Key("a"), KeyUp("shift")],
        ),
        ("pyautogui.hotkey('ctrl', 's')", [Hotkey(("ctrl", "s"))]),
        ("pyautogui.hotkey('Ctrl', 'Shift', 'T')", [Hotkey(("ctrl", "shift", "T"))]),
        ("pyautogui.hotkey(['ctrl', 'c'])", [Hotkey(("ctrl", "c"))]),
        ("pyautogui.hotkey('ctrl', 'a', interval=0.1)", [Hotkey(("ctrl", "a"))]),
        ("time.sleep(0.5)", [Wait(0.5)]),
        ("time.sleep(2)", [Wait(2.0)]),
        ("import pyautogui\nimport time\npyautogui.click(1, 2)\ntime.sleep(1)", [Click(1, 2), Wait(1.0)]),
        ("import pyautogui, time; pyautogui.click(1, 2)", [Click(1, 2)]),
        ("pyautogui.click(1, 2)  # a comment\n\n# another\npyautogui.press('enter')", [Click(1, 2), Key("enter")]),
        ("pyautogui.click(+1, 2)", [Click(1, 2)]),
        ("WAIT", [Wait()]),
        ("  DONE\n", [Done()]),
        ("FAIL", [Fail()]),
        ("```python\npyautogui.click(1, 2)\n```", [Click(1, 2)]),
        ("```\npyautogui.click(1, 2)\npyautogui.press('enter')\n```", [Click(1, 2), Key("enter")]),
        ("```py\nimport pyautogui; pyautogui.click(1, 2)```", [Click(1, 2)]),
        ("```WAIT```", [Wait()]),
        ("```\nDONE\n```", [Done()]),
        ("# click_element(12)", [ClickElement(12)]),
        (
            "# click_element(7, button='right', clicks=2)\npyautogui.typewrite('x')",
            [ClickElement(7, button="right", clicks=2), TypeText("x")],
        ),
    ],
)
def test_accepts(code: str, expected: list) -> None:
    assert parse_pyautogui(code) == expected


def test_many_statements_keep_order() -> None:
    code = "pyautogui.click(1, 2); pyautogui.typewrite('hi'); pyautogui.press('enter'); time.sleep(0.2)"
    assert [a.kind for a in parse_pyautogui(code)] == ["click", "type", "key", "wait"]


def test_drag_after_unrelated_move_keeps_the_move() -> None:
    acts = parse_pyautogui("pyautogui.moveTo(1, 1); pyautogui.moveTo(5, 5); pyautogui.dragTo(9, 9)")
    assert acts == [Move(1, 1), Drag(5, 5, 9, 9, duration=0.0)]


def test_click_element_position_unknown_after_it() -> None:
    acts = parse_pyautogui("# click_element(3)\npyautogui.dragTo(9, 9)")
    assert acts == [ClickElement(3), Drag(None, None, 9, 9, duration=0.0)]


# ---- refused forms (hostile or malformed)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("__import__('os').system('rm -rf /')", "attribute chain"),
        ("__import__('os')", "calling __import__()"),
        ("exec('print(1)')", "calling exec()"),
        ("eval('1')", "calling eval()"),
        ("open('/etc/passwd')", "calling open()"),
        ("os.system('ls')", "os.system is not allowed"),
        ("import os", "importing os"),
        ("import subprocess; pyautogui.click(1, 2)", "importing subprocess"),
        ("from os import system", "from-import"),
        ("from pyautogui import click", "from-import"),
        ("import pyautogui as pg", "import aliases"),
        ("pyautogui.platformModule._click(1, 2, 'left')", "attribute chain"),
        ("pyautogui.__class__.__init__", "bare expression"),
        ("pyautogui.screenshot()", "pyautogui.screenshot is not in the allowlist"),
        ("pyautogui.locateOnScreen('a.png')", "not in the allowlist"),
        ("pyautogui.run('c100,200')", "not in the allowlist"),
        ("time.time()", "time.time is not allowed"),
        ("getattr(pyautogui, 'click')(1, 2)", "calling the result"),
        ("pyautogui.click(x, 2)", "variable name"),
        ("pyautogui.typewrite(f'{secret}')", "f-string"),
        ("pyautogui.typewrite(f'abc')", "f-string"),
        ("pyautogui.click(int('1'), 2)", "nested call"),
        ("pyautogui.typewrite(open('/etc/passwd').read())", "nested call"),
        ("pyautogui.typewrite([c for c in 'abc'])", "comprehension"),
        ("pyautogui.typewrite((lambda: 'a')())", "nested call"),
        ("pyautogui.click(*[1, 2])", "*-unpacking"),
        ("pyautogui.click(**{'x': 1})", "**-unpacking"),
        ("pyautogui.typewrite('a' * 100)", "operation"),
        ("pyautogui.typewrite('a' + 'b')", "operation"),
        ("pyautogui.click(pos[0], 2)", "subscript"),
        ("pyautogui.click(1 if True else 2, 2)", "conditional"),
        ("pyautogui.typewrite({'a': 1})", "a dict"),
        ("pyautogui.typewrite(b'abc')", "bytes literal"),
        ("pyautogui.click(1j, 2)", "complex literal"),
        ("pyautogui.click(-(1), 2)", "screen coordinate"),
        ("pyautogui.click(-x, 2)", "unary operator"),
        ("x = 1", "assignment"),
        ("for i in range(3): pyautogui.click(1, 2)", "loop"),
        ("while True: pass", "loop"),
        ("if True: pyautogui.click(1, 2)", "if statement"),
        ("def f(): pass", "function definition"),
        ("class A: pass", "class definition"),
        ("with open('x') as f: pass", "with statement"),
        ("try:\n    pass\nexcept Exception:\n    pass", "try statement"),
        ("pass", "pass"),
        ("pyautogui", "bare expression"),
        ("'just a string'", "bare expression"),
        ("pyautogui.write('a'), os.system('id')", "os.system is not allowed"),
        ("pyautogui.write('a'), __import__('os').system('id')", "__import__"),
        ("pyautogui.write('a'), 3", "bare expression"),
        ("(pyautogui.write('a'), (pyautogui.press('enter'),))", "bare expression"),
        ("pyautogui.click(1, 2, foo=3)", "unknown keyword argument 'foo'"),
        ("pyautogui.typewrite('a', speed=3)", "unknown keyword argument 'speed'"),
        ("pyautogui.click(1, 2, tween=pyautogui.easeInQuad)", "tween functions are not allowed"),
        ("pyautogui.click(1, 2, tween=None)", "tween"),
        ("pyautogui.dragTo(1, 2, 0.5, 'linear')", "tween"),
        ("pyautogui.dragTo(1, 2, logScreenshot=True)", "logScreenshot"),
        ("pyautogui.click(1, 2, 1, 0, 'left', 0, None, 9)", "at most"),
        ("pyautogui.click(1, x=2)", "twice"),
        ("pyautogui.click('button.png')", "locating an image"),
        ("pyautogui.click(1)", "both x and y"),
        ("pyautogui.click(y=1)", "both x and y"),
        ("pyautogui.click((1, 2, 3))", "exactly 2"),
        ("pyautogui.click(-5, 3)", "sane screen coordinate"),
        ("pyautogui.click(1, 99999)", "sane screen coordinate"),
        ("pyautogui.click(1e308, 1)", "sane screen coordinate"),
        ("pyautogui.click(10**100, 1)", "operation"),
        ("pyautogui.click(100000000000000000000, 1)", "far too large"),
        ("pyautogui.click(True, 1)", "must be a number"),
        ("pyautogui.click('1', '2')", "locating an image"),
        ("pyautogui.click(1, 2, clicks=1000)", "clicks=1000 is out of range"),
        ("pyautogui.click(1, 2, clicks=0)", "out of range"),
        ("pyautogui.click(1, 2, clicks=1.5)", "must be an integer"),
        ("pyautogui.click(1, 2, button='fourth')", "not a mouse button"),
        ("pyautogui.click(1, 2, button=4)", "not a mouse button"),
        ("pyautogui.moveTo()", "needs both x and y"),
        ("pyautogui.moveTo(1, 2, duration=3600)", "duration"),
        ("pyautogui.moveRel(99999, 0)", "sane offset"),
        ("pyautogui.dragTo(1, 2, mouseDownUp='yes')", "mouseDownUp"),
        ("pyautogui.scroll()", "needs the number of clicks"),
        ("pyautogui.scroll(1e9)", "out of range"),
        ("pyautogui.scroll('up')", "must be an integer"),
        ("pyautogui.press('entr')", "did you mean 'enter'"),
        ("pyautogui.press('é')", "unknown key"),
        ("pyautogui.press('')", "unknown key"),
        ("pyautogui.press(['a', 1])", "must be a string key name"),
        ("pyautogui.press([])", "empty list"),
        ("pyautogui.press('a', presses=10000)", "presses=10000 is out of range"),
        ("pyautogui.press(['a', 'b', 'c'], presses=50)", "exceeds"),
        ("pyautogui.press()", "needs a key"),
        ("pyautogui.keyDown('super')", "unknown key"),
        ("pyautogui.hotkey()", "at least one key"),
        ("pyautogui.hotkey('ctrl', 'nope')", "unknown key"),
        ("pyautogui.hotkey(*['a'] * 10)", "*-unpacking"),
        ("pyautogui.hotkey('a','b','c','d','e','f','g','h','i')", "limit is 8"),
        ("pyautogui.hotkey('ctrl', 'c', foo=1)", "unknown keyword argument"),
        ("pyautogui.typewrite('')", "empty"),
        ("pyautogui.typewrite(5)", "must be a string"),
        ("pyautogui.typewrite(None)", "must be a string"),
        ("pyautogui.typewrite('a\\x00b')", "NUL"),
        ("pyautogui.typewrite('a', interval=5)", "interval"),
        ("pyautogui.typewrite()", "needs the text"),
        ("time.sleep(3600)", "out of range"),
        ("time.sleep(-1)", "out of range"),
        ("time.sleep('1')", "seconds"),
        ("time.sleep(seconds=1)", "unknown keyword argument"),
        ("time.sleep()", "needs the number of seconds"),
        ("pyautogui.click(1, 2", "not valid Python"),
        ("", "empty action"),
        ("   \n ", "empty action"),
        ("import pyautogui", "no action found"),
        ("# just a comment", "no action found"),
        ("wait", "bare expression"),
        ("DONE; pyautogui.click(1, 2)", "bare expression"),
        ("pyautogui.click([[[1]]], 2)", "nested more than two deep"),
        ("# click_element(1, clicks=9)", "out of range"),
    ],
)
def test_refuses(code: str, fragment: str) -> None:
    with pytest.raises(ActionError) as info:
        parse_pyautogui(code)
    assert fragment in str(info.value), str(info.value)


def test_refusal_names_line_and_code() -> None:
    code = "import pyautogui\npyautogui.click(1, 2)\nos.system('rm -rf /')\npyautogui.press('enter')"
    with pytest.raises(ActionError) as info:
        parse_pyautogui(code)
    msg = str(info.value)
    assert msg.startswith("line 3: refused `os.system`")


def test_refusal_line_inside_fence_counts_fence_line() -> None:
    with pytest.raises(ActionError, match=r"^line 3:"):
        parse_pyautogui("```python\npyautogui.click(1, 2)\nx = 1\n```")


def test_refusal_line_of_semicolon_statement() -> None:
    with pytest.raises(ActionError, match=r"^line 2: refused `y = 2`"):
        parse_pyautogui("pyautogui.click(1, 2)\npyautogui.press('a'); y = 2")


def test_nothing_is_executed(tmp_path) -> None:
    marker = tmp_path / "pwned"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    with pytest.raises(ActionError):
        parse_pyautogui(code)
    assert not marker.exists()


def test_huge_source_refused() -> None:
    with pytest.raises(ActionError, match="limit is 20000"):
        parse_pyautogui("pyautogui.click(1, 2)\n" * 2000)


def test_huge_string_refused() -> None:
    with pytest.raises(ActionError, match="limit is 10000"):
        parse_pyautogui("pyautogui.typewrite('" + "a" * 15_000 + "')")


def test_string_at_limit_accepted() -> None:
    (act,) = parse_pyautogui("pyautogui.typewrite('" + "a" * 10_000 + "')")
    assert isinstance(act, TypeText) and len(act.text) == 10_000


def test_too_many_actions_refused() -> None:
    with pytest.raises(ActionError, match="more than 200 actions"):
        parse_pyautogui("pyautogui.press('a');" * 300)


def test_deep_nesting_does_not_crash() -> None:
    for code in ("pyautogui.click(" + "[" * 5000 + "]" * 5000 + ")", "(" * 5000 + ")" * 5000, "-" * 15000 + "1"):
        with pytest.raises(ActionError):
            parse_pyautogui(code)


def test_null_byte_and_non_string_input() -> None:
    with pytest.raises(ActionError):
        parse_pyautogui("pyautogui.click(1, 2)\x00")
    with pytest.raises(ActionError, match="must be a string"):
        parse_pyautogui(None)  # type: ignore[arg-type]


def test_unknown_key_suggestion_and_normalize_key() -> None:
    assert normalize_key("ENTER") == "enter"
    assert normalize_key("A") == "A"
    assert "enter" in KEYBOARD_KEYS and "ctrl" in KEYBOARD_KEYS and "<" in KEYBOARD_KEYS
    with pytest.raises(ActionError, match="did you mean"):
        normalize_key("escap")


# ---- computer_13


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"action_type": "MOVE_TO", "parameters": {"x": 10, "y": 20}}, Move(10, 20)),
        ({"action_type": "CLICK", "parameters": {"button": "right", "num_clicks": 1}}, Click(button="right")),
        ({"action_type": "CLICK", "parameters": {"x": 1, "y": 2, "num_clicks": 2}}, Click(1, 2, clicks=2)),
        ({"action_type": "CLICK"}, Click()),
        ({"action_type": "MOUSE_DOWN", "parameters": {"button": "left"}}, MouseDown()),
        ({"action_type": "MOUSE_UP", "parameters": {}}, MouseUp()),
        ({"action_type": "RIGHT_CLICK", "parameters": {"x": 5, "y": 6}}, Click(5, 6, button="right")),
        ({"action_type": "DOUBLE_CLICK", "parameters": {"x": 5, "y": 6}}, Click(5, 6, clicks=2)),
        ({"action_type": "DRAG_TO", "parameters": {"x": 5, "y": 6}}, Drag(None, None, 5, 6, duration=1.0)),
        ({"action_type": "SCROLL", "parameters": {"dy": -3}}, Scroll(-3)),
        ({"action_type": "SCROLL", "parameters": {"dx": 2}}, Scroll(2, horizontal=True)),
        ({"action_type": "SCROLL", "parameters": {"dx": 0, "dy": 4}}, Scroll(4)),
        ({"action_type": "TYPING", "parameters": {"text": "héllo <x>"}}, TypeText("héllo <x>")),
        ({"action_type": "PRESS", "parameters": {"key": "Enter"}}, Key("enter")),
        ({"action_type": "KEY_DOWN", "parameters": {"key": "shift"}}, KeyDown("shift")),
        ({"action_type": "KEY_UP", "parameters": {"key": "shift"}}, KeyUp("shift")),
        ({"action_type": "HOTKEY", "parameters": {"keys": ["ctrl", "s"]}}, Hotkey(("ctrl", "s"))),
        ({"action_type": "WAIT"}, Wait()),
        ({"action_type": "FAIL"}, Fail()),
        ({"action_type": "done", "parameters": {}}, Done()),
    ],
)
def test_computer13(obj: dict, expected) -> None:
    assert parse_computer13(obj) == expected


def test_computer13_scroll_both_axes() -> None:
    obj = {"action_type": "SCROLL", "parameters": {"dx": 1, "dy": -2}}
    assert parse_computer13_actions(obj) == [Scroll(1, horizontal=True), Scroll(-2)]
    with pytest.raises(ActionError, match="two actions"):
        parse_computer13(obj)


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ({"action_type": "EXEC", "parameters": {"cmd": "ls"}}, "unknown computer_13 action_type"),
        ({"parameters": {}}, "unknown computer_13 action_type"),
        ({"action_type": "CLICK", "parameters": {"x": 1, "y": 2, "z": 3}}, "unknown parameters ['z']"),
        ({"action_type": "CLICK", "parameters": {"x": 1}}, "both x and y"),
        ({"action_type": "CLICK", "parameters": {"x": "1", "y": 2}}, "locating an image"),
        ({"action_type": "MOVE_TO", "parameters": {}}, "needs both"),
        ({"action_type": "PRESS", "parameters": {"key": "notakey"}}, "unknown key"),
        ({"action_type": "PRESS", "parameters": {}}, "needs key"),
        ({"action_type": "HOTKEY", "parameters": {"keys": "ctrl+c"}}, "non-empty list"),
        ({"action_type": "TYPING", "parameters": {"text": 5}}, "must be a string"),
        ({"action_type": "SCROLL", "parameters": {}}, "needs dx"),
        ({"action_type": "CLICK", "parameters": "x=1"}, "parameters must be an object"),
        ({"action_type": "CLICK", "extra": 1}, "unknown fields"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_computer13_refuses(obj, fragment: str) -> None:
    with pytest.raises(ActionError) as info:
        parse_computer13_actions(obj)
    assert fragment in str(info.value), str(info.value)


# ---- parse_action_text


def test_action_text_dispatch() -> None:
    assert parse_action_text('{"action_type": "CLICK", "parameters": {"x": 1, "y": 2}}') == [Click(1, 2)]
    assert parse_action_text('{"kind": "key", "key": "enter", "presses": 2}') == [Key("enter", presses=2)]
    assert parse_action_text('[{"kind": "move", "x": 1, "y": 2}, {"action_type": "DONE"}]') == [Move(1, 2), Done()]
    assert parse_action_text('```json\n{"action_type": "WAIT"}\n```') == [Wait()]
    assert parse_action_text("pyautogui.click(1, 2)") == [Click(1, 2)]
    assert parse_action_text("DONE") == [Done()]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"action_type": "CLICK", ', "does not parse"),
        ('{"foo": 1}', "'action_type'"),
        ('{"kind": "explode"}', "unknown action kind"),
        ('{"kind": "key", "key": "nope"}', "unknown key"),
        ('{"kind": "click", "x": -1, "y": 2}', "sane screen coordinate"),
        ('{"kind": "type", "text": "a", "evil": 1}', "unknown fields"),
        ("[]", "empty JSON list"),
        ("[1]", "must be an object"),
        ("os.system('x')", "os.system is not allowed"),
    ],
)
def test_action_text_refuses(text: str, fragment: str) -> None:
    with pytest.raises(ActionError) as info:
        parse_action_text(text)
    assert fragment in str(info.value), str(info.value)


def test_action_text_size_cap() -> None:
    with pytest.raises(ActionError, match="limit"):
        parse_action_text("x" * (MAX_SOURCE_CHARS + 1))


# ---- the inverse and round trips

ROUND_TRIP_CODES = [
    "pyautogui.click(100, 200)",
    "pyautogui.click()",
    "pyautogui.rightClick(5, 6)",
    "pyautogui.click(1, 2, clicks=3, button='middle')",
    "pyautogui.moveTo(300, 400)",
    "pyautogui.moveRel(-10, 5)",
    "pyautogui.moveTo(10, 10); pyautogui.moveRel(-5, 5)",
    "pyautogui.dragTo(50, 60, duration=0.5, button='right')",
    "pyautogui.dragRel(30, -20)",
    "pyautogui.moveTo(10, 20); pyautogui.dragTo(50, 60)",
    "pyautogui.moveTo(10, 20); pyautogui.dragRel(5, 5, duration=1.0)",
    "pyautogui.mouseDown(); pyautogui.mouseUp(button='right')",
    "pyautogui.mouseDown(3, 4, button='middle'); pyautogui.mouseUp(5, 6)",
    "pyautogui.scroll(-3); pyautogui.hscroll(2, x=5, y=6)",
    "pyautogui.typewrite('héllo <b> \"q\" \\'s\\' \\\\ 你好 😀\\n\\t')",
    "pyautogui.typewrite('slow', interval=0.05)",
    "pyautogui.typewrite(['a', 'enter', 'tab'])",
    "pyautogui.press('enter', presses=3); pyautogui.press(['x', 'y'], presses=2)",
    "pyautogui.keyDown('shift'); pyautogui.press('A'); pyautogui.keyUp('shift')",
    "pyautogui.hotkey('ctrl', 'shift', 't')",
    "time.sleep(0.25)",
    "WAIT",
    "DONE",
    "FAIL",
    "# click_element(12)",
    "# click_element(3, button='right', clicks=2)\npyautogui.typewrite('x')",
]


@pytest.mark.parametrize("code", ROUND_TRIP_CODES)
def test_round_trip(code: str) -> None:
    actions = parse_pyautogui(code)
    rendered = actions_to_pyautogui(actions)
    assert parse_pyautogui(rendered) == actions, rendered


ALL_ACTIONS = [
    Move(1, 2),
    Move(-3, 4, relative=True),
    Click(),
    Click(5, 6, button="right", clicks=2),
    MouseDown(),
    MouseUp(1, 2, button="middle"),
    Drag(1, 2, 3, 4),
    Drag(None, None, 7, 8, duration=0.0),
    Drag(None, None, -7, 8, relative=True, duration=1.5, button="right"),
    Scroll(-3),
    Scroll(2, 1, 1, horizontal=True),
    TypeText("a<b>c é 你"),
    TypeText("x", interval=0.1),
    Key("enter"),
    Key("tab", presses=5),
    KeyDown("ctrl"),
    KeyUp("ctrl"),
    Hotkey(("ctrl", "c")),
    ClickElement(4),
    ClickElement(9, button="right", clicks=2),
    Wait(1.5),
]


@pytest.mark.parametrize("action", ALL_ACTIONS, ids=lambda a: a.kind)
def test_every_action_renders_and_parses_back(action) -> None:
    validate_action(action)
    assert parse_pyautogui(to_pyautogui(action)) == [action]


@pytest.mark.parametrize("action", [Done(), Fail()])
def test_terminal_actions_render_as_special_strings(action) -> None:
    assert parse_pyautogui(to_pyautogui(action)) == [action]
    with pytest.raises(ActionError):
        actions_to_pyautogui([Click(1, 2), action])


def test_drag_relative_with_known_start_renders_absolute() -> None:
    code = to_pyautogui(Drag(10, 10, 5, -5, relative=True))
    assert parse_pyautogui(code) == [Drag(10, 10, 15, 5, duration=0.2)]


def test_click_element_with_coordinates_is_executable_pyautogui() -> None:
    code = to_pyautogui(ClickElement(12, clicks=2), element_xy=(640, 400))
    assert code == "pyautogui.click(640, 400, clicks=2)  # click_element(12, clicks=2)"
    assert parse_pyautogui(code) == [Click(640, 400, clicks=2)]
    rendered = actions_to_pyautogui([ClickElement(1), ClickElement(2)], element_xy={1: (3, 4)}.get)
    assert parse_pyautogui(rendered) == [Click(3, 4), ClickElement(2)]


def test_to_pyautogui_is_plain_literals_only() -> None:
    """What we store must itself pass the allowlist (no f-strings, no expressions)."""
    for action in ALL_ACTIONS:
        parse_pyautogui(to_pyautogui(action))


def test_validate_action_rejects_bad_values() -> None:
    for bad in (
        Click(1, None),
        Move(-1, 2),
        Key("nope"),
        Hotkey(()),
        TypeText(""),
        Wait(1000.0),
        Scroll(10**6),
        Drag(1, 2, 3, 99999),
        ClickElement(1, clicks=0),
    ):
        with pytest.raises(ActionError):
            validate_action(bad)


def test_dict_round_trip_of_parsed_actions() -> None:
    from envs.actions import action_from_dict

    for action in ALL_ACTIONS:
        assert action_from_dict(action_to_dict(action)) == action


def test_calls_joined_by_commas_run_in_order() -> None:
    """Small models write `write('5+10='),` (a trailing comma) or two calls on one line joined by a comma: a
    tuple of calls. Each element must be an allowed call (the refusals are in the table above)."""
    from envs.actions import Key, TypeText

    assert parse_pyautogui("pyautogui.write('5+10='), ") == [TypeText("5+10=")]
    assert parse_pyautogui("pyautogui.write('test'), pyautogui.press('enter')") == [TypeText("test"), Key("enter")]
