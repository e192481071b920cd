"""Real integration tests of envs.input.InputDriver on bare Xvfb displays (own Xvfb, xterm, python-xlib)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from envs.action_parser import parse_pyautogui
from envs.actions import (
    Click,
    ClickElement,
    Drag,
    Hotkey,
    Key,
    KeyDown,
    KeyUp,
    Move,
    Scroll,
    TypeText,
    Wait,
)
from studio.errors import ActionError, ActionInterrupted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool"),
]


class _Xvfb:
    """A bare Xvfb on a free display number (``-displayfd``), killed on close."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            pass_fds=(w,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(w)
        data = b""
        deadline = time.monotonic() + 10
        while not data.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(r, 64)
            if not chunk:
                break
            data += chunk
        os.close(r)
        if not data.strip():
            self.close()
            raise RuntimeError("Xvfb did not report a display number")
        self.display = ":" + data.decode().strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def xvfb() -> Iterator[_Xvfb]:
    x = _Xvfb()
    yield x
    x.close()


@pytest.fixture(scope="module")
def driver(xvfb: _Xvfb):
    from envs.input import InputDriver

    d = InputDriver(xvfb.display)
    yield d
    d.close()


def _pointer(display: str) -> tuple[int, int]:
    """Pointer position read over an independent Xlib connection."""
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        p = d.screen().root.query_pointer()
        return p.root_x, p.root_y
    finally:
        d.close()


class _EventWindow:
    """A python-xlib window that records pointer and key events delivered to it."""

    def __init__(self, display: str, w: int = 600, h: int = 600) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self.X = X
        self.d = xdisplay.Display(display)
        root = self.d.screen().root
        mask = (
            X.ButtonPressMask
            | X.ButtonReleaseMask
            | X.PointerMotionMask
            | X.KeyPressMask
            | X.KeyReleaseMask
            | X.StructureNotifyMask
        )
        self.win = root.create_window(0, 0, w, h, 0, self.d.screen().root_depth, event_mask=mask)
        self.win.map()
        self.d.sync()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # wait for MapNotify
            if self.d.pending_events() and self.d.next_event().type == X.MapNotify:
                break
            time.sleep(0.01)
        self.win.set_input_focus(X.RevertToParent, X.CurrentTime)
        self.d.sync()

    def events(self, settle: float = 0.3) -> list:
        time.sleep(settle)
        self.d.sync()
        out = []
        while self.d.pending_events():
            out.append(self.d.next_event())
        return out

    def close(self) -> None:
        self.win.destroy()
        self.d.close()


@pytest.fixture
def event_window(xvfb: _Xvfb) -> Iterator[_EventWindow]:
    w = _EventWindow(xvfb.display)
    w.events(0.05)
    yield w
    w.close()


# ---- pointer


def test_move_click_drag_scroll_move_the_real_pointer(driver, xvfb: _Xvfb) -> None:
    driver.execute(Move(100, 150))
    assert _pointer(xvfb.display) == (100, 150) == driver.position()
    driver.execute(Move(10, -20, relative=True))
    assert _pointer(xvfb.display) == (110, 130)
    driver.execute(Click(300, 200))
    assert _pointer(xvfb.display) == (300, 200)
    driver.execute(Drag(10, 10, 250, 260, duration=0.05))
    assert _pointer(xvfb.display) == (250, 260)
    driver.execute(Drag(None, None, 20, 30, relative=True, duration=0.0))
    assert _pointer(xvfb.display) == (270, 290)
    driver.execute(Scroll(-2, 500, 400))
    assert _pointer(xvfb.display) == (500, 400)
    driver.execute(ClickElement(7), element_xy=(42, 43))
    assert _pointer(xvfb.display) == (42, 43)
    driver.execute(ClickElement(8), resolve={8: (60, 61)}.__getitem__)
    assert _pointer(xvfb.display) == (60, 61)


def test_unknown_element_is_an_action_error(driver) -> None:
    with pytest.raises(ActionError, match="element 9"):
        driver.execute(ClickElement(9), resolve={8: (60, 61)}.__getitem__)
    with pytest.raises(ActionError, match="element 9"):
        driver.execute(ClickElement(9))


def test_button_and_key_events_reach_a_window(driver, event_window: _EventWindow) -> None:
    X = event_window.X
    driver.execute(Click(50, 60, button="right"))
    driver.execute(Click(70, 80, clicks=2))
    driver.execute(Scroll(-3, 100, 100))
    driver.execute(Scroll(2, horizontal=True))
    evs = event_window.events()
    presses = [(e.detail, e.event_x, e.event_y) for e in evs if e.type == X.ButtonPress]
    assert presses == [
        (3, 50, 60),
        (1, 70, 80),
        (1, 70, 80),
        (5, 100, 100),
        (5, 100, 100),
        (5, 100, 100),
        (7, 100, 100),
        (7, 100, 100),
    ]
    assert sum(e.type == X.ButtonRelease for e in evs) == len(presses)

    driver.execute(Drag(100, 100, 300, 300, duration=0.1))
    evs = event_window.events()
    kinds = [e.type for e in evs if e.type in (X.ButtonPress, X.MotionNotify, X.ButtonRelease)]
    assert kinds[0] in (X.ButtonPress, X.MotionNotify) and kinds[-1] == X.ButtonRelease
    press_i = kinds.index(X.ButtonPress)
    moves_while_down = kinds[press_i:].count(X.MotionNotify)
    assert moves_while_down >= 5  # a real drag: several motion events with the button held
    release = [e for e in evs if e.type == X.ButtonRelease][-1]
    assert (release.event_x, release.event_y) == (300, 300)

    driver.execute(Move(200, 200))
    event_window.events(0.05)
    driver.execute(Key("a"))
    driver.execute(Hotkey(("ctrl", "s")))
    driver.execute(KeyDown("shift"))
    driver.execute(KeyUp("shift"))
    evs = event_window.events()
    d = event_window.d
    from Xlib import XK

    pressed = [
        XK.keysym_to_string(d.keycode_to_keysym(e.detail, 0)) or d.keycode_to_keysym(e.detail, 0)
        for e in evs
        if e.type == X.KeyPress
    ]
    ctrl = d.keysym_to_keycode(XK.string_to_keysym("Control_L"))
    shift = d.keysym_to_keycode(XK.string_to_keysym("Shift_L"))
    codes = [e.detail for e in evs if e.type == X.KeyPress]
    assert pressed[0] == "a"
    assert codes[1:] == [ctrl, d.keysym_to_keycode(XK.string_to_keysym("s")), shift]


# ---- typing into a real terminal


@pytest.fixture
def xterm_cat(xvfb: _Xvfb, tmp_path: Path):
    """An xterm whose shell runs ``cat > out.txt`` in a private directory; yields (out path, finish())."""
    if not shutil.which("xterm"):
        pytest.skip("xterm is not installed")
    out = tmp_path / "out.txt"
    env = {**os.environ, "DISPLAY": xvfb.display, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    proc = subprocess.Popen(
        ["xterm", "-u8", "-geometry", "80x24+0+0", "-e", "sh", "-c", f"stty -echo; exec cat > {out}"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_for_window(xvfb.display, "xterm", proc)

    def finish(driver) -> str:
        driver.execute(Key("enter"))
        driver.execute(Hotkey(("ctrl", "d")))
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        return out.read_text(encoding="utf-8")

    yield out, finish
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait_for_window(display: str, cls: str, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--class", cls],
            capture_output=True,
            text=True,
            env={**os.environ, "DISPLAY": display},
        )
        if r.stdout.strip():
            time.sleep(0.3)  # let the shell start cat
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{cls} exited early ({proc.returncode})")
        time.sleep(0.05)
    raise RuntimeError(f"no {cls} window appeared on {display}")


def test_types_ascii_angle_brackets_and_unicode_into_xterm(driver, xterm_cat) -> None:
    _out, finish = xterm_cat
    ascii_text = "Hello World 123 !@#$%^&*()_+-=[]{};:'\",./?|\\`~"
    code = (
        "pyautogui.moveTo(200, 150)\n"
        f"pyautogui.typewrite({ascii_text!r})\n"
        "pyautogui.press('enter')\n"
        "pyautogui.typewrite('a <b> c > d')\n"
        "pyautogui.press('enter')\n"
        "pyautogui.write('héllo 你好')\n"
        "pyautogui.press('enter')\n"
        "pyautogui.press('<'); pyautogui.press('>'); pyautogui.typewrite(['x', 'y'])"
    )
    for action in parse_pyautogui(code):
        driver.execute(action)
    text = finish(driver)
    assert text.splitlines() == [ascii_text, "a <b> c > d", "héllo 你好", "<>xy"]


def test_stop_interrupts_long_pyautogui_typewrite(driver, xterm_cat) -> None:
    _out, finish = xterm_cat
    driver.execute(Move(200, 150))
    full = "abcdefghij" * 300
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(ActionInterrupted):
        driver.execute(TypeText(full, interval=0.002), stop)
    text = finish(driver).strip()
    assert 0 < len(text) < len(full)
    assert full.startswith(text)


def test_stop_interrupts_long_keymap_type(driver, xterm_cat) -> None:
    _out, finish = xterm_cat
    driver.execute(Move(200, 150))
    full = "é<" * 400
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(ActionInterrupted):
        driver.execute(TypeText(full, interval=0.02), stop)  # ~16 s of typing, stopped after 0.3 s
    text = finish(driver).strip()
    assert len(text) < len(full)


def test_stop_interrupts_wait_drag_and_scroll(driver, xvfb: _Xvfb) -> None:
    for action in (Wait(30.0), Drag(0, 0, 1000, 700, duration=10.0), Scroll(-1000, 10, 10)):
        stop = threading.Event()
        threading.Timer(0.2, stop.set).start()
        t0 = time.monotonic()
        with pytest.raises(ActionInterrupted):
            driver.execute(action, stop)
        assert time.monotonic() - t0 < 5  # loose: only proves it did not run to the end
    stop = threading.Event()
    stop.set()
    with pytest.raises(ActionInterrupted):
        driver.execute(Move(1, 1), stop)


def test_interrupted_drag_releases_the_button(driver, event_window: _EventWindow) -> None:
    X = event_window.X
    stop = threading.Event()
    threading.Timer(0.15, stop.set).start()
    with pytest.raises(ActionInterrupted):
        driver.execute(Drag(50, 50, 500, 500, duration=5.0), stop)
    evs = event_window.events()
    buttons = [e.type for e in evs if e.type in (X.ButtonPress, X.ButtonRelease)]
    assert buttons == [X.ButtonPress, X.ButtonRelease]


# ---- several displays from one process


def test_two_drivers_on_two_displays_move_their_own_pointer(driver, xvfb: _Xvfb) -> None:
    from envs.input import InputDriver

    other = _Xvfb(800, 600)
    try:
        with InputDriver(other.display) as d2:
            driver.execute(Move(11, 22))
            d2.execute(Move(333, 444))
            assert _pointer(xvfb.display) == (11, 22)
            assert _pointer(other.display) == (333, 444)

            errors: list[BaseException] = []

            def run(d, action) -> None:
                try:
                    d.execute(action)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [
                threading.Thread(target=run, args=(driver, Drag(0, 0, 700, 500, duration=0.3))),
                threading.Thread(target=run, args=(d2, Drag(600, 500, 5, 6, duration=0.3))),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert not errors
            assert _pointer(xvfb.display) == (700, 500)
            assert _pointer(other.display) == (5, 6)
    finally:
        other.close()


def test_importing_never_needs_the_users_display(xvfb: _Xvfb) -> None:
    """A fresh interpreter without DISPLAY can drive the sandbox display (pyautogui imported lazily)."""
    import sys

    code = (
        "from envs.input import InputDriver\nfrom envs.actions import Move\n"
        f"d = InputDriver({xvfb.display!r}); d.execute(Move(77, 88)); print(d.position())\n"
        "import os; assert 'DISPLAY' not in os.environ"
    )
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    r = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(77, 88)"
