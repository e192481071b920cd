"""Type any text on an X display: characters the keymap lacks are bound to spare keycodes, pressed with XTest.

pyautogui can only press keys the keymap already has (it types ``<`` as ``>`` and drops non-ASCII). ``xdotool
type`` binds a missing character to a scratch keycode, presses it and restores the keymap right after each key; when
the app reads the key event only after that restore (both cores busy), it sees a keycode without a symbol and the
character is lost (measured: ``'héllo 你好'`` arrived as ``'hllo '`` at load 19 on 2 cores).

:class:`KeymapTyper` keeps its bindings instead: a character it bound once stays on its keycode (the character in
every column, so no modifier is needed) until the keycode is needed for another character, and a keycode pressed
less than ``settle`` seconds ago is not rebound before that time has passed. Spare keycodes are those without any
symbol when the typer first looks (18 on Xvfb's default keymap); text with more distinct unbound characters than
that is typed in pieces. :meth:`KeymapTyper.close` gives the keycodes back. Characters the keymap has are pressed
by the caller's ``press_plain`` (pyautogui, which handles shift), in order on the same X connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from envs.errors import ActionError

#: Keysyms of the control characters typed text may contain.
_SPECIAL_KEYSYMS = {"\n": 0xFF0D, "\r": 0xFF0D, "\t": 0xFF09}  # Return, Tab
#: Keycodes below this are never used (8 is the lowest legal keycode; some toolkits ignore it).
_MIN_SPARE = 9


def keysym_of(ch: str) -> int:
    """The X keysym that types ``ch``: Latin-1 maps to itself, everything else to the Unicode keysym range."""
    if ch in _SPECIAL_KEYSYMS:
        return _SPECIAL_KEYSYMS[ch]
    cp = ord(ch)
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp
    if cp < 0x20 or 0x7F <= cp <= 0x9F:  # C0, DEL and C1 controls
        raise ActionError(f"cannot type the control character {ch!r}; use a key action instead")
    if 0xD800 <= cp <= 0xDFFF:
        raise ActionError(f"cannot type the lone surrogate {ch!r}: it is not a character")
    return 0x01000000 + cp


def pieces(text: str, n_keys: int, plain: Callable[[str], bool]) -> Iterator[str]:
    """Consecutive pieces of ``text``, each with at most ``n_keys`` distinct characters that are not ``plain``."""
    start, seen = 0, set[str]()
    for i, ch in enumerate(text):
        if not plain(ch) and ch not in seen:
            if len(seen) == n_keys:
                yield text[start:i]
                start, seen = i, set()
            seen.add(ch)
    if start < len(text):
        yield text[start:]


class KeymapTyper:
    """Types text on one X display connection, binding missing characters to spare keycodes (see module doc).

    Args:
        xd: an open ``Xlib.display.Display`` (with the XTEST extension, as every Xvfb has).
        lock: held around every X request (the connection is shared with pyautogui's calls).
    """

    def __init__(self, xd: Any, lock: AbstractContextManager[Any]) -> None:
        self._xd = xd
        self._lock = lock
        self._spare: list[int] | None = None
        self._width = 1
        self._bound: dict[str, int] = {}  # character -> keycode, most recently used last
        self._pressed_at: dict[int, float] = {}  # keycode -> monotonic time of its last press

    def _spare_keycodes(self) -> list[int]:
        if self._spare is None:
            info = self._xd.display.info
            first, last = int(info.min_keycode), int(info.max_keycode)
            rows = self._xd.get_keyboard_mapping(first, last - first + 1)
            self._spare = [first + i for i, row in enumerate(rows) if not any(row) and first + i >= _MIN_SPARE]
            self._width = len(rows[0]) if rows else 1
        return self._spare

    def type(
        self,
        text: str,
        *,
        plain: Callable[[str], bool],
        press_plain: Callable[[str], None],
        gap: Callable[[str, str], float],
        settle: float,
        check: Callable[[], None],
        sleep: Callable[[float], None],
    ) -> None:
        """Type ``text``.

        Args:
            text: any Unicode text, newlines and tabs included.
            plain: whether a character is pressed by ``press_plain`` (the keymap has it) rather than bound here.
            press_plain: presses one plain character.
            gap: seconds to wait before a key, given (previous character, this character); ``""`` for the first.
            settle: seconds an app gets to read a key before its keycode may be bound to another character.
            check: called before every key; raises to interrupt (a stop request).
            sleep: waits that many seconds, raising like ``check`` when interrupted meanwhile.

        Raises:
            ActionError: the display has no spare keycode, or a character cannot be typed.
        """
        from Xlib import X

        syms = {ch: keysym_of(ch) for ch in set(text) if not plain(ch)}  # refuse untypable text first
        spare = self._spare_keycodes() if syms else []
        if syms and not spare:
            raise ActionError("the display's keymap has no spare keycode to type non-keymap characters with")
        prev = ""
        for piece in pieces(text, len(spare), plain) if syms else [text]:
            self._bind([ch for ch in dict.fromkeys(piece) if ch in syms], syms, settle, sleep)
            for ch in piece:
                check()
                pause = gap(prev, ch)
                if pause > 0:
                    sleep(pause)
                if ch not in syms:
                    press_plain(ch)
                else:
                    kc = self._bound[ch]
                    with self._lock:
                        self._xd.xtest_fake_input(X.KeyPress, kc)
                        self._xd.xtest_fake_input(X.KeyRelease, kc)
                        self._xd.sync()
                    self._pressed_at[kc] = time.monotonic()
                prev = ch

    def _bind(self, chars: list[str], syms: dict[str, int], settle: float, sleep: Callable[[float], None]) -> None:
        """Make every character of ``chars`` bound, reusing bindings and evicting least recently used others."""
        spare = self._spare_keycodes()
        need = [ch for ch in chars if ch not in self._bound]
        for ch in chars:  # keep the ones already bound, mark them recently used
            if ch in self._bound:
                self._bound[ch] = self._bound.pop(ch)
        if not need:
            return
        used = set(self._bound.values())
        free = [kc for kc in spare if kc not in used]
        evictable = [c for c in self._bound if c not in chars]  # least recently used first
        targets: list[int] = []
        for _ in need:
            if free:
                targets.append(free.pop(0))
            else:
                targets.append(self._bound.pop(evictable.pop(0)))
        wait = max((self._pressed_at.get(kc, 0.0) + settle - time.monotonic() for kc in targets), default=0.0)
        if wait > 0:
            sleep(wait)  # the app may not have read that keycode's last press yet
        with self._lock:
            for ch, kc in zip(need, targets, strict=True):
                self._xd.change_keyboard_mapping(kc, [(syms[ch],) * self._width])
            self._xd.sync()
        for ch, kc in zip(need, targets, strict=True):
            self._bound[ch] = kc

    def close(self) -> None:
        """Remove every binding this typer made (best effort: the display may be gone)."""
        if not self._bound:
            return
        try:
            with self._lock:
                for kc in self._bound.values():
                    self._xd.change_keyboard_mapping(kc, [(0,) * self._width])
                self._xd.sync()
        except Exception:  # noqa: BLE001 - the X server may already be gone
            pass
        self._bound.clear()
