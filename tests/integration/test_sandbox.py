"""Real sandbox: Xvfb + an isolated machine (D-Bus, openbox, apps), observed with mss, python-xlib and AT-SPI."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from envs import cleanup
from envs.sandbox import Sandbox

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from envs.sandbox import Sandbox
sb = Sandbox(name="child").start()
sb.launch_app("xterm")
sb.a11y()
print(json.dumps({{"id": sb.id, "display": sb.display, "dir": str(sb.runtime_dir)}}), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def _start_child() -> tuple[subprocess.Popen[str], dict[str, str], list[int]]:
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT))], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    info = json.loads(child.stdout.readline())
    pids = cleanup.tagged_pids(info["id"])
    assert len(pids) >= 5  # Xvfb, dbus, at-spi, openbox, nsenter/xterm, a11y worker ...
    assert Path(f"/tmp/.X{info['display'][1:]}-lock").exists()
    return child, info, pids


def _assert_nothing_left(info: dict[str, str], pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (any(_alive(p) for p in pids) or cleanup.tagged_pids(info["id"])):
        time.sleep(0.05)
    assert [p for p in pids if _alive(p)] == []
    assert cleanup.tagged_pids(info["id"]) == []
    num = info["display"][1:]
    lock = Path(f"/tmp/.X{num}-lock")
    try:
        owner = lock.read_text().strip()
    except FileNotFoundError:
        assert not Path(f"/tmp/.X11-unix/X{num}").exists()
    else:
        # Another sandbox on this machine (tests run in parallel) may claim the freed display number at once: the
        # lock must then belong to that new server (or be its empty O_EXCL claim), never to one of ours.
        assert owner == "" or int(owner) not in pids
    assert not Path(info["dir"]).exists()


def test_mousepad_window_a11y_and_screenshot() -> None:
    with Sandbox().start() as sb:
        assert sb.display != os.environ.get("DISPLAY") and sb.display.startswith(":")
        sb.launch_app("mousepad")
        wins = sb.windows()
        mp = [w for w in wins if w.wm_class == "Mousepad"]
        assert mp and mp[0].focused and mp[0].w > 100 and mp[0].h > 100
        assert "Mousepad" in mp[0].title
        obs = sb.observe()
        assert (obs.width, obs.height) == (1280, 800)
        img = Image.open(io.BytesIO(obs.screenshot_png))
        assert img.size == (1280, 800)
        assert max(ImageStat.Stat(img.convert("L")).stddev) > 10  # not a blank screen
        roles = {(n.role, n.name) for n in obs.a11y_nodes}
        assert ("menu", "File") in roles and ("menu", "Edit") in roles
        assert any(n.role == "text" for n in obs.a11y_nodes)
        assert [n.id for n in obs.a11y_nodes] == list(range(len(obs.a11y_nodes)))
        assert set(obs.timings) >= {"screenshot", "a11y", "windows"}
        for n in obs.a11y_nodes:  # boxes are on screen
            assert n.w > 0 and n.h > 0 and n.x < 1280 and n.y < 800
        assert "File" in obs.a11y_table
        assert sb.wait_settled(timeout=3.0) < 3.0


def test_custom_size_and_settle_timeout() -> None:
    with Sandbox(width=800, height=600).start() as sb:
        f = sb.grab()
        assert (f.width, f.height) == (800, 600)
        assert len(f.bgra) == 800 * 600 * 4
        assert sb.wait_settled(timeout=1.0, stable=2) < 1.0


def test_two_sandboxes_do_not_see_each_other() -> None:
    with Sandbox(name="a").start() as a, Sandbox(name="b").start() as b:
        assert a.display != b.display
        a.launch_app("galculator")
        b.launch_app("mousepad")
        assert {w.wm_class for w in a.windows()} == {"Galculator"}
        assert {w.wm_class for w in b.windows()} == {"Mousepad"}
        a_roles = {n.name for n in a.a11y()[0]}
        b_roles = {n.name for n in b.a11y()[0]}
        assert "Document" not in a_roles and "Document" in b_roles
        assert "sqrt" in a_roles and "sqrt" not in b_roles
        assert a.env["DBUS_SESSION_BUS_ADDRESS"] != b.env["DBUS_SESSION_BUS_ADDRESS"]


def test_activate_window() -> None:
    with Sandbox().start() as sb:
        sb.launch_app("galculator")
        sb.launch_app("mousepad")
        assert [w.wm_class for w in sb.windows() if w.focused] == ["Mousepad"]
        assert sb.activate_window("galculator", by_class=True)
        assert [w.wm_class for w in sb.windows() if w.focused] == ["Galculator"]
        assert not sb.activate_window("no such window")


def test_close_window_asks_the_window_manager() -> None:
    with Sandbox().start() as sb:
        sb.launch_app("galculator")
        sb.launch_app("mousepad")
        assert sb.close_window("galculator", by_class=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "Galculator" in {w.wm_class for w in sb.windows()}:
            time.sleep(0.1)
        assert {w.wm_class for w in sb.windows()} == {"Mousepad"}
        assert not sb.close_window("no such window")


def test_apps_have_private_home_tmp_and_no_network() -> None:
    with Sandbox().start() as sb:
        r = sb.run("echo hello > ~/probe.txt && echo tmp > /tmp/t.txt && echo $HOME && pwd", shell=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["/home/user", "/home/user"]
        assert sb.read_file("~/probe.txt") == b"hello\n"
        assert sb.read_file("/tmp/t.txt") == b"tmp\n"
        copy = sb.copy_out("probe.txt")
        assert copy is not None and copy.read_bytes() == b"hello\n" and copy.is_relative_to(sb.runtime_dir)
        sb.write_file("~/sub/dir/w.txt", b"written")
        assert sb.run(["cat", "/home/user/sub/dir/w.txt"]).stdout == "written"
        assert sb.read_file("~/missing") is None and sb.read_file("/dev/zero") is None
        assert not Path("/root/probe.txt").exists() and not Path("/tmp/t.txt").exists()
        # Only loopback inside, and connecting out fails.
        ifaces = sb.run(["cat", "/proc/net/dev"]).stdout
        assert [ln.split(":")[0].strip() for ln in ifaces.splitlines()[2:]] == ["lo"]
        probe = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"
        assert sb.run(["python3", "-c", probe]).returncode != 0
        # The real home is hidden, the system is read-only.
        assert sb.run(["ls", "/root"]).stdout.strip() == ""
        assert sb.run(["touch", "/usr/probe"]).returncode != 0
    with Sandbox(network=True).start() as sb:
        ifaces = sb.run(["cat", "/proc/net/dev"]).stdout
        host = Path("/proc/net/dev").read_text()
        assert len(ifaces.splitlines()) == len(host.splitlines())


def test_run_timeout_kills() -> None:
    from studio.errors import SandboxError

    with Sandbox().start() as sb:
        t = time.monotonic()
        with pytest.raises(SandboxError, match="longer than"):
            sb.run(["sleep", "30"], timeout=0.5)
        assert time.monotonic() - t < 10


def test_existing_display_is_explicit_and_left_alone() -> None:
    with Sandbox().start() as host:
        host.launch_app("galculator")
        guest = Sandbox(existing_display=host.display).start()
        try:
            assert guest.display == host.display
            assert [w.wm_class for w in guest.windows()] == ["Galculator"]
            guest.launch_app("xterm")
        finally:
            guest.close()
        # The guest killed only what it launched; the host desktop is intact.
        assert [w.wm_class for w in host.windows()] == ["Galculator"]
        assert host.grab().width == 1280


def test_sigkill_of_owner_is_cleaned_at_next_start() -> None:
    child, info, pids = _start_child()
    child.send_signal(signal.SIGKILL)
    child.wait()
    # PDEATHSIG already takes the desktop down; the lock file and directory wait for the next start.
    with Sandbox().start():
        pass
    _assert_nothing_left(info, pids)


def test_sigterm_of_owner_leaves_nothing() -> None:
    child, info, pids = _start_child()
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=15) != 0
    _assert_nothing_left(info, pids)


def test_close_is_idempotent_and_exception_cleans() -> None:
    with pytest.raises(RuntimeError):
        with Sandbox().start() as sb:
            sb.launch_app("xterm")
            info = {"id": sb.id, "display": sb.display, "dir": str(sb.runtime_dir)}
            pids = cleanup.tagged_pids(sb.id)
            raise RuntimeError("boom")
    sb.close()
    _assert_nothing_left(info, pids)


def test_a_stop_between_two_actions_is_not_lost() -> None:
    from envs.actions import Move, Wait
    from studio.errors import ActionInterrupted

    with Sandbox().start() as sb:
        sb.execute(Move(x=10, y=10))
        sb.stop()  # lands after the first action of a decision and before the second
        with pytest.raises(ActionInterrupted):
            sb.execute(Wait(seconds=5))
        with pytest.raises(ActionInterrupted):
            sb.execute(Move(x=20, y=20))  # still stopped: only the one who stopped may clear it
        sb.clear_stop()
        sb.execute(Move(x=30, y=30))


def test_os_desktop_terminal_and_sudo() -> None:
    """OSWorld's VM user: ctrl+alt+t opens a terminal inside; sudo takes 'password'; / and /etc are writable."""
    from envs.actions import Hotkey

    with Sandbox().start() as sb:
        sb.execute(Hotkey(keys=["ctrl", "alt", "t"]))
        deadline = time.monotonic() + 30
        while not [w for w in sb.windows() if w.wm_class == "XTerm"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        r = sb.run("echo password | sudo -S -p '' sh -c 'mkdir /test && echo ok > /test/f && id -un'", shell=True)
        assert r.stdout.strip() == "root", r.stderr
        assert sb.run(["cat", "/test/f"]).stdout == "ok\n"
        assert sb.run(["id", "-nG"]).stdout.split()[:1] == ["user"] and "sudo" in sb.run(["id", "-nG"]).stdout
        assert sb.env["SHELL"] == sb.user_shell() == "/bin/bash"
    assert not Path("/test/f").exists()
