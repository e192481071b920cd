"""Files read out of a sandbox by a command run inside it (no sandbox path is ever turned into a host path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.errors import TaskError
from envs.task_setup import sandbox_path

if TYPE_CHECKING:
    from envs.sandbox import Sandbox

#: Largest file a getter copies out of the sandbox.
MAX_FILE_BYTES = 64 << 20

_READ_SCRIPT = 'test -f "$1" || exit 3; test -r "$1" || exit 4; head -c "$2" "$1" | base64 -w0'


def read_sandbox_file(sb: Sandbox, path: str) -> bytes | None:
    """The bytes of a file as the sandbox sees it (None if it is not a regular file there).

    Read by a command run inside the sandbox, so symlinks resolve inside its isolation (an agent's link to
    ``/etc/shadow`` reads the sandbox's view, never the host's) and nothing depends on where the sandbox keeps
    its files on the host.
    """
    import base64

    proc = sb.run(["sh", "-c", _READ_SCRIPT, "read", sandbox_path(path), str(MAX_FILE_BYTES + 1)], timeout=60)
    if proc.returncode != 0:
        return None
    data = base64.b64decode(proc.stdout or "")
    if len(data) > MAX_FILE_BYTES:
        raise TaskError(f"{path} in the sandbox is larger than {MAX_FILE_BYTES} bytes; not evaluated")
    return data
