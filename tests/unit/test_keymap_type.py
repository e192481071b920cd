"""Typing through keycode bindings, on a fake X connection (the real one: tests/integration/test_input.py)."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from envs.errors import ActionError
from envs.keymap_type import KeymapTyper, pieces

ASCII = frozenset(chr(c) for c in range(32, 127)) - {"<"}


class FakeX:
    """Keyboard map of keycodes 8..27, some spare; records what each pressed key types and every rebinding."""

    def __init__(self, spare: tuple[int, ...] = (9, 12, 20, 27)) -> None:
        self.display = SimpleNamespace(info=SimpleNamespace(min_keycode=8, max_keycode=27))
        self.map = {kc: ((0, 0) if kc in spare or kc == 8 else (0x61 + kc, 0x41 + kc)) for kc in range(8, 28)}
        self.typed: list[str] = []
        self.changes = 0

    def get_keyboard_mapping(self, first: int, count: int) -> list[tuple[int, ...]]:
        return [self.map[kc] for kc in range(first, first + count)]

    def change_keyboard_mapping(self, first: int, rows: list[tuple[int, ...]]) -> None:
        self.map[first] = rows[0]
        self.changes += 1

    def sync(self) -> None:
        pass

    def xtest_fake_input(self, event: int, keycode: int) -> None:
        from Xlib import X

        if event == X.KeyPress:
            sym = self.map[keycode][0]
            assert sym, f"keycode {keycode} pressed while unbound"
            self.typed.append({0xFF0D: "\n", 0xFF09: "\t"}.get(sym) or chr(sym & 0xFFFFFF))


def _type(typer: KeymapTyper, x: FakeX, text: str, check: Any = None, sleep: Any = None, settle: float = 0.0) -> None:
    typer.type(
        text,
        plain=ASCII.__contains__,
        press_plain=x.typed.append,
        gap=lambda p, c: 0.0,
        settle=settle,
        check=check or (lambda: None),
        sleep=sleep or (lambda s: None),
    )


def test_mixed_text_arrives_in_order_and_close_restores_the_keymap() -> None:
    x = FakeX()
    before = dict(x.map)
    typer = KeymapTyper(x, threading.Lock())
    _type(typer, x, "héllo 你好 <b>\n\tÿ")
    assert "".join(x.typed) == "héllo 你好 <b>\n\tÿ"
    typer.close()
    assert x.map == before


def test_bindings_stay_and_are_reused_by_the_next_text() -> None:
    x = FakeX()
    typer = KeymapTyper(x, threading.Lock())
    _type(typer, x, "éé")
    changes = x.changes
    _type(typer, x, "é<é")
    assert "".join(x.typed) == "ééé<é"
    assert x.changes == changes + 1  # only '<' was bound; 'é' kept its keycode


def test_more_distinct_characters_than_spare_keys_go_in_pieces_and_wait_before_rebinding() -> None:
    assert list(pieces("abcabd", 3, lambda c: False)) == ["abcab", "d"]
    assert list(pieces("aXbXc", 2, str.isupper)) == ["aXbX", "c"]
    assert list(pieces("", 3, lambda c: False)) == []
    x = FakeX(spare=(9, 12))
    typer = KeymapTyper(x, threading.Lock())
    slept: list[float] = []
    _type(typer, x, "αβγδα", sleep=slept.append, settle=5.0)
    assert "".join(x.typed) == "αβγδα"
    assert slept and all(4.0 < s <= 5.0 for s in slept)  # keycodes pressed just before were not rebound at once


def test_a_stop_mid_text_leaves_a_consistent_typer() -> None:
    x = FakeX()
    typer = KeymapTyper(x, threading.Lock())
    calls = {"n": 0}

    def check() -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise InterruptedError("stop")

    with pytest.raises(InterruptedError):
        _type(typer, x, "日本語です", check=check)
    assert "".join(x.typed) == "日本"
    _type(typer, x, "語")
    assert x.typed[-1] == "語"
    typer.close()
    assert all(x.map[kc] == (0, 0) for kc in (9, 12, 20, 27))


def test_no_spare_keycode_or_a_control_character_is_a_clear_error() -> None:
    x = FakeX(spare=())
    with pytest.raises(ActionError, match="no spare keycode"):
        _type(KeymapTyper(x, threading.Lock()), x, "é")
    x = FakeX()
    with pytest.raises(ActionError, match="control character"):
        _type(KeymapTyper(x, threading.Lock()), x, "a\x07<")
    assert x.typed == []  # refused before anything was typed


def test_model_text_can_only_bind_character_keysyms_never_function_keys() -> None:
    """Typed text is model output: whatever it holds, a binding is a plain character (Latin-1 printable or the
    Unicode keysym range) or Return/Tab — never a function keysym such as XF86Switch_VT_1 or Terminate_Server."""
    from envs.keymap_type import keysym_of

    allowed_special = {0xFF0D, 0xFF09}
    for cp in [*range(0x20, 0x3000), *range(0xD7F0, 0xE100), 0xFFFD, 0x1F600, 0x10FFFF]:
        ch = chr(cp)
        try:
            sym = keysym_of(ch)
        except ActionError:
            assert cp < 0x20 or 0x7F <= cp <= 0x9F or 0xD800 <= cp <= 0xDFFF
            continue
        assert sym in allowed_special or 0x20 <= sym <= 0xFF or 0x01000100 <= sym <= 0x0110FFFF, (cp, hex(sym))
    for ch in ("\x00", "\x1b", "\x07", "\x7f", "\x9b", "\ud800"):
        with pytest.raises(ActionError):
            keysym_of(ch)
    assert keysym_of("\n") == 0xFF0D and keysym_of("\t") == 0xFF09


def test_a_repeated_character_waits_the_repeat_gap_even_at_an_interval() -> None:
    """galculator ignores a key pressed again within ~0.1 s of itself: "1000-1=" typed at the element actor's
    0.1 s interval became "10-1=" on a busy machine. A repeat waits at least the repeat gap."""
    from envs.actions import TypeText
    from envs.input import REPEAT_GAP, InputDriver

    drv = object.__new__(InputDriver)
    sleeps: list[float] = []
    typed: list[str] = []
    drv._check = lambda stop, a: None  # type: ignore[method-assign]
    drv._sleep = lambda s, stop, a: sleeps.append(s)  # type: ignore[method-assign]
    drv._pg_call = lambda fn, *args, **kw: typed.append(args[0])  # type: ignore[method-assign]
    drv._type(TypeText("1000-1", interval=0.1), None)
    assert "".join(typed) == "1000-1"
    assert sleeps[:1] == [0.1] and all(s >= REPEAT_GAP for s in sleeps[1:3]) and sleeps[3:] == [0.1, 0.1]
