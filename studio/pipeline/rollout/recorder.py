"""The one event writer: rollout events -> workspace rows, used by the CLI pipeline and the GUI alike.

:class:`Recorder` is an ``on_event`` callback for any :class:`studio.pipeline.rollout.episode.Executor`:

* ``EpisodeStart`` -> a ``running`` :class:`studio.records.Trajectory` (with the model, sandbox and task the
  caller knew when it made the job: :class:`TrajectoryMeta`);
* ``StepEvent`` -> one :class:`studio.records.Step` row and its screenshot blob, one commit per step (readers,
  like the GUI, see each step as it lands; a kill loses at most the step in flight);
* ``EpisodeResult`` -> the trajectory finished: its lifecycle status from the episode's outcome
  (:func:`trajectory_status`), score, error and the screen after the last action. An episode whose env never
  started has no ``EpisodeStart``: its trajectory row is created first, so the attempt is recorded and no
  update ever targets a row that does not exist.

Trajectory status vs outcome: ``outcome`` is how the episode ended (``EpisodeResult.status``); ``status`` is the
lifecycle: ``done`` for every episode that ran to an end of its own (DONE, FAIL, the step limit, a loop),
``failed`` when the env or the agent broke (``error``), ``interrupted`` when it was stopped. Workspaces written
before schema 3 stored fail / max_steps / loop as ``failed``; :mod:`studio.workspace.migrate` rewrites them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studio.pipeline.rollout.episode import EpisodeResult, EpisodeStart, StepEvent
from studio.records import Trajectory, TrajectoryStatus

if TYPE_CHECKING:
    from studio.workspace import Workspace

#: ``EpisodeResult.status`` (the outcome) -> ``Trajectory.status`` (the lifecycle).
OUTCOME_STATUS: Mapping[str, TrajectoryStatus] = {
    "done": "done",
    "fail": "done",
    "max_steps": "done",
    "loop": "done",
    "stopped": "interrupted",
    "error": "failed",
}


def trajectory_status(outcome: str) -> TrajectoryStatus:
    """The lifecycle status of a trajectory whose episode ended with ``outcome`` (unknown outcomes: failed)."""
    return OUTCOME_STATUS.get(outcome, "failed")


@dataclass(frozen=True)
class TrajectoryMeta:
    """What the caller knows about a trajectory before it runs (the episode's events do not carry it)."""

    task_id: str = ""
    instruction: str = ""
    app: str = ""
    policy: str = ""
    model: str = ""
    sandbox: Mapping[str, Any] = field(default_factory=dict)  # {"w":..., "h":..., "apps": [...]}


class Recorder:
    """Writes rollout events to a workspace opened for writing (one commit per step).

    Not thread-safe: executors call ``on_event`` from one thread at a time (the GUI's executor holds a lock).

    Args:
        ws: The workspace, open for writing.
        meta: Trajectory id -> what the caller knows about it (model, sandbox, task...). Missing ids are
            recorded with what the events carry.

    Attributes:
        steps: Steps written. ``tokens`` / ``cost``: the model usage those steps reported.
    """

    def __init__(self, ws: Workspace, meta: Mapping[str, TrajectoryMeta] | None = None) -> None:
        self.ws = ws
        self.meta: dict[str, TrajectoryMeta] = dict(meta or {})
        self.steps = 0
        self.tokens = 0
        self.cost = 0.0
        self._started: set[str] = set()

    def __call__(self, event: Any) -> None:
        """Record one event (other objects are ignored)."""
        if isinstance(event, EpisodeStart):
            m = self.meta.get(event.trajectory_id, TrajectoryMeta())
            self._start(
                event.trajectory_id,
                task_id=event.task_id or m.task_id,
                instruction=event.instruction or m.instruction,
                app=m.app or event.app,
                policy=event.policy or m.policy,
            )
        elif isinstance(event, StepEvent):
            usage = event.step.usage
            self.tokens += int(usage.get("prompt_tokens", 0) or 0) + int(usage.get("completion_tokens", 0) or 0)
            self.cost += float(usage.get("cost", 0.0) or 0.0)
            self.ws.add_step(event.step, screenshot=event.screenshot_png or None)
            self.steps += 1
        elif isinstance(event, EpisodeResult):
            if event.trajectory_id not in self._started and not self._stored(event.trajectory_id):
                self._start(event.trajectory_id)  # the env failed before its first observation
            self.ws.finish_trajectory(
                event.trajectory_id,
                status=trajectory_status(event.status),
                outcome=event.status,
                score=event.score,
                error=event.error,
                final_observation=event.final_observation,
                final_screenshot=event.final_screenshot_png or None,
            )

    def _start(self, trajectory_id: str, **known: str) -> None:
        m = self.meta.get(trajectory_id, TrajectoryMeta())
        values: dict[str, Any] = {
            "task_id": m.task_id,
            "instruction": m.instruction,
            "app": m.app,
            "policy": m.policy,
        }
        values.update({k: v for k, v in known.items() if v})
        self.ws.start_trajectory(Trajectory(id=trajectory_id, model=m.model, sandbox=dict(m.sandbox), **values))
        self._started.add(trajectory_id)

    def _stored(self, trajectory_id: str) -> bool:
        return self.ws.count(Trajectory, id=trajectory_id) > 0
