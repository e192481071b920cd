"""The sandbox's file system: an allowlist of read-only system folders, a private writable layer, nothing else."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from _support import ROOT, sudo

from envs.sandbox import Sandbox
from envs.task_setup import SetupContext, run_setup
from envs.tasks import parse_task
from studio.errors import SetupStepError, TaskError

BASE = {
    "id": "t",
    "instruction": "x",
    "evaluator": {"func": "exact_match", "result": {"type": "rule", "rules": 1}},
}


def test_host_folders_and_canaries_are_not_visible(sb: Sandbox, canaries: dict[str, Path]) -> None:
    for path in canaries.values():
        for how in (sb.run(["cat", str(path)]), sudo(sb, f"cat {path}")):
            assert how.returncode != 0 and "secret" not in how.stdout
    found = sudo(sb, "find / -xdev -name 'studio-canary-*' 2>/dev/null; find /home /srv /mnt /opt /root /tmp")
    assert "studio-canary" not in found.stdout
    listing = sb.run("ls -A /srv /mnt /opt /media /home; echo; test -e " + str(ROOT) + " && echo CHECKOUT", shell=True)
    assert listing.stdout.split() == ["/home:", "user", "/media:", "/mnt:", "/opt:", "/srv:"]
    # Only what any host user could read of /etc is there (no shadow of the host, no keys).
    assert sb.read_file("/etc/shadow") is None  # the sandbox's own, root-only
    shadow = sudo(sb, "cat /etc/shadow").stdout
    assert "user:$6$" in shadow and Path("/etc/shadow").read_text() != shadow


def test_writes_as_root_stay_inside_and_vanish(canaries: dict[str, Path]) -> None:
    tag = secrets.token_hex(4)
    targets = [
        f"/srv/w-{tag}",
        f"/mnt/w-{tag}",
        f"/opt/w-{tag}",
        f"/root/w-{tag}",
        f"/tmp/w-{tag}",
        f"/etc/w-{tag}",
        f"/usr/w-{tag}",
        f"/w-{tag}",
        f"{ROOT}/w-{tag}",
    ]
    with Sandbox(name="sec-w").start() as sb:
        script = " && ".join(f"mkdir -p $(dirname {t}) && echo x > {t}" for t in targets)
        r = sudo(sb, script + " && echo 127.0.0.9 evil >> /etc/hosts && rm -f /etc/passwd.bak && echo ok")
        assert r.returncode == 0 and "ok" in r.stdout, r.stderr
        assert sudo(sb, f"cat /usr/w-{tag} /w-{tag}").stdout == "x\nx\n"
        runtime = sb.runtime_dir
    for t in targets:
        assert not Path(t).exists(), t
    assert "evil" not in Path("/etc/hosts").read_text()
    assert not runtime.exists()
    with Sandbox(name="sec-w2").start() as sb2:  # a fresh sandbox starts clean (OSWorld's snapshot revert)
        assert sb2.run(["test", "-e", f"/w-{tag}"]).returncode != 0
        assert "evil" not in sb2.run(["cat", "/etc/hosts"]).stdout


def test_root_inside_cannot_unmount_or_remount_its_way_out(sb: Sandbox) -> None:
    before = sb.run(["ls", "-A", "/"]).stdout
    sudo(sb, "umount -l /usr; umount -l /tmp/.X11-unix; umount -l /etc; umount -l /; true")
    assert sb.run(["ls", "-A", "/"]).stdout == before
    assert sb.run(["ls", "/usr/bin/env"]).returncode == 0  # the locked mounts are all still there
    assert sb.run(["test", "-e", str(ROOT)]).returncode != 0
    out = sudo(sb, "mount -t proc proc /mnt 2>&1 || echo refused; mount -o remount,rw /usr/bin 2>&1; echo done")
    assert "refused" in out.stdout
    assert sudo(sb, "ls /mnt").stdout == ""


@pytest.mark.parametrize(
    "dest",
    [
        "/root/trav-{tag}",
        "~/../../../../tmp/trav-{tag}",
        "../../../tmp/trav-{tag}",
        "/tmp/trav-{tag}",
        "/srv/trav-{tag}",
        f"{ROOT}/trav-{{tag}}",
    ],
)
def test_download_paths_resolve_inside(sb: Sandbox, tmp_path: Path, dest: str) -> None:
    tag = secrets.token_hex(4)
    dest = dest.format(tag=tag)
    (tmp_path / "src.txt").write_text("payload")
    steps = parse_task(
        {**BASE, "config": [{"type": "download", "parameters": {"files": [{"url": "src.txt", "path": dest}]}}]}
    ).config
    try:
        run_setup(sb, steps, SetupContext(base_dir=tmp_path))
    except SetupStepError as exc:  # /root, /srv are not writable for the sandbox's user
        assert "as user" in str(exc)
    host = Path(dest.replace("~", "/home/user")) if dest.startswith("/") else Path("/tmp") / f"trav-{tag}"
    assert not host.exists()
    assert not Path(f"/tmp/trav-{tag}").exists() and not Path(f"/root/trav-{tag}").exists()


def test_download_cannot_copy_host_files_in(sb: Sandbox, tmp_path: Path) -> None:
    for url in ("/etc/shadow", "file:///root/.bashrc", "../../../../etc/hostname", f"{ROOT}/pyproject.toml"):
        steps = parse_task(
            {**BASE, "config": [{"type": "download", "parameters": {"files": [{"url": url, "path": "~/leak"}]}}]}
        ).config
        with pytest.raises(SetupStepError) as err:
            run_setup(sb, steps, SetupContext(base_dir=tmp_path, assets_dir=tmp_path / "assets"))
        assert isinstance(err.value.__cause__, TaskError)
        assert sb.read_file("~/leak") is None


def test_getters_follow_planted_symlinks_inside_only(sb: Sandbox, canaries: dict[str, Path]) -> None:
    from envs.getters import get_value

    ctx = SetupContext()
    links = {f"~/l-{k}": str(p) for k, p in canaries.items()}
    links["~/l-shadow"] = "/etc/shadow"
    links["~/l-proc-root"] = "/proc/1/root/etc/shadow"
    script = " && ".join(f"ln -sf {target} {link}" for link, target in links.items())
    assert sb.run(script, shell=True).returncode == 0
    for link in links:
        assert get_value(sb, {"type": "vm_file", "path": link, "content": True}, ctx) is None
        assert get_value(sb, {"type": "vm_file", "path": link}, ctx) is None
    got = get_value(sb, {"type": "vm_command_line", "command": "cat ~/l-root ~/l-checkout; true"}, ctx)
    assert "secret" not in got


def test_disk_fill_is_contained_and_reported() -> None:
    from envs.sandbox import SandboxLimits
    from studio.errors import SandboxLimitError

    with Sandbox(name="sec-disk", limits=SandboxLimits(disk_mb=64)).start() as sb:
        r = sb.run("dd if=/dev/zero of=~/big bs=1M count=200 2>&1; echo rc=$?", shell=True, timeout=120)
        assert "No space left on device" in r.stdout
        with pytest.raises(SandboxLimitError, match="disk is full"):
            sb.write_file("~/more.bin", b"x" * (2 << 20))
        sb.run(["rm", "-f", "/home/user/big"])
        sb.write_file("~/ok.txt", b"fine")  # freeing space inside fixes it
        assert sb.read_file("~/ok.txt") == b"fine"
        sb.observe(a11y=False)  # a full disk alone does not end the episode
