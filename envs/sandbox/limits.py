"""Resource limits of one sandbox: memory, process count, CPU share (cgroups), and how a breach is reported.

Every process of a sandbox (its init, and everything started with ``nsenter``) joins one cgroup per
controller before it execs. Where the host has cgroup v2 with the controllers delegated, one directory under
the studio's own cgroup carries ``memory.max``, ``pids.max`` and ``cpu.max``; on cgroup v1 hosts (this
machine) the ``memory``, ``pids`` and ``cpu`` hierarchies get one directory each, again under the cgroup the
studio itself runs in. Without writable cgroups the limits fall back to ``RLIMIT_NPROC`` (the sandbox's
users have host ids of their own, so the count is per sandbox) and the episode is not protected from a
memory hog (a warning is logged).

A breach is read from the cgroup's event counters (``oom_kill``, ``pids`` ``max``):
:meth:`Cgroup.breach` says what happened in words a user can act on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class SandboxLimits:
    """Per-sandbox limits.

    Attributes:
        memory_mb: RAM (and tmpfs pages) of all the sandbox's processes; the kernel's OOM killer acts inside.
        pids: processes and threads at once (a fork bomb stops here).
        cpus: CPU time as a number of cores (1.0 = at most one core busy).
        disk_mb: size of the writable layer (``/``, home, ``/tmp``, ``/etc`` and ``/usr`` changes).
        shm_mb: size of ``/dev/shm``.
    """

    memory_mb: int = 2048
    pids: int = 1024
    cpus: float = 1.0
    disk_mb: int = 1024
    shm_mb: int = 256


def _own_cgroup(controller: str) -> str | None:
    """This process's cgroup path in the hierarchy of ``controller`` ('' = the v2 unified one)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, path = line.split(":", 2)
            if (controller == "" and ctrls == "") or controller in ctrls.split(","):
                return path
    return None


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError as exc:
        log.debug("cgroup: cannot write %s to %s: %s", value, path, exc)
        return False


def _counter(path: Path, key: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
    return 0


class Cgroup:
    """The cgroup directories of one sandbox (created by :meth:`create`, removed by :meth:`remove`)."""

    def __init__(self, name: str, limits: SandboxLimits) -> None:
        self.name = name
        self.limits = limits
        self.dirs: dict[str, Path] = {}  # controller ("memory", "pids", "cpu", or "unified") -> directory
        self._baseline: dict[str, int] = {}

    def create(self) -> Cgroup:
        """Make the directories and write the limits; controllers that are not writable are skipped."""
        lim = self.limits
        unified = CGROUP_ROOT / "cgroup.controllers"
        if unified.exists():
            own = _own_cgroup("")
            if own is not None:
                d = CGROUP_ROOT / own.lstrip("/") / self.name
                with contextlib.suppress(OSError):
                    d.mkdir()
                    ok = _write(d / "memory.max", str(lim.memory_mb << 20))
                    ok &= _write(d / "pids.max", str(lim.pids))
                    _write(d / "memory.swap.max", "0")
                    _write(d / "cpu.max", f"{int(lim.cpus * 100000)} 100000")
                    if ok:
                        self.dirs["unified"] = d
                    else:
                        d.rmdir()
        else:
            for ctrl in ("memory", "pids", "cpu"):
                own = _own_cgroup(ctrl)
                base = CGROUP_ROOT / ctrl
                if own is None or not base.is_dir():
                    continue
                d = base / own.lstrip("/") / self.name
                try:
                    d.mkdir()
                except OSError as exc:
                    log.debug("cgroup: cannot create %s: %s", d, exc)
                    continue
                ok = True
                if ctrl == "memory":
                    ok = _write(d / "memory.limit_in_bytes", str(lim.memory_mb << 20))
                    if (d / "memory.memsw.limit_in_bytes").exists():
                        _write(d / "memory.memsw.limit_in_bytes", str(lim.memory_mb << 20))
                elif ctrl == "pids":
                    ok = _write(d / "pids.max", str(lim.pids))
                else:
                    _write(d / "cpu.cfs_period_us", "100000")
                    ok = _write(d / "cpu.cfs_quota_us", str(int(lim.cpus * 100000)))
                if ok:
                    self.dirs[ctrl] = d
                else:
                    with contextlib.suppress(OSError):
                        d.rmdir()
        if "memory" not in self.dirs and "unified" not in self.dirs:
            log.warning(
                "no writable memory cgroup: sandbox %s has no memory limit (a memory hog can slow the host)",
                self.name,
            )
        self._baseline = self._counts()
        return self

    def join(self, pid: int | None = None) -> None:
        """Move ``pid`` (default: the calling process) into every directory; also set ``RLIMIT_NPROC``.

        Runs in ``preexec_fn`` (after fork, before exec), so it only writes files and calls setrlimit.
        """
        pid = pid or os.getpid()
        for d in self.dirs.values():
            with contextlib.suppress(OSError):
                (d / "cgroup.procs").write_text(str(pid))
        if "pids" not in self.dirs and "unified" not in self.dirs:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NPROC, (self.limits.pids, self.limits.pids))

    def _counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        if "unified" in self.dirs:
            d = self.dirs["unified"]
            out["oom"] = _counter(d / "memory.events", "oom_kill")
            out["pids"] = _counter(d / "pids.events", "max")
        if "memory" in self.dirs:
            out["oom"] = _counter(self.dirs["memory"] / "memory.oom_control", "oom_kill")
        if "pids" in self.dirs:
            out["pids"] = _counter(self.dirs["pids"] / "pids.events", "max")
        return out

    def breach(self) -> str | None:
        """A sentence describing a limit the sandbox hit since :meth:`create`, or None."""
        now = self._counts()
        if now.get("oom", 0) > self._baseline.get("oom", 0):
            return (
                f"the sandbox ran out of memory (limit {self.limits.memory_mb} MiB) and the kernel killed a "
                "process inside it; raise SandboxLimits.memory_mb if the task really needs more"
            )
        if now.get("pids", 0) > self._baseline.get("pids", 0):
            return (
                f"the sandbox hit its process limit ({self.limits.pids} processes and threads), e.g. a fork "
                "bomb; raise SandboxLimits.pids if the task really needs more"
            )
        return None

    def remove(self) -> None:
        """Remove the directories (after every process in them has exited)."""
        for d in self.dirs.values():
            remove_dir(d)
        self.dirs = {}


def remove_dir(d: Path) -> None:
    """rmdir a cgroup directory, waiting briefly for exiting processes to leave it."""
    import time

    deadline = time.monotonic() + 2.0
    while True:
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                log.warning("could not remove cgroup %s (still busy)", d)
                return
            time.sleep(0.02)
