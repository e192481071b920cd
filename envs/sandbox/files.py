"""Files inside a sandbox, read and written *through the sandbox*.

Task files come from strangers and the agent is hostile, so the studio never turns a path from a task into a
host path. Every file operation runs as a small process inside the sandbox, as its user: ``..``, absolute
paths and symlinks the agent planted resolve in the sandbox's own file system, which holds nothing of the
host. ``~`` and relative paths mean the sandbox user's home (``/home/user``).
"""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from envs.errors import SandboxError, SandboxLimitError
from envs.sandbox.limits import SandboxLimits

HOME = "/home/user"
#: Largest file a getter reads out of a sandbox (bigger ones are an error, not a silent cut).
MAX_READ_BYTES = 256 << 20

_WRITE = 'umask 022; d=$(dirname -- "$1") && mkdir -p -- "$d" && cat > "$1"'
_READ = 'test -f "$1" || exit 3; test -r "$1" || exit 4; exec head -c "$2" -- "$1"'
_counter = itertools.count()


def inside_path(path: str) -> str:
    """A task's path as the sandbox sees it: ``~`` -> ``/home/user``, relative -> under the home."""
    if path == "~" or path.startswith("~/"):
        path = HOME + path[1:]
    if not path.startswith("/"):
        path = f"{HOME}/{path}"
    return path


class SandboxFiles:
    """File operations of :class:`envs.sandbox.Sandbox` (mixed in; uses its ``run_bytes``)."""

    out_dir: Path
    limits: SandboxLimits

    if TYPE_CHECKING:  # provided by Sandbox; declared for type checkers only (no stubs in the MRO)

        def run_bytes(
            self,
            argv: list[str],
            *,
            input: bytes | None = None,
            timeout: float = 30,
            cwd: str | None = None,
            root: bool = False,
        ) -> subprocess.CompletedProcess[bytes]:
            raise NotImplementedError

    def write_file(self, path: str, data: bytes, *, timeout: float = 60) -> None:
        """Write ``data`` to ``path`` inside the sandbox as its user (parent directories are created).

        Raises:
            SandboxLimitError: the sandbox's disk (its writable layer) is full.
            SandboxError: the sandbox user may not write there (names the path and the reason).
        """
        target = inside_path(path)
        res = self.run_bytes(["/bin/sh", "-c", _WRITE, "sh", target], input=data, timeout=timeout)
        if res.returncode != 0:
            err = res.stderr.decode(errors="replace").strip()
            if "No space left" in err:
                disk = self.limits.disk_mb
                raise SandboxLimitError(
                    f"cannot write {target} in the sandbox: its disk is full (writable layer of {disk} MiB); "
                    "free space inside or raise SandboxLimits.disk_mb"
                )
            raise SandboxError(f"cannot write {target} in the sandbox (as user): {err}")

    def read_file(self, path: str, *, max_bytes: int = MAX_READ_BYTES, timeout: float = 60) -> bytes | None:
        """The bytes of the regular file ``path`` inside the sandbox (read as its user), None if absent.

        Raises:
            SandboxError: the file is bigger than ``max_bytes``.
        """
        target = inside_path(path)
        res = self.run_bytes(["/bin/sh", "-c", _READ, "sh", target, str(max_bytes + 1)], timeout=timeout)
        if res.returncode != 0:
            return None
        if len(res.stdout) > max_bytes:
            raise SandboxError(f"{target} in the sandbox is larger than {max_bytes} bytes; not read")
        return res.stdout

    def copy_out(self, path: str) -> Path | None:
        """Copy a file out of the sandbox into its host-side ``out/`` directory (for metrics); None if absent."""
        data = self.read_file(path)
        if data is None:
            return None
        name = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(inside_path(path)).name) or "file"
        dest = self.out_dir / f"{next(_counter)}-{name}"
        dest.write_bytes(data)
        return dest
