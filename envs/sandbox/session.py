"""Bringing a sandbox up: its init (namespaces and file system), then its session inside it.

Mixed into :class:`envs.sandbox.Sandbox`: :meth:`SandboxSession._start_init` writes the sandbox's own ``/etc``
files and starts the namespace builder (:mod:`envs.sandbox.nsinit`); :meth:`SandboxSession._start_session` starts
D-Bus, the AT-SPI bus, openbox and the AT-SPI reader inside, as the sandbox's user.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envs import cleanup
from envs.errors import DisplayError, IsolationError
from envs.sandbox import display as dsp
from envs.sandbox import isolation as iso
from envs.sandbox.limits import SandboxLimits
from envs.sandbox.spawn import read_line

if TYPE_CHECKING:
    from envs.a11y import A11yClient
    from envs.windows import WindowLister

SANDBOX_HOME = iso.USER_HOME
#: Where the sandbox's terminals log what they show (read by the ``vm_terminal_output`` getter).
TERMINAL_LOG = f"{iso.RUN_DIR}/terminal.log"
#: Root-window property the window manager sets when it is fully running (see ``_start_session``).
WM_READY_PROP = "_STUDIO_WM_READY"


def terminal_argv() -> list[str]:
    """The sandbox's terminal: the ``xterm`` profile, its shell wrapped by ``script`` into :data:`TERMINAL_LOG`."""
    from envs.apps import load_profile

    argv = list(load_profile("xterm").argv)
    if "-e" in argv:
        argv = argv[: argv.index("-e")]
    return [*argv, "-e", "script", "--quiet", "--flush", "--append", TERMINAL_LOG]


class SandboxSession:
    """Start-up steps of :class:`envs.sandbox.Sandbox` (uses its directories, spawner and state)."""

    id: str
    display: str
    network: bool
    existing_display: str | None
    limits: SandboxLimits
    runtime_dir: Path
    env: dict[str, str]
    timings: dict[str, float]
    init_pid: int | None
    _slot: int | None
    _builder: subprocess.Popen[Any] | None
    _windows: WindowLister | None
    _a11y_bus_address: str
    _bus_address: str

    if TYPE_CHECKING:  # provided by Sandbox; declared for type checkers only (no stubs in the MRO)

        def _popen(
            self,
            argv: list[str],
            *,
            env: dict[str, str],
            log: str,
            pass_fds: tuple[int, ...] = (),
            stdin: Any = subprocess.DEVNULL,
            stdout: Any = None,
            stderr: Any = None,
            text: bool = False,
            track: bool = True,
            join_cgroup: bool = True,
        ) -> subprocess.Popen[Any]:
            raise NotImplementedError

        def _inside_popen(self, argv: list[str], *, log: str, **kw: Any) -> subprocess.Popen[Any]:
            raise NotImplementedError

        def _host_env(self) -> dict[str, str]:
            raise NotImplementedError

        def _log_tail(self, log: str, n: int = 600) -> str:
            raise NotImplementedError

        def _save_state(self) -> None:
            raise NotImplementedError

        def _a11y_client(self) -> A11yClient:
            raise NotImplementedError

    def _start_init(self) -> int:
        """Start the namespace builder; return the read end of its status pipe (see :meth:`_wait_init`)."""
        assert self._slot is not None
        rc = dsp.openbox_rc(terminal_argv(), "/etc/xdg/openbox/menu.xml")
        bus = dsp.session_bus_conf(f"unix:path={iso.RUN_DIR}/bus", "/etc/dbus-1/studio-services")
        iso.write_etc_stage(
            self.runtime_dir / "stage", openbox_rc=rc, openbox_menu=dsp.OPENBOX_MENU, session_bus_conf=bus
        )
        r, w = os.pipe()
        spec = iso.init_spec(
            fs=self.runtime_dir / "fs",
            slot=self._slot,
            stage=self.runtime_dir / "stage",
            x11_dir=self.runtime_dir / "x11",
            network=self.network,
            disk_mb=self.limits.disk_mb,
            shm_mb=self.limits.shm_mb,
            status_fd=w,
        )
        self._builder = self._popen(iso.init_argv(spec), env=self._host_env(), log="init", pass_fds=(w,))
        os.close(w)
        return r

    def _wait_init(self, status_r: int) -> None:
        line = read_line(status_r, timeout=20.0)
        os.close(status_r)
        reply: dict[str, Any] = {}
        with contextlib.suppress(ValueError):
            reply = json.loads(line) if line else {}
        if not reply.get("ok"):
            why = reply.get("error") or self._log_tail("init") or "no answer in 20 s"
            raise IsolationError(
                f"the sandbox's namespaces could not be built: {why}. The sandbox needs root on the host, "
                "user namespaces, idmapped mounts and overlayfs (Linux >= 5.19)"
            )
        self.init_pid = int(reply["pid"])
        for k, v in (reply.get("times") or {}).items():
            self.timings[f"init_{k}"] = float(v)
        self._save_state()

    def _start_session(self) -> None:
        """D-Bus session, AT-SPI bus, openbox and the AT-SPI reader, inside the sandbox as its user.

        openbox does not need the bus, so it starts at once; the AT-SPI bus launcher waits for the bus
        address, and the AT-SPI reader (a Python process, the slowest start) for the AT-SPI bus.
        """
        t = time.monotonic()
        base = self._session_env()
        bus_r, bus_w = os.pipe()
        conf = "--config-file=/etc/dbus-1/studio-session.conf"
        bus = self._inside_popen(
            ["dbus-daemon", conf, "--nofork", f"--print-address={bus_w}"], env=base, log="dbus", pass_fds=(bus_w,)
        )
        os.close(bus_w)
        wm = None
        if not self.existing_display:
            # openbox announces itself (_NET_SUPPORTING_WM_CHECK) before it grabs its key bindings; its
            # --startup command runs once it is fully running, so that is when ctrl+alt+t works.
            ready = f"xprop -root -f {WM_READY_PROP} 8s -set {WM_READY_PROP} 1"
            argv = ["openbox", "--sm-disable", "--config-file", "/etc/xdg/openbox/rc.xml", "--startup", ready]
            wm = self._inside_popen(argv, env=base, log="openbox")
        addr = read_line(bus_r, timeout=10.0)
        os.close(bus_r)
        if not addr:
            raise DisplayError(f"dbus-daemon did not start (exit {bus.poll()}): {self._log_tail('dbus')}")
        self._bus_address = addr
        self.timings["dbus"] = time.monotonic() - t
        base["DBUS_SESSION_BUS_ADDRESS"] = addr
        launcher = "/usr/libexec/at-spi-bus-launcher"
        has_launcher = os.path.exists(launcher)
        if has_launcher:
            self._inside_popen([launcher, "--launch-immediately", "--a11y=1"], env=base, log="atspi")
        from envs.windows import WindowLister

        self._windows = WindowLister(self.display)
        deadline = time.monotonic() + 10
        wm_ready = wm is None
        a11y_ready = not has_launcher
        while time.monotonic() < deadline and not (wm_ready and a11y_ready):
            wm_ready = wm_ready or self._windows.root_property(WM_READY_PROP) is not None
            if not a11y_ready:
                prop = self._windows.root_property("AT_SPI_BUS")
                if prop is not None:
                    a11y_ready = True
                    self._a11y_bus_address = prop.decode() if isinstance(prop, bytes) else str(prop)
                    self._build_app_env()
                    self._a11y_client()  # start the reader now: its start overlaps openbox's
            if wm is not None and wm.poll() is not None:
                raise DisplayError(f"openbox exited with {wm.returncode}: {self._log_tail('openbox')}")
            time.sleep(0.005)
        if not wm_ready:
            raise DisplayError(f"openbox did not take over {self.display} in 10 s: {self._log_tail('openbox')}")
        self.timings["desktop"] = time.monotonic() - t

    def _attach_existing(self) -> None:
        from envs.windows import WindowLister

        self._windows = WindowLister(self.display)
        self.width, self.height = self._windows.root_size()

    def _session_env(self) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "HOME": SANDBOX_HOME,
            "USER": iso.USER_NAME,
            "LOGNAME": iso.USER_NAME,
            "SHELL": self.user_shell(),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TMPDIR": "/tmp",
            "DISPLAY": self.display,
            "XDG_RUNTIME_DIR": iso.RUN_DIR,
            "XDG_CONFIG_HOME": f"{SANDBOX_HOME}/.config",
            "XDG_DATA_HOME": f"{SANDBOX_HOME}/.local/share",
            "XDG_CACHE_HOME": f"{SANDBOX_HOME}/.cache",
            "XDG_SESSION_TYPE": "x11",
            # Accessibility on: GTK3 loads atk-bridge unless NO_AT_BRIDGE=1 (never set); Qt needs these.
            "GNOME_ACCESSIBILITY": "1",
            "QT_ACCESSIBILITY": "1",
            "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1",
            "GTK_A11Y": "atspi",  # GTK4 name; NO_AT_BRIDGE (GTK3 off switch) is left unset on purpose
            cleanup.TAG_ENV: self.id,
        }
        return env

    def user_shell(self) -> str:
        """The sandbox user's login shell, from its entry in the sandbox's ``/etc/passwd``."""
        passwd = self.runtime_dir / "stage" / "passwd"
        with contextlib.suppress(OSError):
            for line in passwd.read_text().splitlines():
                fields = line.split(":")
                if len(fields) >= 7 and fields[0] == iso.USER_NAME:
                    return fields[6]
        return iso.USER_SHELL

    def _build_app_env(self) -> None:
        env = self._session_env()
        env["DBUS_SESSION_BUS_ADDRESS"] = self._bus_address
        if self._a11y_bus_address:
            env["AT_SPI_BUS_ADDRESS"] = self._a11y_bus_address
        self.env = env
