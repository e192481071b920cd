"""Resource limits: a fork bomb, a memory hog or a full disk ends that sandbox's episode, nothing else."""

from __future__ import annotations

import time

import pytest

from envs.sandbox import Sandbox, SandboxLimits
from studio.errors import SandboxLimitError


def _until_limit(sb: Sandbox, timeout: float = 90) -> SandboxLimitError:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sb.check_limits()
        except SandboxLimitError as exc:
            return exc
        time.sleep(0.2)
    raise AssertionError("no limit error within the timeout")


def test_fork_bomb_ends_only_its_sandbox() -> None:
    with (
        Sandbox(name="sec-bystander").start() as bystander,
        Sandbox(name="sec-bomb", limits=SandboxLimits(pids=200)).start() as sb,
    ):
        sb.launch("bomb() { bomb | bomb & }; bomb", shell=True)
        err = _until_limit(sb)
        assert "process limit (200" in str(err)
        with pytest.raises(SandboxLimitError):
            sb.observe()
        with pytest.raises(SandboxLimitError):
            sb.run(["true"])
        assert bystander.run(["echo", "alive"]).stdout == "alive\n"
        bystander.launch_app("galculator")
        assert bystander.observe().a11y_nodes


def test_memory_hog_ends_only_its_sandbox() -> None:
    hog = "a = []\nwhile True:\n    a.append(bytearray(b'x' * (32 << 20)))\n"
    with (
        Sandbox(name="sec-bystander").start() as bystander,
        Sandbox(name="sec-hog", limits=SandboxLimits(memory_mb=256)).start() as sb,
    ):
        sb.launch(["python3", "-c", hog])
        err = _until_limit(sb)
        assert "ran out of memory (limit 256 MiB)" in str(err)
        assert bystander.run(["echo", "alive"]).stdout == "alive\n"
