"""The Env contract: small on purpose (like httpx's BaseTransport).

``observe()`` is optional (a default that raises ``NotImplementedError``).

Implementations: :class:`envs.desktop.DesktopEnv` (real Xvfb + isolated sandbox) and
:class:`envs.replay.ReplayEnv` (recorded frames, for fast tests of everything above the env).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envs.actions import Action
    from envs.observation import Observation
    from envs.task_setup import CommandFailure
    from envs.tasks import Task


class Env(ABC):
    #: The setup commands of the last :meth:`reset` that exited non-zero (kept when reset raised too). The setup
    #: ran on regardless (as in OSWorld); validating a task's check refuses it, rollouts and eval run on.
    setup_failures: Sequence[CommandFailure] = ()

    @abstractmethod
    def reset(self, task: Task) -> Observation:
        """Set up a fresh desktop for ``task`` (its ``config`` steps) and return the first observation."""

    @abstractmethod
    def step(self, action: Action) -> Observation:
        """Execute one typed action, wait until the screen settles, and observe."""

    def observe(self) -> Observation:
        """Observe the current screen without acting.

        Optional (the default raises ``NotImplementedError``): the rollout loop uses it only to re-read the
        screen after an action that raised, so the screen a run ended on is known even then.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot observe without acting")

    @abstractmethod
    def evaluate(self, task: Task) -> float:
        """Score what happened with the task's evaluator (0.0 .. 1.0)."""

    @abstractmethod
    def close(self) -> None:
        """Stop everything this env started. Safe to call twice."""

    def __enter__(self) -> Env:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
