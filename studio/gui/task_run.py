"""Run it: one workspace task as a rollout job for the Live view (no Qt).

The job is the one the pipeline's rollout stage would make for the task (:func:`studio.pipeline.run.
stage_rollouts`): the task's check config and evaluator when its check was validated (so the run is scored),
else the bare instruction; imported tasks find their files in the workspace; the sandbox size comes from
``studio.toml``. The Live view runs it in a sandbox, shows it live and records it in the workspace.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.pipeline.rollout.episode import RolloutJob
    from studio.workspace import Workspace


def rollout_job(ws: Workspace, task_id: str, policy: str, max_steps: int | None = None) -> RolloutJob:
    """A :class:`RolloutJob` running the workspace task ``task_id`` with the ``policy`` kind.

    Raises:
        WorkspaceError: no such task. ``ConfigError``: unknown policy kind. ``TaskFileError``: the task's stored
            check does not parse (the message names the field).
    """
    from studio.pipeline.agent.factory import policy_spec
    from studio.pipeline.rollout.episode import RolloutJob
    from studio.pipeline.stages.task_check import env_task, scored
    from studio.workspace import Task

    record = ws.get(Task, task_id)
    cfg = ws.config
    checked = scored(record)
    task = env_task(record, ws.path) if checked else env_task(record.model_copy(update={"check": {}}))
    spec = policy_spec(policy, workspace=ws.path if policy != "explorer" else None)
    return RolloutJob(
        trajectory_id=f"live-{uuid.uuid4().hex[:10]}",
        task=task,
        app=record.app,
        policy=spec,
        max_steps=max_steps or cfg.pipeline.max_steps,
        width=cfg.sandbox.width,
        height=cfg.sandbox.height,
        evaluate=checked,
    )
