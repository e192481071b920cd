"""The namespace builder and init process of one sandbox, run as ``python -I -S nsinit.py '<json spec>'``.

This file is a stand-alone script (standard library only, no imports from ``envs``) because half of it runs
after ``pivot_root``, where the host's files, the venv and the project checkout are gone. The host side is
:mod:`envs.sandbox.isolation`; it writes the spec and enters the namespaces this script makes with
``nsenter``.

What happens (host root is needed for the uid map and the idmapped mounts):

1. A throw-away child unshares a **user namespace**; we map its ids ``0..65535`` to the unprivileged host ids
   ``uid_base..uid_base+65535`` and keep a file descriptor of the namespace.
2. In a private **mount namespace** a size-limited tmpfs becomes the sandbox's writable layer. The new root is
   a directory of it; each allowlisted host directory (``usr``, ``etc``) is an overlay whose lower layer is an
   *idmapped*, read-only clone of the host directory (host root's files look owned by the sandbox's root, so
   ``sudo`` may edit ``/etc``) and whose upper layer lives on the tmpfs. Nothing else of the host is mounted
   except the files in ``binds`` (the X socket).
3. A child of new **pid, network, IPC, UTS and cgroup namespaces** becomes pid 1: it mounts ``/proc``, brings
   up ``lo``, ``pivot_root``\\s into the new root and drops the old one, joins the user namespace, unshares a
   mount namespace owned by it (every mount above is now locked) and becomes the sandbox's root.
4. It reports ``{"pid": <host pid>}`` on ``status_fd`` and then reaps orphans until its builder dies.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import stat
import struct
import sys
from typing import Any

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 0x4000, 1 << 18
MNT_DETACH = 2
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR, SYS_PIVOT_ROOT = 428, 429, 442, 155
OPEN_TREE_CLONE, AT_RECURSIVE, AT_EMPTY_PATH, AT_FDCWD = 1, 0x8000, 0x1000, -100
MOVE_MOUNT_F_EMPTY_PATH = 4
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_IDMAP = 1, 2, 4, 0x00100000
PR_SET_PDEATHSIG = 1


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _b(s: str | None) -> bytes | None:
    return s.encode() if s is not None else None


def mount(src: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    """mount(2)."""
    _check(_libc.mount(_b(src), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)), f"mount {target}")


def bind(src: str, target: str, *, readonly: bool = True) -> None:
    """Bind ``src`` on ``target`` (recursively), read-only unless told otherwise."""
    mount(src, target, None, MS_BIND | MS_REC)
    if readonly:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def idmapped_clone(src: str, target: str, userns_fd: int) -> None:
    """Mount a read-only clone of ``src`` on ``target`` whose ids are shown through the user namespace."""
    fd = _check(
        _libc.syscall(SYS_OPEN_TREE, AT_FDCWD, _b(src), OPEN_TREE_CLONE | os.O_CLOEXEC | AT_RECURSIVE),
        f"open_tree {src}",
    )
    try:
        attr = ctypes.create_string_buffer(
            struct.pack("QQQQ", MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV, 0, 0, userns_fd), 32
        )
        _check(
            _libc.syscall(SYS_MOUNT_SETATTR, fd, b"", AT_EMPTY_PATH | AT_RECURSIVE, attr, 32),
            f"idmap {src}",
        )
        _check(
            _libc.syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, _b(target), MOVE_MOUNT_F_EMPTY_PATH),
            f"move_mount {src}",
        )
    finally:
        os.close(fd)


def make_userns(base: int, count: int) -> int:
    """A new user namespace mapping ``0..count-1`` to host ``base..``; returns an fd of it."""
    r, w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.close(go_w)
            _check(_libc.unshare(CLONE_NEWUSER), "unshare user")
            os.write(w, b"1")
            os.read(go_r, 1)
        finally:
            os._exit(0)
    os.close(w)
    os.close(go_r)
    if os.read(r, 1) != b"1":
        raise OSError("could not create a user namespace")
    os.close(r)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(f"0 {base} {count}\n")
    fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    os.close(go_w)
    os.waitpid(pid, 0)
    return fd


def _mkdir(path: str, mode: int, owner: int) -> None:
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    os.chown(path, owner, owner)


def _copy_stage(stage: str, dest: str, owner: int) -> None:
    """Copy the host-prepared files of ``stage`` into an upper layer, owned by the sandbox's root."""
    for dirpath, _dirnames, filenames in os.walk(stage):
        rel = os.path.relpath(dirpath, stage)
        out = os.path.normpath(os.path.join(dest, rel))
        os.makedirs(out, exist_ok=True)
        os.chown(out, owner, owner)
        for name in filenames:
            src = os.path.join(dirpath, name)
            dst = os.path.join(out, name)
            shutil.copyfile(src, dst)
            os.chmod(dst, stat.S_IMODE(os.stat(src).st_mode))
            os.chown(dst, owner, owner)


def _whiteout(upper: str, rel: str) -> None:
    """Hide ``rel`` of the lower layer (an overlay whiteout is a 0:0 character device)."""
    path = os.path.join(upper, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.lexists(path):
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def unreadable_entries(top: str) -> list[str]:
    """Paths under ``top`` that an unprivileged host user cannot read (keys, ``shadow``...), relative."""
    out: list[str] = []
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if (st.st_mode & 0o005) != 0o005:
                    out.append(os.path.relpath(e.path, top))
                else:
                    stack.append(e.path)
            elif stat.S_ISREG(st.st_mode) and not st.st_mode & 0o004:
                out.append(os.path.relpath(e.path, top))
    return out


def build_root(spec: dict[str, Any], userns_fd: int) -> str:
    """Build the sandbox's file system under ``spec['fs']``; return the new root's path."""
    base = int(spec["uid_base"])
    fs = spec["fs"]
    mount("tmpfs", fs, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(spec['size'])},mode=755,uid={base},gid={base}")
    root = f"{fs}/root"
    _mkdir(root, 0o755, base)
    mount(root, root, None, MS_BIND)  # pivot_root wants a mount point
    for name in ("upper", "work", "lower"):
        _mkdir(f"{fs}/{name}", 0o700, 0)
    for name, target in spec["symlinks"].items():
        os.symlink(target, f"{root}/{name}")
    for name in spec["overlays"]:
        lower, upper, work, dest = (f"{fs}/lower/{name}", f"{fs}/upper/{name}", f"{fs}/work/{name}", f"{root}/{name}")
        for d in (lower, work, dest):
            os.makedirs(d, exist_ok=True)
        _mkdir(upper, 0o755, base)
        stage = spec.get("stage", {}).get(name)
        if stage:
            _copy_stage(stage, upper, base)
        if name in spec.get("hide_unreadable", []):
            for rel in unreadable_entries(f"/{name}"):
                _whiteout(upper, rel)
        idmapped_clone(f"/{name}", lower, userns_fd)
        mount("overlay", dest, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
    for rel, mode, owner in spec["dirs"]:
        _mkdir(f"{root}/{rel}", int(mode), base + int(owner))
    _mkdir(f"{root}/dev", 0o755, base)
    for dev in ("null", "zero", "full", "random", "urandom", "tty"):
        open(f"{root}/dev/{dev}", "w").close()
        bind(f"/dev/{dev}", f"{root}/dev/{dev}", readonly=False)
    _mkdir(f"{root}/dev/pts", 0o755, base)
    mount(
        "devpts",
        f"{root}/dev/pts",
        "devpts",
        MS_NOSUID | MS_NOEXEC,
        f"newinstance,ptmxmode=0666,mode=620,gid={base + 5}",
    )
    os.symlink("pts/ptmx", f"{root}/dev/ptmx")
    _mkdir(f"{root}/dev/shm", 0o1777, base)
    mount(
        "tmpfs",
        f"{root}/dev/shm",
        "tmpfs",
        MS_NOSUID | MS_NODEV,
        f"size={int(spec['shm_size'])},mode=1777,uid={base},gid={base}",
    )
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{root}/dev/{name}")
    for src, dest, readonly in spec["binds"]:
        if not os.path.exists(src):
            continue
        path = f"{root}/{dest.lstrip('/')}"
        if os.path.isdir(src):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
        bind(src, path, readonly=bool(readonly))
    _mkdir(f"{root}/proc", 0o555, base)
    return root


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), 0x8913, ifr))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s.fileno(), 0x8914, struct.pack("16sH", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP


def become_init(spec: dict[str, Any], root: str, userns_fd: int, alive_fd: int) -> None:
    """Pid 1 of the sandbox: enter the new root and the user namespace, then reap until the builder dies."""
    if spec["network"] is False:
        _loopback_up()
    hostname = spec["hostname"].encode()
    _check(_libc.sethostname(hostname, len(hostname)), "sethostname")
    mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for rel in ("sys", "sysrq-trigger", "irq", "bus"):
        path = f"{root}/proc/{rel}"
        if os.path.exists(path):
            bind(path, path, readonly=True)
    os.chdir(root)
    os.makedirs(".oldroot", exist_ok=True)
    _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b".oldroot"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.oldroot", MNT_DETACH), "umount old root")
    os.rmdir("/.oldroot")
    _check(_libc.setns(userns_fd, CLONE_NEWUSER), "setns user")
    os.close(userns_fd)
    _check(_libc.unshare(CLONE_NEWNS), "unshare mount (locks every mount above)")
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _reap_forever(alive_fd: int) -> None:
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        ready = select.select([alive_fd], [], [], 0.5)[0]
        if ready and not os.read(alive_fd, 1):
            os._exit(0)


#: The init's loop after setup, run by the sandbox's own python3 (so /proc/1/exe and /proc/1/cmdline show
#: nothing of the host): reap orphans, exit when the builder (the write end of fd argv[1]) is gone.
REAPER = """
import os, select, sys
fd = int(sys.argv[1])
while True:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
    if select.select([fd], [], [], 0.5)[0] and not os.read(fd, 1):
        os._exit(0)
"""


def _reap(alive_fd: int) -> None:
    """Become the reaper: exec the sandbox's python3 if it has one, else loop in this interpreter."""
    for exe in ("/usr/bin/python3", "/bin/python3"):
        if os.access(exe, os.X_OK):
            os.set_inheritable(alive_fd, True)
            try:
                os.execv(exe, [exe, "-I", "-S", "-c", REAPER, str(alive_fd)])
            except OSError:
                pass
    _reap_forever(alive_fd)


def main() -> None:
    import time

    t0 = time.monotonic()
    times: dict[str, float] = {}
    spec = json.loads(sys.argv[1])
    status_fd = int(spec["status_fd"])
    status = os.fdopen(status_fd, "w", buffering=1)
    try:
        userns_fd = make_userns(int(spec["uid_base"]), int(spec["uid_count"]))
        times["userns"] = time.monotonic() - t0
        _check(_libc.unshare(CLONE_NEWNS), "unshare mount")
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        root = build_root(spec, userns_fd)
        times["fs"] = time.monotonic() - t0
        flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
        if spec["network"] is False:
            flags |= CLONE_NEWNET
        _check(_libc.unshare(flags), "unshare pid/net/ipc/uts/cgroup")
    except OSError as exc:
        status.write(json.dumps({"error": str(exc)}) + "\n")
        sys.exit(1)
    alive_r, alive_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(alive_w)
        os.close(ready_r)
        status.close()
        try:
            become_init(spec, root, userns_fd, alive_r)
        except OSError as exc:
            os.write(ready_w, json.dumps({"error": str(exc)}).encode())
            os._exit(1)
        os.write(ready_w, b'{"ok": true}')
        os.close(ready_w)
        _reap(alive_r)
    os.close(alive_r)
    os.close(ready_w)
    os.close(userns_fd)
    reply = json.loads(os.read(ready_r, 4096) or b'{"error": "the sandbox init exited during setup"}')
    reply.setdefault("pid", pid)
    times["ready"] = time.monotonic() - t0
    reply["times"] = {k: round(v, 4) for k, v in times.items()}
    status.write(json.dumps(reply) + "\n")
    status.close()
    _, code = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(code) if code else 0)


if __name__ == "__main__":
    main()
