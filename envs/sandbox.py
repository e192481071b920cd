"""The sandboxed desktop: own Xvfb display, own D-Bus session (+ AT-SPI bus), openbox, apps inside bubblewrap.

Start order (see :meth:`Sandbox.start`): Xvfb on a free display (``-displayfd`` says when it is ready; we
hold ``/tmp/.X<n>-lock`` ourselves) and, concurrently, a private D-Bus session bus on a unix socket in the
sandbox's ``run/`` directory; then the AT-SPI bus launcher on that session and openbox. Apps run inside
bubblewrap: system read-only, private ``/home/user`` and ``/tmp``, no network unless ``network=True``.

Nothing is left behind: processes started outside bubblewrap die with the thread that spawned them
(``PR_SET_PDEATHSIG``; they are all spawned from one long-lived thread), apps die with bubblewrap
(``--die-with-parent``), :meth:`Sandbox.close` runs from ``__exit__``, ``atexit`` and (if nobody else handles
it) SIGTERM, and ``state.json`` lets the next start clean up after a SIGKILL (:mod:`envs.cleanup`).

Usage::

    with Sandbox().start() as sb:
        sb.launch_app("mousepad")
        obs = sb.observe()
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import queue
import secrets
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from envs import cleanup
from envs.errors import ActionError, DisplayError, ObservationError, SandboxError
from envs.frame import Frame, SettleTracker
from envs.observation import A11yNode, Observation, WindowInfo

if TYPE_CHECKING:
    from envs.a11y import A11yClient
    from envs.actions import Action
    from envs.windows import WindowLister

T = TypeVar("T")

SANDBOX_HOME = "/home/user"
FIRST_DISPLAY = 100
_PR_SET_PDEATHSIG = 1


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class _Spawner:
    """One daemon thread that forks every process we start outside bubblewrap.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked a child exits, so spawning from short-lived
    worker threads (GUI thread pools) would kill the sandbox early. This thread lives as long as the process.
    """

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[bool, Any]]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="sandbox-spawner", daemon=True)
                self._thread.start()
        reply: queue.Queue[tuple[bool, Any]] = queue.Queue(1)
        self._q.put((fn, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def _loop(self) -> None:
        while True:
            fn, reply = self._q.get()
            try:
                reply.put((True, fn()))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                reply.put((False, exc))


_spawner = _Spawner()
_live: weakref.WeakSet[Sandbox] = weakref.WeakSet()
_atexit_registered = False


def _close_all() -> None:
    for sb in list(_live):
        with contextlib.suppress(Exception):
            sb.close()


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


class Sandbox:
    """A private desktop; see the module docstring. Public API per ``.notes/sandbox_api.md``."""

    def __init__(
        self,
        *,
        width: int = 1280,
        height: int = 800,
        network: bool = False,
        existing_display: str | None = None,
        name: str | None = None,
    ) -> None:
        if width < 64 or height < 64:
            raise SandboxError(f"display size {width}x{height} is too small; use at least 64x64")
        self.width = width
        self.height = height
        self.network = network
        self.existing_display = existing_display
        self.name = name or "sb"
        self.id = f"{self.name}-{os.getpid()}-{secrets.token_hex(3)}"
        self.display = existing_display or ""
        self.runtime_dir = cleanup.sandboxes_root() / self.id
        self.home = self.runtime_dir / "home"
        self.tmp = self.runtime_dir / "tmp"
        self.run_dir = self.runtime_dir / "run"
        self.env: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self._display_num: int | None = None
        self._procs: list[subprocess.Popen[Any]] = []
        self._xvfb: subprocess.Popen[Any] | None = None
        self._lock = threading.RLock()
        self._started = False
        self._closed = False
        self._mss: Any = None
        self._windows: WindowLister | None = None
        self._a11y: A11yClient | None = None
        self._driver: Any = None
        self._stop_event = threading.Event()
        self._bus_address = ""
        self._a11y_bus_address = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Sandbox:
        """Start Xvfb, D-Bus (+ AT-SPI bus) and openbox (or attach to ``existing_display``); return self."""
        global _atexit_registered
        if self._started:
            return self
        if self._closed:
            raise SandboxError("this sandbox was closed; create a new Sandbox to start again")
        t0 = time.monotonic()
        cleanup.clean_leftovers()
        self.timings["cleanup"] = time.monotonic() - t0
        if not _atexit_registered:
            atexit.register(_close_all)
            _atexit_registered = True
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(ValueError):
                if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                    signal.signal(signal.SIGTERM, _on_sigterm)
        _live.add(self)
        self._started = True
        try:
            self._make_dirs()
            self._save_state()
            if self.existing_display:
                self._attach_existing()
            else:
                self._start_desktop()
            self._build_app_env()
        except BaseException:
            self.close()
            raise
        self.timings["start"] = time.monotonic() - t0
        return self

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # last resort; close() is the real API
        with contextlib.suppress(Exception):
            if self._started and not self._closed:
                self.close()

    def close(self) -> None:
        """Kill everything this sandbox started, remove its X lock and its directory. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop_event.set()
        if self._a11y is not None:
            with contextlib.suppress(Exception):
                self._a11y.close()
        if self._windows is not None:
            with contextlib.suppress(Exception):
                self._windows.close()
        if self._mss is not None:
            with contextlib.suppress(Exception):
                self._mss.close()
        pids = [p.pid for p in self._procs]
        # Apps first (bwrap and their namespaces), then the desktop in reverse start order.
        for p in reversed(self._procs):
            with contextlib.suppress(OSError):
                os.killpg(p.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                p.kill()
        for p in self._procs:
            with contextlib.suppress(Exception):
                p.wait(timeout=2)
        if not self.existing_display:
            # Descendants we did not spawn directly (activated D-Bus services, the a11y bus daemon).
            stray = cleanup.tagged_pids(self.id)
            cleanup.kill_pids(stray)
            cleanup.wait_gone(stray + pids, timeout=2)
            if self._display_num is not None:
                cleanup.remove_display_files(self._display_num, self._xvfb.pid if self._xvfb else None)
        else:
            cleanup.wait_gone(pids, timeout=2)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        _live.discard(self)

    # ------------------------------------------------------------------ start helpers

    def _make_dirs(self) -> None:
        self.runtime_dir.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.runtime_dir.parent, 0o1777)
        self.runtime_dir.mkdir(mode=0o700)
        self.home.mkdir()
        self.tmp.mkdir(mode=0o1777)
        (self.tmp / ".X11-unix").mkdir(mode=0o1777)
        self.run_dir.mkdir(mode=0o700)
        for sub in (".config", ".local/share", ".cache", "Desktop", "Documents"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)

    def _save_state(self) -> None:
        cleanup.write_state(
            self.runtime_dir,
            {
                "id": self.id,
                "owner_pid": os.getpid(),
                "owner_start": cleanup.proc_start_time(os.getpid()),
                "display": self.display,
                "display_num": self._display_num,
                "owns_display": not self.existing_display,
                "xvfb_pid": self._xvfb.pid if self._xvfb else None,
                "pids": [p.pid for p in self._procs],
                "created": time.time(),
            },
        )

    def _base_env(self) -> dict[str, str]:
        """Environment of the desktop processes we start outside bubblewrap (tagged for cleanup)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.run_dir),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local/share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            cleanup.TAG_ENV: self.id,
        }
        if self.display:
            env["DISPLAY"] = self.display
        if self._bus_address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self._bus_address
        return env

    def _popen(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        log: str,
        pass_fds: tuple[int, ...] = (),
        stdin: Any = subprocess.DEVNULL,
        stdout: Any = None,
        text: bool = False,
        track: bool = True,
    ) -> subprocess.Popen[Any]:
        """Start a process from the spawner thread: own process group, PDEATHSIG, output in ``<log>.log``."""
        log_path = self.runtime_dir / f"{log}.log"

        def spawn() -> subprocess.Popen[Any]:
            with open(log_path, "ab") as logf:
                return subprocess.Popen(
                    argv,
                    env=env,
                    stdin=stdin,
                    stdout=stdout if stdout is not None else logf,
                    stderr=logf,
                    pass_fds=pass_fds,
                    process_group=0,
                    preexec_fn=_set_pdeathsig,
                    close_fds=True,
                    text=text,
                )

        try:
            proc = _spawner.call(spawn)
        except FileNotFoundError as exc:
            raise DisplayError(
                f"{argv[0]} is not installed ({exc}); run `make setup` to install the apt packages"
            ) from exc
        if track:
            with self._lock:
                # Forget finished processes (reaped by poll(); their pids may be reused).
                self._procs = [p for p in self._procs if p is self._xvfb or p.poll() is None]
                self._procs.append(proc)
            self._save_state()
        return proc

    def _log_tail(self, log: str, n: int = 600) -> str:
        with contextlib.suppress(OSError):
            return (self.runtime_dir / f"{log}.log").read_text(errors="replace")[-n:].strip()
        return ""

    def _start_desktop(self) -> None:
        for exe, pkg in (
            ("Xvfb", "xvfb"),
            ("dbus-daemon", "dbus"),
            ("openbox", "openbox"),
            ("bwrap", "bubblewrap"),
        ):
            if shutil.which(exe) is None:
                raise DisplayError(f"{exe} is not installed; install it with `sudo apt-get install {pkg}`")
        t = time.monotonic()
        # D-Bus does not need X: start it first and read its address while Xvfb comes up.
        bus_r, bus_w = os.pipe()
        bus_sock = self.run_dir / "bus"
        bus = self._popen(
            [
                "dbus-daemon",
                f"--config-file={self._write_bus_config()}",
                "--nofork",
                f"--print-address={bus_w}",
                f"--address=unix:path={bus_sock}",
            ],
            env=self._base_env(),
            log="dbus",
            pass_fds=(bus_w,),
        )
        os.close(bus_w)
        self._start_xvfb()
        self.timings["xvfb"] = time.monotonic() - t
        addr = _read_line(bus_r, timeout=10.0)
        os.close(bus_r)
        if not addr:
            raise DisplayError(f"dbus-daemon did not start (exit {bus.poll()}): {self._log_tail('dbus')}")
        self._bus_address = addr
        self.timings["dbus"] = time.monotonic() - t
        env = self._base_env()
        launcher = "/usr/libexec/at-spi-bus-launcher"
        if os.path.exists(launcher):
            self._popen([launcher, "--launch-immediately", "--a11y=1"], env=env, log="atspi")
        wm = self._popen(["openbox", "--sm-disable"], env=env, log="openbox")
        from envs.windows import WindowLister

        self._windows = WindowLister(self.display)
        deadline = time.monotonic() + 10
        wm_ready = a11y_ready = False
        while time.monotonic() < deadline and not (wm_ready and a11y_ready):
            wm_ready = wm_ready or self._windows_root_prop("_NET_SUPPORTING_WM_CHECK") is not None
            if not a11y_ready:
                bus_addr = self._windows_root_prop("AT_SPI_BUS")
                if bus_addr is not None or not os.path.exists(launcher):
                    a11y_ready = True
                    self._a11y_bus_address = (
                        bus_addr.decode() if isinstance(bus_addr, bytes) else str(bus_addr or "")
                    )
            if wm.poll() is not None:
                raise DisplayError(f"openbox exited with {wm.returncode}: {self._log_tail('openbox')}")
            time.sleep(0.005)
        if not wm_ready:
            raise DisplayError(
                f"openbox did not take over {self.display} in 10 s: {self._log_tail('openbox')}"
            )
        self.timings["desktop"] = time.monotonic() - t

    def _write_bus_config(self) -> Path:
        """A session-bus config whose only activatable services are the AT-SPI bus and dconf.

        The stock config would also activate the xdg portals (the document portal mounts a FUSE file system
        into the runtime dir) and anything else installed system-wide.
        """
        services = self.runtime_dir / "dbus-services"
        services.mkdir(exist_ok=True)
        for svc in ("org.a11y.Bus.service", "ca.desrt.dconf.service"):
            src = Path("/usr/share/dbus-1/services") / svc
            if src.exists():
                shutil.copyfile(src, services / svc)
        conf = self.runtime_dir / "session.conf"
        conf.write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            "<busconfig>\n  <type>session</type>\n  <keep_umask/>\n"
            f"  <listen>unix:path={self.run_dir / 'bus'}</listen>\n  <auth>EXTERNAL</auth>\n"
            f"  <servicedir>{services}</servicedir>\n"
            '  <policy context="default">\n    <allow send_destination="*" eavesdrop="true"/>\n'
            '    <allow eavesdrop="true"/>\n    <allow own="*"/>\n  </policy>\n'
            '  <limit name="service_start_timeout">30000</limit>\n'
            "</busconfig>\n"
        )
        return conf

    def _windows_root_prop(self, name: str) -> Any:
        assert self._windows is not None
        return self._windows.root_property(name)

    def _start_xvfb(self) -> None:
        n = FIRST_DISPLAY
        while n < FIRST_DISPLAY + 400:
            lock = Path(f"/tmp/.X{n}-lock")
            if Path(f"/tmp/.X11-unix/X{n}").exists() and not lock.exists() and _stale_socket(n):
                cleanup.remove_display_files(n)
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            except FileExistsError:
                n += 1
                continue
            os.close(fd)
            self._display_num = n
            self.display = f":{n}"
            self._save_state()
            r, w = os.pipe()
            xvfb = self._popen(
                [
                    "Xvfb",
                    self.display,
                    "-displayfd",
                    str(w),
                    "-screen",
                    "0",
                    f"{self.width}x{self.height}x24",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                env={**self._base_env(), "DISPLAY": ""},
                log="xvfb",
                pass_fds=(w,),
            )
            os.close(w)
            got = _read_line(r, timeout=10.0)
            os.close(r)
            if got == str(n):
                self._xvfb = xvfb
                Path(lock).write_text(f"{xvfb.pid:>10}\n")
                self._save_state()
                return
            # Display taken by a server without a lock file (or Xvfb failed): release and try the next one.
            with contextlib.suppress(OSError):
                xvfb.kill()
                xvfb.wait(2)
            with self._lock:
                self._procs.remove(xvfb)
            lock.unlink(missing_ok=True)
            if "already active" not in self._log_tail(
                "xvfb"
            ) and "server already running" not in self._log_tail("xvfb"):
                raise DisplayError(f"Xvfb failed on {self.display}: {self._log_tail('xvfb')}")
            self._display_num = None
            n += 1
        raise DisplayError(f"no free X display between :{FIRST_DISPLAY} and :{n}")

    def _attach_existing(self) -> None:
        from envs.windows import WindowLister

        self._windows = WindowLister(self.display)
        self.width, self.height = self._windows.root_size()
        self._bus_address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
        prop = self._windows_root_prop("AT_SPI_BUS")
        self._a11y_bus_address = prop.decode() if isinstance(prop, bytes) else ""

    def _build_app_env(self) -> None:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "HOME": SANDBOX_HOME,
            "USER": os.environ.get("USER", "user"),
            "LOGNAME": os.environ.get("USER", "user"),
            "SHELL": "/bin/bash",
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TMPDIR": "/tmp",
            "DISPLAY": self.display,
            "XDG_RUNTIME_DIR": str(self.run_dir),
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
        if self._bus_address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self._bus_address
        if self._a11y_bus_address:
            env["AT_SPI_BUS_ADDRESS"] = self._a11y_bus_address
        self.env = env

    # ------------------------------------------------------------------ running things inside

    def _require_started(self) -> None:
        if not self._started or self._closed:
            raise SandboxError(
                "the sandbox is not running; call start() first (or use `with Sandbox().start()`)"
            )

    def bwrap_argv(self, argv: list[str], *, cwd: str | None = None) -> list[str]:
        """The bubblewrap command line that runs ``argv`` inside this sandbox."""
        args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/home"]
        # Hide the real user's home and runtime dir (keys, sockets) from the apps.
        real_home = os.path.realpath(os.path.expanduser("~"))
        for hidden in {real_home, "/root", f"/run/user/{os.getuid()}"}:
            if (
                hidden not in ("/", "/tmp", "/home")
                and not hidden.startswith(("/home/", "/tmp/"))
                and os.path.isdir(hidden)
            ):
                args += ["--tmpfs", hidden]
        args += [
            "--bind",
            str(self.home),
            SANDBOX_HOME,
            "--bind",
            str(self.tmp),
            "/tmp",
            "--bind",
            str(self.run_dir),
            str(self.run_dir),
        ]
        if self._display_num is not None or self.display.startswith(":"):
            num = self._display_num if self._display_num is not None else self.display[1:].split(".")[0]
            sock = f"/tmp/.X11-unix/X{num}"
            if os.path.exists(sock):
                args += ["--bind", sock, sock]
        if self.existing_display and self._bus_address.startswith("unix:path="):
            path = self._bus_address.split("=", 1)[1].split(",")[0]
            args += ["--bind", path, path]
        args += ["--unshare-pid", "--die-with-parent", "--new-session", "--chdir", cwd or SANDBOX_HOME]
        if not self.network:
            args.append("--unshare-net")
        return [*args, "--", *argv]

    def _argv(self, argv: list[str] | str, shell: bool) -> list[str]:
        if shell:
            cmd = argv if isinstance(argv, str) else " ".join(argv)
            return ["/bin/bash", "-c", cmd]
        if isinstance(argv, str):
            import shlex

            return shlex.split(argv)
        return list(argv)

    def launch(
        self, argv: list[str] | str, *, shell: bool = False, cwd: str | None = None
    ) -> subprocess.Popen[Any]:
        """Start a program inside bubblewrap, detached (output goes to ``<runtime_dir>/apps.log``)."""
        self._require_started()
        full = self.bwrap_argv(self._argv(argv, shell), cwd=cwd)
        return self._popen(full, env=self.env, log="apps")

    def launch_piped(self, argv: list[str], *, cwd: str | None = None) -> subprocess.Popen[bytes]:
        """Start a program inside the sandbox with binary pipes to its stdin and stdout (stderr to apps.log).

        The pipes are the only channel: nothing listens on a port or a socket the host could reach (used to
        speak the DevTools protocol to Chromium, see :mod:`envs.browser`).
        """
        self._require_started()
        full = self.bwrap_argv(list(argv), cwd=cwd)
        proc: subprocess.Popen[bytes] = self._popen(
            full, env=self.env, log="apps", stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        return proc

    def run(
        self, argv: list[str] | str, *, shell: bool = False, timeout: float = 30, cwd: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a program inside bubblewrap and wait for it; stdout/stderr captured as text.

        Raises:
            SandboxError: when it runs longer than ``timeout`` seconds (it is killed).
        """
        self._require_started()
        full = self.bwrap_argv(self._argv(argv, shell), cwd=cwd)

        def spawn() -> subprocess.Popen[str]:
            return subprocess.Popen(
                full,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                process_group=0,
                preexec_fn=_set_pdeathsig,
            )

        proc: subprocess.Popen[str] = _spawner.call(spawn)
        with self._lock:
            self._procs.append(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise SandboxError(
                f"command {full[full.index('--') + 1 :]} ran longer than {timeout} s and was killed"
            ) from exc
        finally:
            with self._lock:
                with contextlib.suppress(ValueError):
                    self._procs.remove(proc)
        return subprocess.CompletedProcess(full[full.index("--") + 1 :], proc.returncode, out, err)

    def launch_app(
        self,
        name: str,
        args: list[str] | tuple[str, ...] = (),
        *,
        wait_ready: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Launch the app of profile ``envs/apps/<name>.toml``; by default wait until its window is mapped.

        Raises:
            AppNotInstalledError: the app's program is missing (names the apt package).
            SandboxError: the app exited or no window appeared within ``timeout`` seconds.
        """
        from envs.apps import load_profile

        self._require_started()
        profile = load_profile(name)
        profile.check_installed()
        seed = profile.seed_command()
        if seed is not None:
            self.run(seed, timeout=30)
        before = {w.window_id for w in self.windows()}
        argv = [*profile.argv, *args]
        if profile.env:
            argv = ["env", *(f"{k}={v}" for k, v in profile.env.items()), *argv]
        proc = self.launch(argv)
        if not wait_ready:
            return
        want = profile.wm_class.lower()
        timeout = profile.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            wins = [w for w in self.windows() if w.wm_class.lower() == want]
            if any(w.window_id not in before for w in wins) or (wins and proc.poll() == 0):
                break
            if proc.poll() not in (None, 0):
                raise SandboxError(f"app {name!r} exited with {proc.returncode}: {self._log_tail('apps')}")
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"app {name!r} showed no {profile.wm_class!r} window within {timeout} s; "
                    f"log: {self._log_tail('apps')}"
                )
            time.sleep(0.03)
        if profile.a11y_app and self._a11y_bus_address:
            with contextlib.suppress(ObservationError):
                self._a11y_client().wait_app(profile.a11y_app, timeout=max(0.5, deadline - time.monotonic()))

    def host_path(self, path: str) -> Path:
        """Host path of a path as apps see it (``~``, ``/home/user`` -> home; ``/tmp`` -> private tmp)."""
        if path == "~" or path.startswith("~/"):
            return self.home / path[2:]
        if path == SANDBOX_HOME or path.startswith(SANDBOX_HOME + "/"):
            return self.home / path[len(SANDBOX_HOME) + 1 :]
        if path == "/tmp" or path.startswith("/tmp/"):
            return self.tmp / path[5:]
        if not path.startswith("/"):
            return self.home / path
        return Path(path)

    # ------------------------------------------------------------------ observation

    def grab(self) -> Frame:
        """Raw screenshot of this display (mss, XShm)."""
        self._require_started()
        if self._mss is None:
            import mss

            try:
                factory = getattr(mss, "MSS", None) or mss.mss  # mss >= 10.2 deprecates mss.mss
                self._mss = factory(display=self.display)
            except Exception as exc:
                raise ObservationError(f"mss cannot open display {self.display}: {exc}") from exc
        try:
            shot = self._mss.grab(
                self._mss.monitors[1] if len(self._mss.monitors) > 1 else self._mss.monitors[0]
            )
        except Exception as exc:
            raise ObservationError(f"screenshot of {self.display} failed: {exc}") from exc
        return Frame(shot.width, shot.height, bytes(shot.raw))

    def windows(self) -> list[WindowInfo]:
        """Mapped top-level windows: title, WM_CLASS class, root-relative geometry, focus."""
        self._require_started()
        if self._windows is None:
            from envs.windows import WindowLister

            self._windows = WindowLister(self.display)
        return self._windows.list()

    def activate_window(self, title_substring: str, *, strict: bool = False, by_class: bool = False) -> bool:
        """Raise and focus the top-most window whose title (or class) matches; False when none matches."""
        from envs.windows import match_window

        win = match_window(self.windows(), title_substring, strict=strict, by_class=by_class)
        if win is None:
            return False
        assert self._windows is not None
        self._windows.activate(win.window_id)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and self._windows.active_window() != win.window_id:
            time.sleep(0.01)
        return True

    def close_window(self, title_substring: str, *, strict: bool = False, by_class: bool = False) -> bool:
        """Ask the top-most matching window to close (as ``wmctrl -c``); False when none matches."""
        from envs.windows import match_window

        win = match_window(self.windows(), title_substring, strict=strict, by_class=by_class)
        if win is None:
            return False
        assert self._windows is not None
        self._windows.close_window(win.window_id)
        return True

    def _a11y_client(self) -> A11yClient:
        if self._a11y is None or not self._a11y.alive():
            from envs.a11y import A11yClient

            env = self._base_env() if not self.existing_display else dict(os.environ)
            env["DISPLAY"] = self.display
            if self._bus_address:
                env["DBUS_SESSION_BUS_ADDRESS"] = self._bus_address
            if self._a11y_bus_address:
                env["AT_SPI_BUS_ADDRESS"] = self._a11y_bus_address
            self._a11y = A11yClient(
                env,
                spawn=lambda argv, e: self._popen(
                    argv, env=e, log="a11y", stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                ),
            )
        return self._a11y

    def a11y(self, *, max_nodes: int = 1500, timeout: float = 3.0) -> tuple[list[A11yNode], bool]:
        """The linearized accessibility table (showing, meaningful nodes) and whether it was truncated."""
        self._require_started()
        return self._a11y_client().tree(
            max_nodes=max_nodes, timeout=timeout, screen=(self.width, self.height)
        )

    def wait_settled(self, *, timeout: float = 3.0, interval: float = 0.05, stable: int = 3) -> float:
        """Wait until ``stable`` consecutive grabs show no change (or ``timeout``); return seconds waited."""
        t0 = time.monotonic()
        tracker = SettleTracker(stable=stable)
        while True:
            if tracker.feed(self.grab().thumbnail()):
                break
            if time.monotonic() - t0 >= timeout or self._stop_event.is_set():
                break
            time.sleep(interval)
        return time.monotonic() - t0

    def observe(self, *, a11y: bool = True) -> Observation:
        """Screenshot (PNG) + a11y table + window list, with seconds per part in ``timings``."""
        t = time.monotonic()
        frame = self.grab()
        t_grab = time.monotonic()
        png = frame.to_png()
        t_png = time.monotonic()
        nodes: list[A11yNode] = []
        truncated = False
        if a11y:
            nodes, truncated = self.a11y()
        t_a11y = time.monotonic()
        wins = self.windows()
        t_win = time.monotonic()
        return Observation(
            screenshot_png=png,
            width=frame.width,
            height=frame.height,
            a11y_nodes=nodes,
            windows=wins,
            timings={
                "screenshot": t_png - t,
                "grab": t_grab - t,
                "png": t_png - t_grab,
                "a11y": t_a11y - t_png,
                "windows": t_win - t_a11y,
            },
            a11y_truncated=truncated,
        )

    # ------------------------------------------------------------------ actions

    def execute(self, action: Action, *, last_observation: Observation | None = None) -> None:
        """Execute one typed action here (``ClickElement`` is resolved against ``last_observation``)."""
        from envs.actions import Click, ClickElement

        self._require_started()
        if isinstance(action, ClickElement):
            node = last_observation.node(action.element_id) if last_observation is not None else None
            if node is None:
                raise ActionError(
                    f"element id {action.element_id} is not in the last observation's a11y table; "
                    "use an id from the current table or click by coordinates"
                )
            x, y = node.center
            action = Click(x=x, y=y, button=action.button, clicks=action.clicks)
        if self._driver is None:
            from envs.input import InputDriver

            self._driver = InputDriver(self.display)
        self._stop_event.clear()
        self._driver.execute(action, self._stop_event)

    def stop(self) -> None:
        """Ask the action in flight to stop (the input driver checks this event every few ms)."""
        self._stop_event.set()


def _read_line(fd: int, timeout: float) -> str:
    """Read one line from a pipe fd within ``timeout`` seconds ('' on EOF or timeout)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace").strip().splitlines()[0] if buf.strip() else ""


def _stale_socket(n: int) -> bool:
    """True when ``/tmp/.X11-unix/X<n>`` exists but nobody accepts connections on it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(0.2)
        s.connect(f"/tmp/.X11-unix/X{n}")
        return False
    except OSError:
        return True
    finally:
        s.close()
