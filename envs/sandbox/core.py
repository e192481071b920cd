"""The sandboxed desktop: one small isolated machine per sandbox, with its own display.

Start order (see :meth:`Sandbox.start`): the sandbox's init (:mod:`envs.sandbox.isolation`: user, mount, pid,
network, IPC, UTS and cgroup namespaces, allowlisted file system with a size-limited writable layer) and, at
the same time, Xvfb on a free display (host side; its socket is linked into the sandbox). Then, all *inside*
the sandbox as its user: a private D-Bus session bus, the AT-SPI bus launcher and openbox with the studio's
own configuration (:mod:`envs.sandbox.display`). Apps, setup commands, getters and the AT-SPI reader run
inside too (``nsenter`` into the init's namespaces); screenshots, the window list and input talk to Xvfb from
the host.

Nothing is left behind: host processes die with the thread that spawned them (``PR_SET_PDEATHSIG``, from one
long-lived thread); everything inside dies with the init (pid 1 of the sandbox's pid namespace), which dies
with its builder; :meth:`Sandbox.close` runs from ``__exit__``, ``atexit`` and (if nobody else handles it)
SIGTERM; ``state.json`` lets the next start clean up after a SIGKILL (:mod:`envs.cleanup`).

Usage::

    with Sandbox().start() as sb:
        sb.launch_app("mousepad")
        obs = sb.observe()
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from envs import cleanup
from envs.errors import ActionError, DisplayError, IsolationError, ObservationError, SandboxError, SandboxLimitError
from envs.observation import Observation
from envs.sandbox import display as dsp
from envs.sandbox import isolation as iso
from envs.sandbox.files import SandboxFiles
from envs.sandbox.limits import Cgroup, SandboxLimits
from envs.sandbox.observing import SandboxObserving
from envs.sandbox.session import SandboxSession
from envs.sandbox.spawn import set_pdeathsig, spawner

if TYPE_CHECKING:
    from envs.a11y import A11yClient
    from envs.actions import Action
    from envs.windows import WindowLister

_live: weakref.WeakSet[Sandbox] = weakref.WeakSet()
_atexit_registered = False


def _close_all() -> None:
    for sb in list(_live):
        with contextlib.suppress(Exception):
            sb.close()


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


class Sandbox(SandboxSession, SandboxObserving, SandboxFiles):
    """A private desktop in its own isolated machine; see the module docstring.

    Args:
        width, height: display size in pixels.
        network: give the sandbox the host's network (off by default: only its own loopback).
        existing_display: attach to a running X display (``:N``) instead of starting Xvfb and openbox.
        name: prefix of the sandbox id (directory and process tags).
        limits: memory, process, CPU and disk limits (:class:`SandboxLimits` defaults).
    """

    def __init__(
        self,
        *,
        width: int = 1280,
        height: int = 800,
        network: bool = False,
        existing_display: str | None = None,
        name: str | None = None,
        limits: SandboxLimits | None = None,
    ) -> None:
        if width < 64 or height < 64:
            raise SandboxError(f"display size {width}x{height} is too small; use at least 64x64")
        self.width = width
        self.height = height
        self.network = network
        self.existing_display = existing_display
        self.name = name or "sb"
        self.limits = limits or SandboxLimits()
        self.id = f"{self.name}-{os.getpid()}-{secrets.token_hex(3)}"
        self.display = existing_display or ""
        self.runtime_dir = cleanup.sandboxes_root() / self.id
        self.out_dir = self.runtime_dir / "out"
        self.env: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.init_pid: int | None = None
        self._display_num: int | None = None
        self._slot: int | None = None
        self._cgroup: Cgroup | None = None
        self._procs: list[subprocess.Popen[Any]] = []
        self._xvfb: subprocess.Popen[Any] | None = None
        self._builder: subprocess.Popen[Any] | None = None
        self._lock = threading.RLock()
        self._started = False
        self._closed = False
        self._mss: Any = None
        self._windows: WindowLister | None = None
        self._a11y: A11yClient | None = None
        self._driver: Any = None
        self._stop_event = threading.Event()
        self._a11y_bus_address = ""
        self._bus_address = ""
        self._limit_error: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Sandbox:
        """Start the isolated machine, Xvfb, D-Bus (+ AT-SPI bus) and openbox; return self."""
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
            self._check_tools()
            self._make_dirs()
            self._slot = iso.claim_slot(self.id)
            self._cgroup = Cgroup(f"studio-{self.id}", self.limits).create()
            self._save_state()
            status_r = self._start_init()
            t = time.monotonic()
            if self.existing_display:
                self._attach_existing()
            else:
                self._display_num, self._xvfb = dsp.start_xvfb(
                    self.width, self.height, self._host_popen, self._log_tail, self._claimed, self._forget
                )
                self.display = f":{self._display_num}"
                self._save_state()
            self.timings["xvfb"] = time.monotonic() - t
            dsp.link_x_socket(self.display, self.runtime_dir / "x11")
            self._wait_init(status_r)
            self.timings["init"] = time.monotonic() - t0
            self._start_session()
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
        """Kill everything this sandbox started, remove its X lock, cgroups and directory. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop_event.set()
        for closer in (self._a11y, self._windows):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer.close()
        if self._mss is not None:
            with contextlib.suppress(Exception):
                self._mss.close()
        self._kill_inside()
        pids = [p.pid for p in self._procs]
        for p in reversed(self._procs):
            with contextlib.suppress(OSError):
                os.killpg(p.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                p.kill()
        for p in self._procs:
            with contextlib.suppress(Exception):
                p.wait(timeout=2)
        stray = cleanup.tagged_pids(self.id)
        cleanup.kill_pids(stray)
        cleanup.wait_gone(stray + pids, timeout=2)
        if self._display_num is not None and not self.existing_display:
            cleanup.remove_display_files(self._display_num, self._xvfb.pid if self._xvfb else None)
        if self._cgroup is not None:
            self._cgroup.remove()
        if self._slot is not None:
            iso.release_slot(self._slot, self.id)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        _live.discard(self)

    def _kill_inside(self) -> None:
        """SIGKILL the sandbox's init: the kernel then kills every process of its pid namespace."""
        if self.init_pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.init_pid, signal.SIGKILL)
        if self._builder is not None:
            with contextlib.suppress(OSError):
                self._builder.kill()

    # ------------------------------------------------------------------ start helpers

    def _check_tools(self) -> None:
        needed = [("nsenter", "util-linux"), ("dbus-daemon", "dbus"), ("script", "bsdutils")]
        if not self.existing_display:
            needed += [("Xvfb", "xvfb"), ("openbox", "openbox"), ("xprop", "x11-utils")]
        for exe, pkg in needed:
            if shutil.which(exe) is None:
                raise DisplayError(f"{exe} is not installed; install it with `sudo apt-get install {pkg}`")
        if os.geteuid() != 0:
            raise IsolationError(
                "the sandbox needs root on the host (to map its users to unprivileged host ids and build its "
                "file system); run the studio as root, e.g. in its container or VM"
            )

    def _make_dirs(self) -> None:
        self.runtime_dir.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.runtime_dir.parent, 0o711)
        self.runtime_dir.mkdir(mode=0o700)
        for sub in ("fs", "stage", "out"):
            (self.runtime_dir / sub).mkdir(mode=0o700)
        (self.runtime_dir / "x11").mkdir(mode=0o755)

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
                "slot": self._slot,
                "cgroups": [str(d) for d in (self._cgroup.dirs.values() if self._cgroup else [])],
                "created": time.time(),
            },
        )

    def _claimed(self, num: int) -> None:
        self._display_num = num
        self.display = f":{num}"
        self._save_state()

    def _forget(self, proc: subprocess.Popen[Any]) -> None:
        with self._lock:
            with contextlib.suppress(ValueError):
                self._procs.remove(proc)

    def _host_env(self) -> dict[str, str]:
        """Environment of the host-side processes we start (tagged for cleanup)."""
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", cleanup.TAG_ENV: self.id}

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
        """Start a process from the spawner thread: own process group, PDEATHSIG, output in ``<log>.log``."""
        log_path = self.runtime_dir / f"{log}.log"
        cgroup = self._cgroup if join_cgroup else None

        def preexec() -> None:
            set_pdeathsig()
            if cgroup is not None:
                cgroup.join()

        def spawn() -> subprocess.Popen[Any]:
            with open(log_path, "ab") as logf:
                return subprocess.Popen(
                    argv,
                    env=env,
                    stdin=stdin,
                    stdout=stdout if stdout is not None else logf,
                    stderr=stderr if stderr is not None else logf,
                    pass_fds=pass_fds,
                    start_new_session=True,  # no controlling terminal of ours inside (TIOCSTI)
                    preexec_fn=preexec,
                    close_fds=True,
                    text=text,
                )

        try:
            proc = spawner.call(spawn)
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

    def _host_popen(self, argv: list[str], *, log: str, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[Any]:
        return self._popen(argv, env=self._host_env(), log=log, pass_fds=pass_fds, join_cgroup=False)

    def _inside_popen(
        self,
        argv: list[str],
        *,
        log: str,
        root: bool = False,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        **kw: Any,
    ) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the sandbox (as its user, or its root) through ``nsenter``."""
        if self.init_pid is None:
            raise SandboxError("the sandbox's init is not running; call start() first")
        full = iso.enter_argv(self.init_pid, argv, root=root, cwd=cwd)
        return self._popen(full, env=env if env is not None else self.env, log=log, **kw)

    def _log_tail(self, log: str, n: int = 600) -> str:
        with contextlib.suppress(OSError):
            return (self.runtime_dir / f"{log}.log").read_text(errors="replace")[-n:].strip()
        return ""

    # ------------------------------------------------------------------ running things inside

    def _require_started(self) -> None:
        if not self._started or self._closed:
            raise SandboxError("the sandbox is not running; call start() first (or use `with Sandbox().start()`)")
        if self._limit_error:
            raise SandboxLimitError(self._limit_error)

    @staticmethod
    def _argv(argv: list[str] | str, shell: bool) -> list[str]:
        if shell:
            cmd = argv if isinstance(argv, str) else " ".join(argv)
            return ["/bin/bash", "-c", cmd]
        if isinstance(argv, str):
            return shlex.split(argv)
        return list(argv)

    def launch(
        self, argv: list[str] | str, *, shell: bool = False, cwd: str | None = None, root: bool = False
    ) -> subprocess.Popen[Any]:
        """Start a program inside the sandbox, detached (output goes to ``<runtime_dir>/apps.log``).

        ``root=True`` runs it as the sandbox's root (unprivileged on the host), as ``sudo`` would.
        """
        self._require_started()
        return self._inside_popen(self._argv(argv, shell), log="apps", cwd=cwd, root=root)

    def launch_piped(self, argv: list[str], *, cwd: str | None = None) -> subprocess.Popen[bytes]:
        """Start a program inside the sandbox with binary pipes to its stdin and stdout (stderr to apps.log).

        The pipes are the only channel: nothing listens on a port or a socket the host could reach (used to
        speak the DevTools protocol to Chromium, see :mod:`envs.browser`).
        """
        self._require_started()
        proc: subprocess.Popen[bytes] = self._inside_popen(
            list(argv), log="apps", cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        return proc

    def run_bytes(
        self,
        argv: list[str],
        *,
        input: bytes | None = None,
        timeout: float = 30,
        cwd: str | None = None,
        root: bool = False,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``argv`` inside the sandbox and wait; stdin from ``input``, stdout/stderr captured as bytes.

        Raises:
            SandboxError: when it runs longer than ``timeout`` seconds (it is killed).
        """
        self._require_started()
        proc = self._inside_popen(
            argv,
            log="run",
            cwd=cwd,
            root=root,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise SandboxError(f"command {argv} ran longer than {timeout} s and was killed") from exc
        finally:
            self._forget(proc)
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def run(
        self,
        argv: list[str] | str,
        *,
        shell: bool = False,
        timeout: float = 30,
        cwd: str | None = None,
        root: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run a program inside the sandbox and wait for it; stdout/stderr captured as text.

        Raises:
            SandboxError: when it runs longer than ``timeout`` seconds (it is killed).
        """
        full = self._argv(argv, shell)
        res = self.run_bytes(full, timeout=timeout, cwd=cwd, root=root)
        self.check_limits()
        return subprocess.CompletedProcess(
            full, res.returncode, res.stdout.decode(errors="replace"), res.stderr.decode(errors="replace")
        )

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

    def check_limits(self) -> None:
        """Raise :class:`SandboxLimitError` (and stop everything inside) if a resource limit was hit."""
        if self._limit_error is None and self._cgroup is not None:
            why = self._cgroup.breach()
            if why is not None:
                self._limit_error = why
                self._kill_inside()
        if self._limit_error is not None:
            raise SandboxLimitError(self._limit_error)

    # ------------------------------------------------------------------ actions

    def execute(self, action: Action, *, last_observation: Observation | None = None) -> None:
        """Execute one typed action here (``ClickElement`` is resolved against ``last_observation``).

        A :meth:`stop` stays in force for every later action until :meth:`clear_stop` (the caller that
        stopped decides when to go on), so a stop that lands between two actions of one decision holds.

        Raises:
            ActionInterrupted: a stop was requested (before or during the action).
            SandboxLimitError: the sandbox hit its memory or process limit.
        """
        from envs.actions import Click, ClickElement

        self._require_started()
        self.check_limits()
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
        self._driver.execute(action, self._stop_event)

    def stop(self) -> None:
        """Stop the action in flight and every later one until :meth:`clear_stop`."""
        self._stop_event.set()

    def clear_stop(self) -> None:
        """Allow actions again after :meth:`stop` (called by whoever requested the stop)."""
        self._stop_event.clear()

    def close_window(self, title_substring: str, *, strict: bool = False, by_class: bool = False) -> bool:
        """Ask the top-most matching window to close (as ``wmctrl -c``); False when none matches."""
        found = self.find_window(title_substring, strict=strict, by_class=by_class)
        if found is None:
            return False
        win, lister = found
        lister.close_window(win.window_id)
        return True
