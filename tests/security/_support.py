"""Escape attempts against real sandboxes. Every test asserts that the host is untouched.

The model driving a sandbox is hostile and task files come from strangers (see the README's "Sandbox
boundary"). These tests act as both: as the sandbox's user and its root (sudo), through the window manager,
and through task files.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from envs.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None or os.geteuid() != 0:  # pragma: no cover
    pytest.skip("needs Xvfb, util-linux nsenter and root (run `make test`)", allow_module_level=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/security/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.security)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(name="sec").start() as s:
        yield s


@pytest.fixture()
def canaries() -> Iterator[dict[str, Path]]:
    """One secret file in each host folder that must stay out of reach; removed afterwards."""
    tag = secrets.token_hex(4)
    where = {
        "srv": Path("/srv"),
        "mnt": Path("/mnt"),
        "opt": Path("/opt"),
        "root": Path("/root"),
        "checkout": ROOT,
        "host_tmp": Path("/tmp"),
        "home": Path("/home"),
    }
    files: dict[str, Path] = {}
    for key, d in where.items():
        if d.is_dir():
            p = d / f"studio-canary-{tag}-{key}"
            p.write_text(f"secret {tag} {key}\n")
            files[key] = p
    yield files
    for p in files.values():
        p.unlink(missing_ok=True)


def wait_for(cond: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> object:
    """Poll ``cond`` until it returns something truthy (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def sudo(sb: Sandbox, cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` through the sandbox's real sudo, as an agent would (password on stdin)."""
    return sb.run(f"echo password | sudo -S -p '' sh -c {_q(cmd)}", shell=True, timeout=timeout)


def _q(s: str) -> str:
    import shlex

    return shlex.quote(s)


def host_ns(pid: int | str, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")
