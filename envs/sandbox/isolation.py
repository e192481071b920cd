"""Host side of a sandbox's isolation: its ids, its ``/etc``, its init process and how to enter it.

One sandbox = one init process (:mod:`envs.sandbox.nsinit`) owning a user, mount, pid, network, IPC, UTS and
cgroup namespace. Every later process (window manager, D-Bus, apps, setup commands, getters, the AT-SPI
reader) is started with ``nsenter --target <init>`` into all of them, as the sandbox's user (uid 1000
``user``) or, for ``sudo``-like work the studio itself does, its root. Both map to unprivileged host ids of
their own (``uid_base + 0`` and ``uid_base + 1000``; each sandbox gets a different 65536-id range).

The file system is an allowlist: ``/usr`` and ``/etc`` (plus ``/bin``, ``/lib``... as on the host) are
overlays over read-only, idmapped views of the host's directories; everything written (also by ``sudo``)
lands in one size-limited tmpfs and vanishes on close. ``/etc`` is the host's minus every file a normal host
user could not read (keys, ``shadow``), plus the sandbox's own ``passwd``, ``group``, ``shadow``,
``sudoers``, ``hostname``, ``hosts``, ``machine-id`` and window-manager / session-bus configuration.
The only host objects inside are the null-like devices and the X socket of the sandbox's own display.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

from envs import cleanup

USER_UID = 1000
USER_NAME = "user"
USER_HOME = "/home/user"
USER_SHELL = "/bin/bash"
RUN_DIR = f"/run/user/{USER_UID}"
HOSTNAME = "studio-sandbox"
#: The password of ``user`` (as in OSWorld's VM): ``echo password | sudo -S ...`` works.
USER_PASSWORD = "password"
# sha512-crypt of "password" (``openssl passwd -6 -salt studiosandbox password``).
_PASSWORD_HASH = (
    "$6$studiosandbox$nP796h7FKnVFTMoJB.iV.DkP8ThKuucjv4mcx2iiiEYk7nrmhGdFCLBiZGGAn8s6mUUc9.xY.aloFhgrorIp./"
)
#: First host uid of sandbox id ranges; slot ``n`` owns ``UID_BASE + n * 65536 ..``.
UID_BASE = 1_000_000
UID_COUNT = 65536
MAX_SLOTS = 2000

NSINIT = Path(__file__).with_name("nsinit.py")
#: Host caches bound read-only into every sandbox (without the font cache, xterm and GTK apps spend
#: seconds re-scanning every font at start).
SHARED_CACHES = ("/var/cache/fontconfig",)


def _slot_file(n: int) -> Path:
    # Plain files in the sandboxes root (never a folder there: leftover cleanup treats folders as sandboxes).
    return cleanup.sandboxes_root() / f"{cleanup.SLOT_PREFIX}{n}"


def claim_slot(sandbox_id: str) -> int:
    """A free id range for ``sandbox_id`` (lock file ``<root>/.slot-<n>`` holding the id, ``O_EXCL``)."""
    cleanup.sandboxes_root().mkdir(parents=True, exist_ok=True)
    for n in range(MAX_SLOTS):
        try:
            fd = os.open(_slot_file(n), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as f:
            f.write(sandbox_id)
        return n
    from envs.errors import IsolationError

    raise IsolationError(
        f"all {MAX_SLOTS} sandbox id ranges are taken; remove stale .slot-* files in {cleanup.sandboxes_root()}"
    )


def release_slot(slot: int, sandbox_id: str) -> None:
    """Free ``slot`` if it still belongs to ``sandbox_id``."""
    path = _slot_file(slot)
    with contextlib.suppress(OSError):
        if path.read_text() == sandbox_id:
            path.unlink()


def _root_layout() -> tuple[dict[str, str], list[str]]:
    """Top-level symlinks to copy (``bin -> usr/bin`` on merged-/usr systems) and directories to overlay."""
    links: dict[str, str] = {}
    overlays = ["usr", "etc"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            links[name] = os.readlink(path)
        elif path.is_dir():
            overlays.append(name)
    return links, overlays


def write_etc_stage(stage: Path, *, openbox_rc: str, openbox_menu: str, session_bus_conf: str) -> None:
    """The sandbox's own files of ``/etc`` (copied into the overlay's upper layer by the init)."""
    u, home, shell = USER_NAME, USER_HOME, USER_SHELL
    files = {
        "passwd": (
            "root:x:0:0:root:/root:/bin/bash\n"
            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
            "bin:x:2:2:bin:/bin:/usr/sbin/nologin\n"
            "sys:x:3:3:sys:/dev:/usr/sbin/nologin\n"
            "messagebus:x:100:101::/nonexistent:/usr/sbin/nologin\n"
            f"{u}:x:{USER_UID}:{USER_UID}:{u}:{home}:{shell}\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            0o644,
        ),
        "group": (
            "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:user\ntty:x:5:\ndisk:x:6:\n"
            f"sudo:x:27:{u}\naudio:x:29:{u}\nvideo:x:44:{u}\nshadow:x:42:\nusers:x:100:{u}\n"
            f"messagebus:x:101:\n{u}:x:{USER_UID}:\nnogroup:x:65534:\n",
            0o644,
        ),
        "shadow": (
            f"root:*:19700:0:99999:7:::\n{u}:{_PASSWORD_HASH}:19700:0:99999:7:::\n"
            "daemon:*:19700:0:99999:7:::\nbin:*:19700:0:99999:7:::\nsys:*:19700:0:99999:7:::\n"
            "messagebus:*:19700:0:99999:7:::\nnobody:*:19700:0:99999:7:::\n",
            0o640,
        ),
        "gshadow": ("root:*::\nsudo:*::user\nshadow:*::\n" + f"{u}:!::\n", 0o640),
        "hostname": (f"{HOSTNAME}\n", 0o644),
        "hosts": (f"127.0.0.1\tlocalhost\n127.0.1.1\t{HOSTNAME}\n::1\tlocalhost ip6-localhost\n", 0o644),
        "machine-id": (secrets.token_hex(16) + "\n", 0o444),
        "sudoers": (
            "Defaults\tenv_reset\nDefaults\tmail_badpass\n"
            'Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
            "Defaults\tuse_pty\nDefaults\t!fqdn\n"
            "root\tALL=(ALL:ALL) ALL\n%sudo\tALL=(ALL:ALL) ALL\n",
            0o440,
        ),
        "xdg/openbox/rc.xml": (openbox_rc, 0o644),
        "xdg/openbox/menu.xml": (openbox_menu, 0o644),
        "dbus-1/studio-session.conf": (session_bus_conf, 0o644),
    }
    for rel, (text, mode) in files.items():
        path = stage / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    services = stage / "dbus-1/studio-services"
    services.mkdir(parents=True, exist_ok=True)
    for svc in ("org.a11y.Bus.service", "ca.desrt.dconf.service"):
        src = Path("/usr/share/dbus-1/services") / svc
        if src.exists():
            shutil.copyfile(src, services / svc)


def init_spec(
    *,
    fs: Path,
    slot: int,
    stage: Path,
    x11_dir: Path,
    network: bool,
    disk_mb: int,
    shm_mb: int,
    status_fd: int,
) -> dict[str, object]:
    """The JSON spec :mod:`envs.sandbox.nsinit` builds the sandbox from."""
    links, overlays = _root_layout()
    dirs = [
        ("tmp", 0o1777, 0),
        ("var", 0o755, 0),
        ("var/tmp", 0o1777, 0),
        ("var/log", 0o755, 0),
        ("var/lib", 0o755, 0),
        ("var/cache", 0o755, 0),
        ("home", 0o755, 0),
        (USER_HOME.lstrip("/"), 0o755, USER_UID),
        ("root", 0o700, 0),
        ("run", 0o755, 0),
        ("run/lock", 0o1777, 0),
        ("run/user", 0o755, 0),
        (RUN_DIR.lstrip("/"), 0o700, USER_UID),
        ("srv", 0o755, 0),
        ("mnt", 0o755, 0),
        ("opt", 0o755, 0),
        ("media", 0o755, 0),
    ]
    for sub in (".config", ".local", ".local/share", ".cache", "Desktop", "Documents", "Downloads"):
        dirs.append((f"{USER_HOME.lstrip('/')}/{sub}", 0o755, USER_UID))
    return {
        "fs": str(fs),
        "uid_base": UID_BASE + slot * UID_COUNT,
        "uid_count": UID_COUNT,
        "size": disk_mb << 20,
        "shm_size": shm_mb << 20,
        "symlinks": links,
        "overlays": overlays,
        "stage": {"etc": str(stage)},
        # /etc shows no more than any host user could read: unreadable files and folders are whited out.
        "hide_unreadable": ["etc"],
        "dirs": dirs,
        # The X socket directory (holds only this sandbox's display) and read-only caches apps need fast.
        "binds": [[str(x11_dir), "/tmp/.X11-unix", False], *([d, d, True] for d in SHARED_CACHES)],
        "network": network,
        "hostname": HOSTNAME,
        "status_fd": status_fd,
    }


def init_argv(spec: dict[str, object]) -> list[str]:
    """Command line of the init builder (isolated interpreter, no site packages: stdlib only)."""
    return [sys.executable, "-I", "-S", str(NSINIT), json.dumps(spec)]


def enter_argv(init_pid: int, argv: list[str], *, root: bool = False, cwd: str | None = None) -> list[str]:
    """``nsenter`` command line that runs ``argv`` inside the sandbox of ``init_pid``."""
    wd = cwd or ("/root" if root else USER_HOME)
    # The user gets its supplementary groups (sudo, adm, ...) from the sandbox's /etc/group via setpriv,
    # which also drops every capability when it changes to the user's ids.
    drop = [] if root else ["setpriv", f"--reuid={USER_UID}", f"--regid={USER_UID}", "--init-groups", "--"]
    return [
        "nsenter",
        f"--target={init_pid}",
        "--user",
        "--mount",
        "--pid",
        "--net",
        "--ipc",
        "--uts",
        "--cgroup",
        "--root",
        f"--wdns={wd}",
        "--setuid=0",
        "--setgid=0",
        "--",
        *drop,
        *argv,
    ]


#: Programs a machine needs to run sandboxes, with the Debian package of each (``studio doctor`` and the Ray
#: node check both use this list).
SANDBOX_BINARIES = {
    "Xvfb": "xvfb",
    "openbox": "openbox",
    "dbus-daemon": "dbus-x11",
    "nsenter": "util-linux",
    "setpriv": "util-linux",
    "script": "bsdutils",
    "sudo": "sudo",
    "xdotool": "xdotool",
    "xwininfo": "x11-utils",
}


def probe(timeout: float = 20.0) -> str | None:
    """Build (and tear down) a bare sandbox file system and namespaces; None when it works, else why not.

    Used by ``studio doctor``: needs root, user namespaces, idmapped mounts and overlayfs.
    """
    import subprocess
    import tempfile

    from envs.sandbox.spawn import read_line

    if os.geteuid() != 0:
        return "the sandbox needs root on the host (it maps its users to unprivileged host ids)"
    root = cleanup.sandboxes_root()
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".probe-") as tmp:
        (Path(tmp) / "fs").mkdir()
        (Path(tmp) / "x11").mkdir()
        (Path(tmp) / "stage").mkdir()
        r, w = os.pipe()
        spec = init_spec(
            fs=Path(tmp) / "fs",
            slot=MAX_SLOTS - 1,
            stage=Path(tmp) / "stage",
            x11_dir=Path(tmp) / "x11",
            network=False,
            disk_mb=16,
            shm_mb=16,
            status_fd=w,
        )
        proc = subprocess.Popen(init_argv(spec), pass_fds=(w,), stderr=subprocess.PIPE)
        os.close(w)
        try:
            line = read_line(r, timeout)
        finally:
            os.close(r)
            proc.kill()
            _, err = proc.communicate()
        try:
            reply = json.loads(line) if line else {}
        except ValueError:
            reply = {}
        if reply.get("ok"):
            return None
        return str(reply.get("error") or err.decode(errors="replace").strip()[-300:] or "no answer")
