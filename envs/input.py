"""Execute typed actions on one X display: pyautogui for pointer and keys, keycode bindings for hard text.

Design notes:

* **pyautogui and several displays.** pyautogui opens an Xlib ``Display`` for ``$DISPLAY`` when it is
  imported and keeps it in the module global ``pyautogui._pyautogui_x11._display``. We import it once, with
  ``DISPLAY`` temporarily set to the first driver's display (so importing never connects to the user's own
  display), and each :class:`InputDriver` opens its *own* Xlib connection. Every pyautogui call runs under the
  module-level :data:`_X_LOCK` with that global swapped to the driver's connection, so drivers for different
  displays can be used from several threads of one process. The lock is held per sub-step (one key, one
  notch, one drag step), not per action, so long actions on two displays interleave. pyautogui's key-name ->
  keycode table is computed at import from the first display's keymap; every Xvfb uses the same default
  keymap, so it holds for all of them.
* ``pyautogui.PAUSE = 0`` and ``pyautogui.FAILSAFE = False``: the stop event replaces the corner fail-safe.
* **Text.** pyautogui types ``<`` as ``>`` on this keymap and silently drops non-ASCII. Text made only of
  printable ASCII (plus newline/tab) without ``<`` goes key by key through ``pyautogui.write``; in other text
  the characters the keymap lacks are bound to spare keycodes that stay bound (:mod:`envs.keymap_type`;
  ``xdotool type`` restores the keymap after every key, which lost characters when both cores were busy).
* **Stop.** ``execute(action, stop)`` checks the event between sub-steps (each key of typed text, each
  scroll notch, each drag step, each 20 ms slice of a wait or interval) and raises
  :class:`~studio.errors.ActionInterrupted` within 100 ms of the event being set. An interrupted drag
  releases its mouse button first.
* **Element clicks.** :class:`~envs.actions.ClickElement` needs the element's centre: pass
  ``element_xy=(x, y)`` or a ``resolve`` callable (element id -> (x, y); None or ``LookupError`` for an
  unknown id).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
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
from envs.errors import ActionError, ActionInterrupted, DisplayError
from envs.keymap_type import KeymapTyper

_X_LOCK = threading.RLock()
"""Guards pyautogui's module-global X connection (swapped per driver) and its import."""

_pyautogui: Any = None
_x11: Any = None

SLICE = 0.02  # seconds: granularity of stop checks while sleeping
# Seconds (times :func:`load_factor`) an app gets to read a key typed through a keycode binding before that keycode
# may be bound to another character (see envs.keymap_type). xdotool, which restores the keymap after every key, lost
# characters at 12 ms on a quiet machine and at 120 ms with both cores busy.
REBIND_SETTLE = 1.0
DRAG_STEP = 0.01  # seconds per drag step
MIN_DRAG_STEPS = 5  # a zero-duration drag still moves in steps: apps want motion with the button down
KEY_ALIASES = {"command": "win", "option": "alt", "optionleft": "altleft", "optionright": "altright"}
_PYAUTOGUI_SAFE_CHARS = frozenset(chr(c) for c in range(32, 127)) - {"<"} | {"\n", "\t"}


def _load_pyautogui(display: str) -> tuple[Any, Any]:
    """Import pyautogui once (with DISPLAY set to ``display`` during the import) and configure it."""
    global _pyautogui, _x11
    with _X_LOCK:
        if _pyautogui is None:
            old = os.environ.get("DISPLAY")
            os.environ["DISPLAY"] = display
            try:
                import pyautogui
                from pyautogui import _pyautogui_x11
            except Exception as exc:  # Xlib raises its own errors when the display is unreachable
                raise DisplayError(
                    f"cannot import pyautogui on display {display}: {exc}; is the X server "
                    "running (Xvfb) and DISPLAY reachable?"
                ) from exc
            finally:
                if old is None:
                    os.environ.pop("DISPLAY", None)
                else:
                    os.environ["DISPLAY"] = old
            pyautogui.PAUSE = 0
            pyautogui.FAILSAFE = False
            _pyautogui, _x11 = pyautogui, _pyautogui_x11
        return _pyautogui, _x11


def needs_binding(text: str) -> bool:
    """True if pyautogui would mangle ``text``: ``<``, non-ASCII, control characters except newline/tab."""
    return any(c not in _PYAUTOGUI_SAFE_CHARS for c in text)


#: Seconds between moving onto a target and pressing (see ``_click``).
CLICK_SETTLE = 0.03
#: Seconds (times :func:`load_factor`) between two presses of the same key when typing text (see ``_type``).
#: galculator shows a key's button pressed and un-presses it from a ~100 ms GLib timer; a second press of that key
#: before the timer has run is ignored. With both cores busy the timer runs late and a fixed 0.15 s lost keys.
REPEAT_GAP = 0.15
#: Ceiling of :func:`load_factor`.
MAX_LOAD_FACTOR = 4.0


def load_factor() -> float:
    """How many times slower than on a quiet machine apps now react: half the 1-minute load average per core, 1..4.

    Input that races an app's own processing (a key read after its temporary binding was removed, a repeated key
    arriving before galculator un-pressed its button) is spaced by this factor: on a quiet machine nothing changes;
    with both cores busy (load 16 on 2 cores) xterm lost remapped characters typed 30 ms apart. Half the load per
    core, so a moderately busy machine (load 4 on 2 cores) keeps the quiet pace: there the explorer's steps were
    10 % slower with the full load per core, for keys no app lost.
    """
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 1.0
    return min(MAX_LOAD_FACTOR, max(1.0, load / (2 * (os.cpu_count() or 1))))


class InputDriver:
    """Executes typed actions on one X display.

    Args:
        display: the X display, e.g. ``":57"``. The driver opens its own Xlib connection to it.

    Raises:
        DisplayError: the display cannot be opened.
    """

    def __init__(self, display: str) -> None:
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError as XDisplayError

        self.display = display
        self._pg, self._x11 = _load_pyautogui(display)
        try:
            self._xd = xdisplay.Display(display)
        except (XDisplayError, OSError, ValueError) as exc:
            raise DisplayError(f"cannot open X display {display}: {exc}") from exc
        self._typer = KeymapTyper(self._xd, _X_LOCK)
        self._closed = False

    # ---- public
    def close(self) -> None:
        """Close this driver's X connection. Idempotent."""
        if not self._closed:
            self._closed = True
            self._typer.close()
            try:
                self._xd.close()
            except Exception:  # noqa: BLE001 - the server may already be gone
                pass

    def __enter__(self) -> InputDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def position(self) -> tuple[int, int]:
        """Current pointer position on this display."""
        with _X_LOCK:
            data = self._xd.screen().root.query_pointer()
        return int(data.root_x), int(data.root_y)

    def size(self) -> tuple[int, int]:
        """Screen size of this display in pixels."""
        s = self._xd.screen()
        return int(s.width_in_pixels), int(s.height_in_pixels)

    def execute(
        self,
        action: Action,
        stop: threading.Event | None = None,
        *,
        element_xy: tuple[int, int] | None = None,
        resolve: Callable[[int], tuple[int, int] | None] | None = None,
    ) -> None:
        """Execute one typed action.

        Args:
            action: the action (validated first against the parser's limits).
            stop: when set, the action is cut short at the next sub-step (within 100 ms).
            element_xy: centre of the element for :class:`ClickElement`.
            resolve: instead of ``element_xy``: element id -> centre (None or LookupError: unknown id).

        Raises:
            ActionInterrupted: ``stop`` was set before or during the action.
            ActionError: invalid action, unknown element, or a key X11 cannot send.
        """
        from envs.action_parser import validate_action

        if self._closed:
            raise ActionError(f"the input driver for display {self.display} is closed")
        validate_action(action)
        self._check(stop, action)
        handler = self._HANDLERS.get(type(action))
        if handler is None:  # pragma: no cover - validate_action refuses unknown types
            raise ActionError(f"no executor for action {type(action).__name__}")
        if isinstance(action, ClickElement):
            self._click_element(action, stop, element_xy, resolve)
        else:
            handler(self, action, stop)

    # ---- helpers
    @staticmethod
    def _check(stop: threading.Event | None, action: Action) -> None:
        if stop is not None and stop.is_set():
            raise ActionInterrupted(f"{action.kind} action interrupted by a stop request")

    def _sleep(self, seconds: float, stop: threading.Event | None, action: Action) -> None:
        end = time.monotonic() + seconds
        while True:
            self._check(stop, action)
            left = end - time.monotonic()
            if left <= 0:
                return
            if stop is not None:
                if stop.wait(min(SLICE, left)):
                    self._check(stop, action)
            else:
                time.sleep(min(SLICE, left))

    def _pg_call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``pyautogui.<fn>`` with pyautogui's X connection swapped to this driver's display."""
        with _X_LOCK:
            self._x11._display = self._xd
            return getattr(self._pg, fn)(*args, **kwargs)

    def _x11_key(self, key: str) -> str:
        k = KEY_ALIASES.get(key, key)
        mapping = self._x11.keyboardMapping
        if mapping.get(k) is None and mapping.get(k.lower()) is None:
            raise ActionError(
                f"key {key!r} has no X11 keycode in pyautogui, so it cannot be sent; use another key name"
            )
        return k

    # ---- handlers
    def _move(self, a: Move, stop: threading.Event | None) -> None:
        if a.relative:
            self._pg_call("moveRel", a.x, a.y)
        else:
            self._pg_call("moveTo", a.x, a.y)

    def _click(self, a: Click, stop: threading.Event | None) -> None:
        if a.x is None or a.y is None:
            self._pg_call("click", clicks=a.clicks, interval=0.0, button=a.button)
        else:
            # GTK widgets (galculator's buttons) drop a press that arrives in the same instant as the pointer
            # entering them: move first, let the enter/motion events be processed, then press.
            self._pg_call("moveTo", a.x, a.y)
            self._sleep(CLICK_SETTLE, stop, a)
            self._pg_call("click", clicks=a.clicks, interval=0.0, button=a.button)

    def _mouse_down(self, a: MouseDown, stop: threading.Event | None) -> None:
        xy = () if a.x is None else (a.x, a.y)
        self._pg_call("mouseDown", *xy, button=a.button)

    def _mouse_up(self, a: MouseUp, stop: threading.Event | None) -> None:
        xy = () if a.x is None else (a.x, a.y)
        self._pg_call("mouseUp", *xy, button=a.button)

    def _drag(self, a: Drag, stop: threading.Event | None) -> None:
        if a.x1 is None or a.y1 is None:
            x1, y1 = self.position()
        else:
            x1, y1 = a.x1, a.y1
            self._pg_call("moveTo", x1, y1)
        x2, y2 = (x1 + a.x2, y1 + a.y2) if a.relative else (a.x2, a.y2)
        steps = max(MIN_DRAG_STEPS, round(a.duration / DRAG_STEP))
        pause = a.duration / steps
        self._pg_call("mouseDown", button=a.button)
        try:
            for i in range(1, steps + 1):
                self._check(stop, a)
                t = i / steps
                self._pg_call("moveTo", round(x1 + (x2 - x1) * t), round(y1 + (y2 - y1) * t))
                if pause > 0:
                    self._sleep(pause, stop, a)
        finally:
            self._pg_call("mouseUp", button=a.button)  # never leave the button held, also when interrupted

    def _scroll(self, a: Scroll, stop: threading.Event | None) -> None:
        if a.x is not None and a.y is not None:
            self._pg_call("moveTo", a.x, a.y)
        fn = "hscroll" if a.horizontal else "vscroll"
        notch = 1 if a.clicks > 0 else -1
        for _ in range(abs(a.clicks)):
            self._check(stop, a)
            self._pg_call(fn, notch)

    def _type(self, a: TypeText, stop: threading.Event | None) -> None:
        if needs_binding(a.text):
            self._keymap_type(a, stop)
            return
        for i, ch in enumerate(a.text):
            self._check(stop, a)
            if i and ch == a.text[i - 1]:
                # galculator animates a pressed button ~0.1 s and ignores the same key meanwhile: "1000" became "100"
                # (also at an interval of 0.1 s, the element actor's, on a busy machine)
                self._sleep(max(a.interval, REPEAT_GAP * load_factor()), stop, a)
            elif i and a.interval:
                self._sleep(a.interval, stop, a)
            self._pg_call("write", ch)

    def _keymap_type(self, a: TypeText, stop: threading.Event | None) -> None:
        """Type text pyautogui cannot (``<``, accents, CJK): missing characters through keycode bindings."""
        factor = load_factor()

        def gap(prev: str, ch: str) -> float:
            if not prev:
                return 0.0
            if ch == prev:
                return max(a.interval, REPEAT_GAP * factor)
            return a.interval

        self._typer.type(
            a.text,
            plain=_PYAUTOGUI_SAFE_CHARS.__contains__,
            press_plain=lambda ch: self._pg_call("write", ch),
            gap=gap,
            settle=REBIND_SETTLE * factor,
            check=lambda: self._check(stop, a),
            sleep=lambda s: self._sleep(s, stop, a),
        )

    def _key(self, a: Key, stop: threading.Event | None) -> None:
        if len(a.key) == 1 and needs_binding(a.key):  # '<' (pyautogui sends '>')
            for _ in range(a.presses):
                self._keymap_type(TypeText(a.key), stop)
            return
        k = self._x11_key(a.key)
        for _ in range(a.presses):
            self._check(stop, a)
            self._pg_call("press", k)

    def _key_down(self, a: KeyDown, stop: threading.Event | None) -> None:
        self._pg_call("keyDown", self._x11_key(a.key))

    def _key_up(self, a: KeyUp, stop: threading.Event | None) -> None:
        self._pg_call("keyUp", self._x11_key(a.key))

    def _hotkey(self, a: Hotkey, stop: threading.Event | None) -> None:
        keys = [self._x11_key(k) for k in a.keys]
        self._pg_call("hotkey", *keys)  # atomic: a half-pressed chord is worse than a late stop

    def _click_element(
        self,
        a: ClickElement,
        stop: threading.Event | None,
        element_xy: tuple[int, int] | None,
        resolve: Callable[[int], tuple[int, int] | None] | None,
    ) -> None:
        xy = element_xy
        if xy is None and resolve is not None:
            try:
                xy = resolve(a.element_id)
            except LookupError:
                xy = None
        if xy is None:
            raise ActionError(
                f"element {a.element_id} is not in the last observation's a11y table; "
                "observe again and use an id from the current table"
            )
        self._click(Click(int(xy[0]), int(xy[1]), button=a.button, clicks=a.clicks), stop)

    def _wait(self, a: Wait, stop: threading.Event | None) -> None:
        self._sleep(a.seconds, stop, a)

    def _noop(self, a: Action, stop: threading.Event | None) -> None:
        return None

    _HANDLERS: dict[type, Callable[..., None]] = {
        Move: _move,
        Click: _click,
        MouseDown: _mouse_down,
        MouseUp: _mouse_up,
        Drag: _drag,
        Scroll: _scroll,
        TypeText: _type,
        Key: _key,
        KeyDown: _key_down,
        KeyUp: _key_up,
        Hotkey: _hotkey,
        ClickElement: _click_element,
        Wait: _wait,
        Done: _noop,
        Fail: _noop,
    }
