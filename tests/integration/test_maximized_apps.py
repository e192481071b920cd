"""Real apps fill their sandbox's screen (the studio's openbox rule maximizes normal windows), as on a desktop.

Geometry comes from python-xlib (``Sandbox.windows``), which agrees with the screenshot's pixels; a maximized
window keeps openbox's title bar, so its client area is the screen minus that bar. Dialogs are not maximized.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from envs.apps import load_profile
from envs.observation import WindowInfo
from envs.sandbox import Sandbox

pytestmark = pytest.mark.integration

W, H = 1024, 700
TITLE_BAR_MAX = 40  # openbox's title bar and border, generously


def _installed(app: str) -> bool:
    return shutil.which(load_profile(app).argv[0]) is not None


def _window(sb: Sandbox, wm_class: str, timeout: float = 30.0) -> WindowInfo | None:
    """The app's window once it is maximized (or the last geometry seen, for the failure message)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        wins = [w for w in sb.windows() if w.wm_class.lower() == wm_class.lower()]
        if wins:
            last = max(wins, key=lambda w: w.w * w.h)
            if last.w >= W - 10 and last.h >= H - TITLE_BAR_MAX:
                return last
        time.sleep(0.2)
    return last


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "app", ["galculator", "mousepad", "xterm", "gnumeric", "chromium", "libreoffice-calc", "libreoffice-writer"]
)
def test_app_window_fills_the_screen(app: str) -> None:
    if not _installed(app):
        pytest.skip(f"{app} is not installed (apt package {load_profile(app).apt_package})")
    with Sandbox(width=W, height=H, name=f"max-{app}").start() as sb:
        sb.launch_app(app)
        win = _window(sb, load_profile(app).wm_class)
        assert win is not None
        # xterm sizes itself in character cells: it may stop up to one cell short of the edge
        slack = 24 if app == "xterm" else 10
        assert win.x <= slack and win.w >= W - slack, win
        assert win.y <= TITLE_BAR_MAX and win.y + win.h >= H - slack, win


def _net_wm_state(sb: Sandbox, window_id: int) -> str:
    out = subprocess.run(
        ["xprop", "-id", str(window_id), "_NET_WM_WINDOW_TYPE", "_NET_WM_STATE"],
        env={**os.environ, "DISPLAY": sb.display},
        capture_output=True,
        text=True,
        timeout=10,
    )
    return out.stdout


def test_a_dialog_is_not_maximized() -> None:
    from envs.actions import Hotkey

    with Sandbox(width=W, height=H, name="max-dialog").start() as sb:
        sb.launch_app("mousepad")
        main = _window(sb, "Mousepad")
        assert main is not None
        assert "_NET_WM_STATE_MAXIMIZED_HORZ" in _net_wm_state(sb, main.window_id)
        before = {w.window_id for w in sb.windows()}
        sb.execute(Hotkey(keys=["ctrl", "o"]))  # the Open dialog (a transient dialog window)
        deadline = time.monotonic() + 30
        new: list[WindowInfo] = []
        while time.monotonic() < deadline and not new:
            new = [w for w in sb.windows() if w.window_id not in before]
            time.sleep(0.2)
        assert new, "the Open dialog did not appear"
        state = _net_wm_state(sb, new[0].window_id)
        assert "_NET_WM_WINDOW_TYPE_DIALOG" in state
        assert "MAXIMIZED" not in state  # (GTK may still size a file chooser to a small screen by itself)
