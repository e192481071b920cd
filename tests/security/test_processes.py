"""Processes: one pid, user, network, IPC and UTS namespace per sandbox; every process of the sandbox in it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from _support import host_ns, sudo, wait_for

from envs import cleanup
from envs.sandbox import Sandbox
from envs.sandbox.isolation import UID_BASE


def _inside_pids(sb: Sandbox) -> list[int]:
    """Host pids of every process in the sandbox's pid namespace (by namespace, not by tag: sudo drops env)."""
    assert sb.init_pid is not None
    mine = host_ns(sb.init_pid, "pid")
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if host_ns(entry.name, "pid") == mine:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def test_every_desktop_process_runs_inside(sb: Sandbox) -> None:
    sb.launch_app("xterm")
    sb.a11y()
    assert sb.init_pid is not None
    init_ns = {k: host_ns(sb.init_pid, k) for k in ("pid", "user", "mnt", "net", "ipc", "uts")}
    inside = {_comm(p): p for p in _inside_pids(sb)}
    for name in ("openbox", "dbus-daemon", "at-spi-bus-laun", "xterm", "python3"):
        assert name in inside, (name, inside)
        pid = inside[name]
        for kind, ns in init_ns.items():
            assert host_ns(pid, kind) == ns, (name, kind)
        uid = int(Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0])
        assert uid == UID_BASE + (sb._slot or 0) * 65536 + 1000  # the sandbox user, unprivileged on the host
    for pid in cleanup.tagged_pids(sb.id):  # outside: only Xvfb, the builder and nsenter parents
        try:
            outside = host_ns(pid, "pid") != init_ns["pid"]
            comm = _comm(pid)
        except OSError:
            continue  # exited meanwhile
        if outside:
            assert comm in ("Xvfb", "python3", "python", "nsenter"), comm
    assert host_ns(os.getpid(), "pid") != init_ns["pid"]


def test_host_processes_are_invisible_and_untouchable(sb: Sandbox) -> None:
    victim = subprocess.Popen(["sleep", "300"])
    try:
        ps = sb.run(["ps", "-eo", "pid,comm"]).stdout
        assert "Xvfb" not in ps and "pytest" not in ps and "sleep" not in ps
        assert sb.run(["test", "-e", f"/proc/{os.getpid()}"]).returncode != 0 or str(os.getpid()) not in ps
        for pid in (victim.pid, os.getpid(), 1):
            sudo(sb, f"kill -9 {pid} 2>/dev/null; true")
        code = (
            "import ctypes,sys; libc=ctypes.CDLL(None, use_errno=True);"
            f"print(libc.ptrace(16, {victim.pid}, 0, 0), ctypes.get_errno())"
        )
        out = sudo(sb, f"python3 -c '{code}'").stdout.split()
        assert out[0] == "-1"  # PTRACE_ATTACH to a host pid fails (no such process in this namespace)
        time.sleep(0.2)
        assert victim.poll() is None  # the host process survived every attempt
        init_cmd = sb.run(["cat", "/proc/1/cmdline"]).stdout
        assert "/root/" not in init_cmd and "/work" not in init_cmd and "studio-sandboxes" not in init_cmd
    finally:
        victim.kill()
        victim.wait()


def test_sudo_is_root_inside_and_nobody_on_the_host(sb: Sandbox) -> None:
    assert sudo(sb, "id -u").stdout.strip() == "0"
    assert sb.run("echo wrong | sudo -S -p '' id -u", shell=True).returncode != 0
    sb.launch("echo password | sudo -S -p '' sleep 300", shell=True)
    pid = wait_for(lambda: next((p for p in _inside_pids(sb) if _comm(p) == "sleep"), None))
    status = Path(f"/proc/{pid}/status").read_text()
    host_uid = int(status.split("Uid:")[1].split()[0])
    assert host_uid == UID_BASE + (sb._slot or 0) * 65536  # root inside = an unprivileged id on the host
    caps = int(status.split("CapEff:")[1].split()[0], 16)
    assert caps != 0  # full capabilities ... but only over the sandbox's own user namespace:
    assert host_ns(pid, "user") != host_ns(os.getpid(), "user")
    # The UTS and network namespaces belong to the host's user namespace: root inside may not change them.
    assert sudo(sb, "hostname evil 2>&1; hostname").stdout.strip().endswith("studio-sandbox")
    assert sudo(sb, "ip link set lo down 2>&1 || echo refused; true").returncode == 0
    assert os.uname().nodename != "evil"
    sudo(sb, "pkill -x sleep; true")


def test_two_sandboxes_share_no_process_or_id(sb: Sandbox) -> None:
    with Sandbox(name="sec-b").start() as other:
        assert other.init_pid is not None and sb.init_pid is not None
        assert host_ns(other.init_pid, "pid") != host_ns(sb.init_pid, "pid")
        assert host_ns(other.init_pid, "user") != host_ns(sb.init_pid, "user")
        assert other._slot != sb._slot
        other.launch("exec -a other-secret-proc sleep 300", shell=True)
        wait_for(lambda: "other-secret-proc" in other.run(["ps", "-eo", "args"]).stdout)
        assert "other-secret-proc" not in sudo(sb, "ps -eo args").stdout
        sudo(sb, "pkill -f other-secret-proc; true")
        assert "other-secret-proc" in other.run(["ps", "-eo", "args"]).stdout


def test_no_process_inside_shares_the_studios_terminal(sb: Sandbox) -> None:
    """TIOCSTI on an inherited controlling terminal would type into the studio's shell: there is none."""
    mine = os.getsid(0)
    own = Path("/proc/self/stat").read_text()
    my_tty = int(own[own.rfind(")") + 2 :].split()[4])
    for pid in _inside_pids(sb):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        assert int(fields[3]) != mine, _comm(pid)  # session id
        # tty_nr: none, or a terminal of the sandbox's own devpts (its xterm), never the studio's
        assert my_tty == 0 or int(fields[4]) != my_tty, _comm(pid)
    r = sb.run("exec 3</dev/tty && echo OPENED || echo refused", shell=True)
    assert "OPENED" not in r.stdout
