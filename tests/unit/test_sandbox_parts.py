"""Pure parts of the isolated sandbox: command lines, window-manager config, paths, limits bookkeeping.

The real thing (namespaces, cgroups, escapes) is tested in tests/integration/test_sandbox.py and tests/security/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envs.sandbox import display, isolation, limits
from envs.sandbox.files import inside_path


def test_enter_argv_enters_every_namespace_and_drops_to_the_user() -> None:
    argv = isolation.enter_argv(42, ["xterm"])
    assert argv[:2] == ["nsenter", "--target=42"]
    for ns in ("--user", "--mount", "--pid", "--net", "--ipc", "--uts", "--cgroup", "--root"):
        assert ns in argv
    tail = argv[argv.index("--") + 1 :]
    assert tail[:5] == ["setpriv", "--reuid=1000", "--regid=1000", "--init-groups", "--"] and tail[-1] == "xterm"
    root = isolation.enter_argv(42, ["id"], root=True)
    assert "setpriv" not in root and "--wdns=/root" in root


def test_openbox_config_has_one_binding_and_no_menu() -> None:
    rc = display.openbox_rc(["xterm", "-e", "script", "a b"], "/etc/xdg/openbox/menu.xml")
    assert re.findall(r'<keybind key="([^"]+)"', rc) == ["C-A-t"]
    assert "<command>xterm -e script 'a b'</command>" in rc
    assert "ShowMenu" not in rc and '<context name="Root"/>' in rc
    assert "<item" not in display.OPENBOX_MENU


def test_openbox_config_maximizes_normal_windows_and_runs_nothing_more() -> None:
    from xml.etree import ElementTree

    rc = display.openbox_rc(["xterm"], "/etc/xdg/openbox/menu.xml")
    ns = {"ob": "http://openbox.org/3.4/rc"}
    root = ElementTree.fromstring(rc)
    rules = root.findall("ob:applications/ob:application", ns)
    assert [(r.get("class"), r.get("type")) for r in rules] == [("*", "normal")]  # dialogs keep their size
    assert rules[0].findtext("ob:maximized", namespaces=ns) == "yes"
    assert len(root.findall(".//ob:action[@name='Execute']", ns)) == 1  # still only the terminal binding


def test_paths_of_task_files_name_files_inside() -> None:
    assert inside_path("~/a.txt") == "/home/user/a.txt"
    assert inside_path("~") == "/home/user"
    assert inside_path("docs/a.txt") == "/home/user/docs/a.txt"
    assert inside_path("../../etc/passwd") == "/home/user/../../etc/passwd"  # resolved by the sandbox, inside
    assert inside_path("/root/x") == "/root/x"


def test_etc_stage_has_the_sandbox_user_and_sudo(tmp_path: Path) -> None:
    isolation.write_etc_stage(tmp_path, openbox_rc="rc", openbox_menu="menu", session_bus_conf="bus")
    passwd = (tmp_path / "passwd").read_text()
    assert "user:x:1000:1000:user:/home/user:/bin/bash" in passwd
    assert "sudo:x:27:user" in (tmp_path / "group").read_text()
    assert (tmp_path / "sudoers").stat().st_mode & 0o777 == 0o440
    assert (tmp_path / "shadow").read_text().startswith("root:*")
    assert (tmp_path / "xdg/openbox/rc.xml").read_text() == "rc"


def test_slots_are_exclusive_and_released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_SANDBOX_ROOT", str(tmp_path))
    a = isolation.claim_slot("a")
    b = isolation.claim_slot("b")
    assert a != b
    isolation.release_slot(a, "not-a")  # someone else's release does nothing
    assert isolation.claim_slot("c") not in (a, b)
    from envs import cleanup

    cleanup.release_slots_of("a")
    assert isolation.claim_slot("d") == a
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # plain files: leftover cleanup skips them


def test_cgroup_breach_reads_event_counters(tmp_path: Path) -> None:
    cg = limits.Cgroup("studio-x", limits.SandboxLimits(memory_mb=100, pids=50))
    mem, pids = tmp_path / "memory", tmp_path / "pids"
    mem.mkdir()
    pids.mkdir()
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    (pids / "pids.events").write_text("max 0\n")
    cg.dirs = {"memory": mem, "pids": pids}
    cg._baseline = cg._counts()
    assert cg.breach() is None
    (pids / "pids.events").write_text("max 3\n")
    assert "process limit (50" in (cg.breach() or "")
    (mem / "memory.oom_control").write_text("oom_kill 1\n")
    assert "out of memory (limit 100 MiB)" in (cg.breach() or "")


def test_unreadable_etc_entries_are_hidden(tmp_path: Path) -> None:
    from envs.sandbox.nsinit import unreadable_entries

    (tmp_path / "ok").write_text("x")
    (tmp_path / "secret").write_text("x")
    (tmp_path / "secret").chmod(0o600)
    (tmp_path / "private").mkdir(mode=0o700)
    (tmp_path / "private" / "key").write_text("x")
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "shadow").write_text("x")
    (tmp_path / "open" / "shadow").chmod(0o640)
    assert sorted(unreadable_entries(str(tmp_path))) == ["open/shadow", "private", "secret"]
