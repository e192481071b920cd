"""Leftover detection and removal for sandboxes whose owner process died (SIGKILL, power loss, OOM killer).

Every sandbox writes ``<root>/<id>/state.json`` *before* it starts anything, and rewrites it whenever it
starts a process. Every process it starts (and every descendant, through the inherited environment) carries
``STUDIO_SANDBOX_ID=<id>``. When the owner is dead (pid gone, or reused by another process: the start time
differs), :func:`clean_leftovers` kills what is left, removes the X lock and socket, and deletes the
directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

ROOT_ENV = "STUDIO_SANDBOX_ROOT"
TAG_ENV = "STUDIO_SANDBOX_ID"
STATE_FILE = "state.json"
#: Lock files of sandbox id ranges (``<root>/.slot-<n>`` holding the sandbox id; see envs.sandbox.isolation).
SLOT_PREFIX = ".slot-"


def sandboxes_root() -> Path:
    """Directory holding one sub-directory per sandbox (``/tmp/studio-sandboxes`` unless overridden)."""
    return Path(os.environ.get(ROOT_ENV, "/tmp/studio-sandboxes"))


def proc_start_time(pid: int) -> int | None:
    """Kernel start time (clock ticks since boot) of ``pid``, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def owner_alive(pid: int, start_time: int | None) -> bool:
    """True when ``pid`` runs and is the same process that wrote the state (start time matches)."""
    now = proc_start_time(pid)
    if now is None:
        return False
    if start_time is None:
        return True
    return now == start_time


def tagged_pids(tag: str) -> list[int]:
    """Pids of processes whose environment carries ``STUDIO_SANDBOX_ID=<tag>`` (readable ones only)."""
    needle = f"{TAG_ENV}={tag}\0".encode()
    me = os.getpid()
    out: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env or env.startswith(needle):
            out.append(pid)
    return out


def kill_pids(pids: list[int], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to each pid and to its process group when it leads one; ignore vanished processes."""
    for pid in pids:
        if pid <= 1 or pid == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def wait_gone(pids: list[int], timeout: float = 2.0) -> bool:
    """Wait until none of ``pids`` exists (zombies of other parents count as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _running(p)]
        if not alive:
            return True
        time.sleep(0.01)
    return False


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def remove_display_files(display_num: int, server_pid: int | None = None) -> None:
    """Remove ``/tmp/.X<n>-lock`` and the socket ``/tmp/.X11-unix/X<n>`` unless a live server owns them.

    The lock file holds the server pid; files are removed when that pid is ``server_pid`` (ours) or dead.
    """
    lock = Path(f"/tmp/.X{display_num}-lock")
    owner: int | None = None
    with contextlib.suppress(OSError, ValueError):
        owner = int(lock.read_text().strip() or "0")
    if owner and owner != server_pid and _running(owner):
        return  # somebody else's live X server
    with contextlib.suppress(OSError):
        lock.unlink()
    with contextlib.suppress(OSError):
        Path(f"/tmp/.X11-unix/X{display_num}").unlink()


def release_slots_of(sandbox_id: str) -> None:
    """Free every id range (slot lock file) held by ``sandbox_id`` (cleanup after a crash)."""
    for path in sandboxes_root().glob(SLOT_PREFIX + "*"):
        with contextlib.suppress(OSError):
            if path.read_text() == sandbox_id:
                path.unlink()


def read_state(sandbox_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((sandbox_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(sandbox_dir: Path, state: dict[str, Any]) -> None:
    """Atomically (rename) write the state file."""
    tmp = sandbox_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, sandbox_dir / STATE_FILE)


def destroy(sandbox_dir: Path, state: dict[str, Any] | None) -> None:
    """Kill every process of a sandbox, remove its display files and its directory."""
    tag = str((state or {}).get("id") or sandbox_dir.name)
    # Only processes that still carry the tag: a recorded pid may have been reused by an unrelated process.
    pids = tagged_pids(tag)
    kill_pids(pids)
    wait_gone(pids, timeout=2.0)
    display_num = (state or {}).get("display_num")
    if isinstance(display_num, int) and (state or {}).get("owns_display"):
        remove_display_files(display_num, (state or {}).get("xvfb_pid"))
    from envs.sandbox.limits import remove_dir

    for cg in (state or {}).get("cgroups") or []:
        if Path(cg).name.startswith("studio-"):
            remove_dir(Path(cg))
    release_slots_of(tag)
    shutil.rmtree(sandbox_dir, ignore_errors=True)


def clean_leftovers(root: Path | None = None, *, min_age: float = 5.0) -> list[str]:
    """Destroy sandboxes whose owner process is dead; return the ids removed.

    A directory without a readable state file is removed only when older than ``min_age`` seconds (it may be a
    sandbox being created right now by another process).
    """
    root = root or sandboxes_root()
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for d in root.iterdir():
        if not d.is_dir() or d.name.startswith("."):
            continue
        state = read_state(d)
        if state is None:
            try:
                age = time.time() - d.stat().st_mtime
            except OSError:
                continue
            if age < min_age:
                continue
        elif owner_alive(int(state.get("owner_pid", 0)), state.get("owner_start")):
            continue
        destroy(d, state)
        removed.append(d.name)
    return removed
