"""Starting host-side processes safely: one long-lived spawner thread, ``PR_SET_PDEATHSIG``, pipe reads."""

from __future__ import annotations

import ctypes
import os
import queue
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


def set_pdeathsig() -> None:
    """Ask the kernel to SIGKILL the calling process when the thread that forked it exits."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Spawner:
    """One daemon thread that forks every process we start.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked a child exits, so spawning from short-lived
    worker threads (GUI thread pools) would kill the sandbox early. This thread lives as long as the process.
    """

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[bool, Any]]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the spawner thread and return its result (or raise its exception)."""
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


spawner = Spawner()


def read_line(fd: int, timeout: float) -> str:
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
