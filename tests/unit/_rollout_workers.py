"""Picklable factories for executor tests (spawned workers import this module via PYTHONPATH)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from envs.actions import Action
from envs.base import Env
from envs.observation import Observation
from studio.pipeline.agent.policies import ScriptedPolicy


class SlowEnv(Env):
    def __init__(self, pid_dir: str) -> None:
        Path(pid_dir, f"{os.getpid()}.pid").write_text("worker")

    def reset(self, task: Any) -> Observation:
        return Observation(b"x", 10, 10)

    def step(self, action: Action) -> Observation:
        time.sleep(0.5)
        return Observation(str(time.time()).encode(), 10, 10)

    def evaluate(self, task: Any) -> float:
        return 0.0

    def close(self) -> None:
        pass


def make_env(job: Any) -> Env:
    return SlowEnv(job.task["pid_dir"])


def make_policy(spec: dict[str, Any]) -> Any:
    return ScriptedPolicy(spec["lines"])
