"""The window manager runs inside with the studio's configuration: no menu, one key binding (a terminal inside)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from _support import host_ns, wait_for

from envs import cleanup
from envs.actions import Click, Hotkey, Key
from envs.sandbox import Sandbox


def _host_pids_outside(sb: Sandbox) -> set[int]:
    assert sb.init_pid is not None
    ns = host_ns(sb.init_pid, "pid")
    out = set()
    for pid in cleanup.tagged_pids(sb.id):
        try:
            if host_ns(pid, "pid") != ns:
                out.add(pid)
        except OSError:
            continue
    return out


def test_openbox_config_has_no_menus_and_one_binding(sb: Sandbox) -> None:
    rc = sb.read_file("/etc/xdg/openbox/rc.xml")
    assert rc is not None
    text = rc.decode()
    assert re.findall(r'<keybind key="([^"]+)"', text) == ["C-A-t"]
    assert "ShowMenu" not in text and '<context name="Root"/>' in text
    assert text.count('<action name="Execute">') == 1
    menu = sb.read_file("/etc/xdg/openbox/menu.xml")
    assert menu is not None and b"<item" not in menu
    wm = sb.run("ps -eo args | grep -c '^openbox .*--config-file /etc/xdg/openbox/rc.xml'", shell=True)
    assert wm.stdout.strip() == "1"  # openbox runs inside the sandbox, with this file
    assert sb.run(["touch", "/etc/xdg/openbox/rc.xml"]).returncode != 0  # the user cannot change it


@pytest.mark.parametrize("button", ["right", "middle", "left"])
def test_clicks_on_the_desktop_open_nothing(sb: Sandbox, button: str) -> None:
    before_wins = {w.window_id for w in sb.windows()}
    before_host = _host_pids_outside(sb)
    sb.execute(Click(x=sb.width - 5, y=sb.height - 5, button=button))
    sb.wait_settled()
    time.sleep(0.5)
    assert {w.window_id for w in sb.windows()} == before_wins
    assert _host_pids_outside(sb) <= before_host
    sb.execute(Key(key="escape"))


def test_key_bindings_only_open_a_terminal_inside(sb: Sandbox, tmp_path: Path) -> None:
    from envs.actions import TypeText

    before_host = _host_pids_outside(sb)
    for keys in (
        ["alt", "f2"],
        ["alt", "f1"],
        ["winleft"],
        ["ctrl", "alt", "delete"],
        ["alt", "tab"],
        ["ctrl", "escape"],
        ["alt", "f3"],
        ["ctrl", "alt", "backspace"],
    ):
        before = {w.window_id for w in sb.windows()}
        sb.execute(Hotkey(keys=keys))
        sb.wait_settled()
        assert {w.window_id for w in sb.windows()} <= before, keys
    before = {w.window_id for w in sb.windows()}
    sb.execute(Hotkey(keys=["ctrl", "alt", "t"]))
    term = wait_for(lambda: [w for w in sb.windows() if w.window_id not in before and w.wm_class == "XTerm"])
    assert term
    time.sleep(1.0)
    marker = f"/tmp/from-terminal-{tmp_path.name}"
    sb.execute(TypeText(text=f"echo pwned > {marker}; id -u > {marker}.id\n"))
    wait_for(lambda: sb.read_file(f"{marker}.id"))
    assert sb.read_file(f"{marker}.id") == b"1000\n"
    assert not Path(marker).exists()  # the host's /tmp is untouched: the terminal runs inside
    assert _host_pids_outside(sb) - before_host <= {p for p in _host_pids_outside(sb) if _is_nsenter(p)}


def _is_nsenter(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() in ("nsenter", "python3", "python")
    except OSError:
        return False
