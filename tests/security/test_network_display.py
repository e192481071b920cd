"""Network, X and D-Bus: the sandbox reaches its own loopback, its own display and its own buses only."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from _support import sudo

from envs.sandbox import Sandbox


def test_host_loopback_and_abstract_sockets_are_unreachable(sb: Sandbox) -> None:
    hits: list[bytes] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(b"\0studio-canary-abstract")
    abstract.listen()

    def serve() -> None:
        srv.settimeout(15)
        try:
            conn, _ = srv.accept()
            hits.append(conn.recv(100))
            conn.close()
        except OSError:
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        tcp = sudo(sb, f"echo hello > /dev/tcp/127.0.0.1/{port} && echo CONNECTED; true")
        assert "CONNECTED" not in tcp.stdout
        code = (
            "import socket; s=socket.socket(socket.AF_UNIX)\n"
            "try:\n s.connect(b'\\0studio-canary-abstract'); print('CONNECTED')\nexcept OSError as e: print(e)"
        )
        assert "CONNECTED" not in sb.run(["python3", "-c", code]).stdout
        ifaces = sb.run(["cat", "/proc/net/dev"]).stdout
        assert [ln.split(":")[0].strip() for ln in ifaces.splitlines()[2:]] == ["lo"]
        inside = sb.run(["python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(1)"])
        assert inside.stdout.strip() == "1"  # the sandbox's own loopback works
    finally:
        srv.close()
        abstract.close()
        t.join(1)
    assert hits == []


def test_host_x_and_dbus_sockets_are_not_there(sb: Sandbox) -> None:
    num = sb.display.lstrip(":")
    assert sb.run(["ls", "-A", "/tmp/.X11-unix"]).stdout.split() == [f"X{num}"]
    for path in ("/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket", f"/run/user/{os.getuid()}"):
        if Path(path).exists():
            assert sb.run(["test", "-e", path]).returncode != 0, path
    others = [p.name for p in Path("/tmp/.X11-unix").iterdir() if p.name != f"X{num}"]
    for name in others[:5]:
        r = sb.run(["xdpyinfo", "-display", f":{name[1:]}"], timeout=20)
        assert r.returncode != 0, name
    assert sb.run(["xdpyinfo", "-display", sb.display]).returncode == 0


def test_a_second_sandbox_is_out_of_reach(sb: Sandbox) -> None:
    with Sandbox(name="sec-2").start() as other:
        other.write_file("~/other-secret.txt", b"other sandbox secret")
        other.launch_app("galculator")
        found = sudo(sb, "find / -xdev -name other-secret.txt 2>/dev/null; cat /home/user/other-secret.txt; true")
        assert "other sandbox secret" not in found.stdout and "other-secret.txt" not in found.stdout
        r = sb.run(["xdpyinfo", "-display", other.display], timeout=20)
        assert r.returncode != 0
        bus = other.env["DBUS_SESSION_BUS_ADDRESS"]
        mine = sb.env["DBUS_SESSION_BUS_ADDRESS"]
        assert bus.split(",")[1] != mine.split(",")[1]  # different bus (guid); the path is private to each
        names = sb.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.ListNames",
            ]
        ).stdout
        assert "galculator" not in names.lower()
        assert "sqrt" not in {n.name for n in sb.a11y()[0]}
        assert "sqrt" in {n.name for n in other.a11y()[0]}
