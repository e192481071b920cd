"""Client side of the per-sandbox AT-SPI reader (:mod:`envs.a11y_worker`).

The worker is a persistent subprocess with the sandbox's environment; requests are JSON lines. A request that
does not answer in time kills the worker (a fresh one starts on the next request) and raises
:class:`ObservationError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envs.errors import ObservationError
from envs.observation import A11yNode

Spawn = Callable[[list[str], dict[str, str]], "subprocess.Popen[str]"]


def _default_spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


#: The system interpreter inside a sandbox (the venv is not visible there); it needs Debian's python3-gi.
SYSTEM_PYTHON = "/usr/bin/python3"


def worker_argv_inside() -> list[str]:
    """Command line of the AT-SPI reader inside a sandbox: the system python3 running the worker's source.

    The worker uses only the standard library and ``gi`` (Debian ``python3-gi`` + ``gir1.2-atspi-2.0``), so
    neither the venv nor the project checkout has to be visible inside the sandbox.
    """
    source = Path(__file__).with_name("a11y_worker.py").read_text(encoding="utf-8")
    return [SYSTEM_PYTHON, "-I", "-c", source]


class A11yClient:
    """Talks to one ``python -m envs.a11y_worker`` process.

    Args:
        env: environment of the worker (DISPLAY, DBUS_SESSION_BUS_ADDRESS, AT_SPI_BUS_ADDRESS of the sandbox).
        spawn: how to start the process (the sandbox passes its tracked, PDEATHSIG spawner).
        argv: the worker's command line (default: this interpreter, ``-m envs.a11y_worker``).
    """

    def __init__(self, env: dict[str, str], spawn: Spawn | None = None, argv: list[str] | None = None) -> None:
        self._env = dict(env)
        self._argv = argv or [sys.executable, "-m", "envs.a11y_worker"]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self._env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._spawn = spawn or _default_spawn
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._buf = b""
        self._start()

    def _start(self) -> None:
        self._proc = self._spawn(self._argv, self._env)
        self._buf = b""

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            assert proc.stdin is not None
            proc.stdin.close()
        with contextlib.suppress(Exception):
            proc.wait(timeout=0.5)
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(timeout=2)

    def request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait up to ``timeout`` seconds for its reply."""
        with self._lock:
            if not self.alive():
                self.close()
                self._start()
            proc = self._proc
            assert proc is not None and proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps(req) + "\n")
                proc.stdin.flush()
            except OSError as exc:
                self.close()
                raise ObservationError(f"the AT-SPI reader died: {exc}") from exc
            fd = proc.stdout.fileno()
            deadline = time.monotonic() + timeout
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
                if not ready:
                    self.close()
                    raise ObservationError(
                        f"the AT-SPI reader did not answer {req.get('op')!r} within {timeout:.1f} s; "
                        "an app may be hung (the reader was restarted)"
                    )
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self.close()
                    raise ObservationError("the AT-SPI reader exited; see a11y.log in the sandbox directory")
                self._buf += chunk
            line, _, self._buf = self._buf.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise ObservationError(f"accessibility tree unavailable: {reply.get('error')}")
        return reply

    def tree(
        self, *, max_nodes: int = 1500, timeout: float = 3.0, screen: tuple[int, int] = (100000, 100000)
    ) -> tuple[list[A11yNode], bool]:
        """Linearized nodes (ids = traversal order) and whether ``max_nodes``/``timeout`` cut the walk."""
        # The worker's first answer includes its start-up (python + gi import); allow for it.
        reply = self.request(
            {"op": "tree", "max_nodes": max_nodes, "timeout": timeout, "screen": list(screen)},
            timeout=timeout + 5.0,
        )
        nodes = [
            A11yNode(id=i, role=r[0], name=r[1], text=r[2], x=int(r[3]), y=int(r[4]), w=int(r[5]), h=int(r[6]))
            for i, r in enumerate(reply["nodes"])
        ]
        return nodes, bool(reply.get("truncated"))

    def apps(self, timeout: float = 5.0) -> list[str]:
        return list(self.request({"op": "apps"}, timeout=timeout)["apps"])

    def wait_app(self, name: str, timeout: float = 10.0) -> bool:
        """Wait until an accessible application called ``name`` is registered; False on timeout."""
        deadline = time.monotonic() + timeout
        want = name.lower()
        while True:
            if any(a.lower() == want for a in self.apps(timeout=max(1.0, deadline - time.monotonic() + 5))):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
