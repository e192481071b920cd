"""Real AT-SPI reads from sandboxed apps: the per-sandbox worker, bounds, text, failure messages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from envs.a11y import A11yClient
from envs.sandbox import Sandbox
from studio.errors import ObservationError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sb():
    with Sandbox(name="a11y").start() as s:
        yield s


def test_galculator_buttons_are_named_buttons_inside_its_window(sb: Sandbox) -> None:
    sb.launch_app("galculator")
    win = next(w for w in sb.windows() if w.wm_class == "Galculator")
    nodes, truncated = sb.a11y()
    assert not truncated
    buttons = {n.name: n for n in nodes if n.role in ("push button", "toggle button")}
    for label in ("7", "+", "=", "C"):
        assert label in buttons
        cx, cy = buttons[label].center
        assert win.x <= cx <= win.x + win.w and win.y <= cy <= win.y + win.h


def test_mousepad_text_is_read_through_the_text_interface(sb: Sandbox) -> None:
    sb.write_file("~/note.txt", "Grüße 42\n日本語".encode())
    sb.launch_app("mousepad", ["/home/user/note.txt"])
    env = {**os.environ, "DISPLAY": sb.display}
    sb.wait_settled()
    texts = [n.text for n in sb.a11y()[0] if n.role == "text"]
    assert "Grüße 42\n日本語" in texts
    # Opening a menu shows its items at the next read (the worker's cache follows the app).
    subprocess.run(["xdotool", "key", "alt+f"], env=env, check=True)
    sb.wait_settled()
    items = {n.name for n in sb.a11y()[0] if n.role == "menu item"}
    assert "Save As..." in items
    subprocess.run(["xdotool", "key", "Escape"], env=env, check=True)
    sb.wait_settled()
    assert "Save As..." not in {n.name for n in sb.a11y()[0] if n.role == "menu item"}


def test_spreadsheet_tree_is_bounded(sb: Sandbox) -> None:
    sb.launch_app("gnumeric")
    nodes, truncated = sb.a11y(max_nodes=1500, timeout=3.0)
    assert not truncated and 0 < len(nodes) < 1500
    few, cut = sb.a11y(max_nodes=5)
    assert cut and len(few) == 5
    assert [n.id for n in few] == [0, 1, 2, 3, 4]


def test_xterm_has_no_tree_but_does_not_break_reads(sb: Sandbox) -> None:
    sb.launch_app("xterm")
    nodes, _ = sb.a11y()
    assert nodes  # the GTK apps launched before are still read


def test_worker_is_restarted_after_it_dies(sb: Sandbox) -> None:
    sb.a11y()
    client = sb._a11y_client()
    assert client._proc is not None
    client._proc.kill()
    client._proc.wait()
    nodes, _ = sb.a11y()
    assert nodes


def test_missing_pygobject_gives_clear_error(sb: Sandbox) -> None:
    code = "import sys, runpy; sys.modules['gi'] = None; runpy.run_module('envs.a11y_worker', run_name='__main__')"

    def spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    client = A11yClient({**sb.env, "DISPLAY": sb.display}, spawn=spawn)
    try:
        with pytest.raises(ObservationError, match=r"gir1\.2-atspi-2\.0.*PyGObject<3\.51"):
            client.tree()
    finally:
        client.close()
