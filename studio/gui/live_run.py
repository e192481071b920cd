"""Rollouts started from the GUI (no Qt in here).

:class:`ThreadExecutor` is an :class:`studio.pipeline.rollout.Executor` that runs each job on its own thread in
this process, so the GUI can reach every running env: it offers each sandbox's display as a live frame source
(:class:`studio.gui.live_frames.EnvFrameSource`, its own ``mss`` handle, never the agent's) and, on stop,
interrupts the action in flight (``Sandbox.stop``) besides setting the stop event the episode loop checks
between steps.

:func:`explore_task` builds a task that only launches an app (for the explorer policy). Policies and envs come
from the one factory, :mod:`studio.pipeline.agent.factory`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.gui.live_frames import EnvFrameSource, FrameSource
from studio.pipeline.agent.factory import make_env, make_policy
from studio.pipeline.rollout.episode import EpisodeResult, Event, Executor, RolloutJob, error_result, run_episode

if TYPE_CHECKING:
    from studio.pipeline.rollout.recorder import TrajectoryMeta


class ThreadExecutor(Executor):
    """One thread per job, all in this process; envs stay reachable for frames and stop.

    Args:
        env_factory: ``(job) -> Env`` (default: :func:`studio.pipeline.agent.factory.make_env`).
        policy_factory: ``(job.policy) -> Policy`` (default: :func:`studio.pipeline.agent.factory.make_policy`);
            public, so the Live view can wrap it (pause).
        source_factory: ``(env) -> FrameSource`` for live frames (default: the env's sandbox display).
    """

    def __init__(
        self,
        env_factory: Callable[[RolloutJob], Any] = make_env,
        policy_factory: Callable[[dict[str, Any]], Any] = make_policy,
        source_factory: Callable[[Any], FrameSource] | None = None,
    ) -> None:
        self._env_factory = env_factory
        self.policy_factory = policy_factory
        self._source_factory = source_factory or EnvFrameSource
        self._lock = threading.Lock()
        self.envs: dict[str, Any] = {}
        self.sources: dict[str, FrameSource] = {}
        self._stop: threading.Event | None = None

    def frame_sources(self) -> dict[str, FrameSource]:
        with self._lock:
            return dict(self.sources)

    def request_stop(self) -> None:
        """Set the stop event and interrupt every action in flight."""
        if self._stop is not None:
            self._stop.set()
        with self._lock:
            envs = list(self.envs.values())
        for env in envs:
            if hasattr(env, "interrupt"):
                with contextlib.suppress(Exception):
                    env.interrupt()

    def run(
        self, jobs: list[RolloutJob], on_event: Callable[[Event], None], stop: threading.Event | None = None
    ) -> list[EpisodeResult]:
        self._stop = stop or threading.Event()
        results: dict[str, EpisodeResult] = {}
        emit_lock = threading.Lock()

        def emit(event: Event) -> None:
            with emit_lock:  # on_event may write the workspace: one writer at a time
                on_event(event)

        def one(job: RolloutJob) -> None:
            try:
                env = self._env_factory(job)
            except Exception as exc:  # noqa: BLE001 - recorded as the episode's error
                res = error_result(job, exc)
                emit(res)
                results[job.trajectory_id] = res
                return
            with self._lock:
                self.envs[job.trajectory_id] = env
                self.sources[job.trajectory_id] = self._source_factory(env)
            try:
                policy = self.policy_factory(job.policy)
                results[job.trajectory_id] = run_episode(
                    env,
                    job.task,
                    policy,
                    trajectory_id=job.trajectory_id,
                    max_steps=job.max_steps,
                    emit=emit,
                    stop=self._stop,
                    evaluate=job.evaluate,
                    app=job.app,
                )
            except Exception as exc:  # noqa: BLE001 - policy construction failed
                res = error_result(job, exc)
                emit(res)
                results[job.trajectory_id] = res
            finally:
                with self._lock:
                    src = self.sources.pop(job.trajectory_id, None)
                    self.envs.pop(job.trajectory_id, None)
                if src is not None:
                    src.close()
                with contextlib.suppress(Exception):
                    env.close()

        threads = [
            threading.Thread(target=one, args=(job,), name=f"rollout-{job.trajectory_id}", daemon=True) for job in jobs
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [results[j.trajectory_id] for j in jobs if j.trajectory_id in results]


def cluster_executor(workspace: Path | None, sandboxes: int = 1) -> Executor | None:
    """A :class:`RayExecutor` when the workspace's ``[executor] kind`` is ``ray`` (else None: run locally).

    Its sandboxes are Ray actors on the cluster's nodes; their frames come from the actors
    (``RayExecutor.frame_sources``), and stop and pause reach every node.
    """
    if workspace is None or not (workspace / "studio.toml").exists():
        return None
    from studio.config import load_config

    config = load_config(workspace / "studio.toml").executor
    if config.kind != "ray":
        return None
    from studio.pipeline.rollout.executors import make_executor

    return make_executor(make_env, make_policy, parallel=sandboxes, config=config)


def explore_task(app: str) -> Any:
    """A task that launches ``app`` and asks to explore it (no evaluator run)."""
    from envs.tasks import parse_task

    return parse_task(
        {
            "id": f"explore-{app}",
            "instruction": f"Explore {app}: try its main features.",
            "config": [{"type": "launch_app", "parameters": {"name": app}}],
            "related_apps": [app],
            "evaluator": {"func": "infeasible"},
        },
        source=f"explore {app}",
    )


def job_meta(job: RolloutJob, workspace: Any = None) -> TrajectoryMeta:
    """What the recorder stores about a GUI-started job: task, app, policy, the actor model, the sandbox size."""
    from studio.pipeline.agent.factory import workspace_config
    from studio.pipeline.rollout.recorder import TrajectoryMeta

    kind = str(job.policy.get("kind", ""))
    model = ""
    if kind in ("model", "model+explorer"):
        model = workspace_config(job.policy.get("workspace") or workspace).roles.actor.model
    return TrajectoryMeta(
        task_id=str(getattr(job.task, "id", "")),
        instruction=str(getattr(job.task, "instruction", "")),
        app=job.app,
        policy=kind,
        model=model,
        sandbox={"w": job.width, "h": job.height, "apps": [job.app] if job.app else []},
    )


def bundled_tasks() -> list[Any]:
    """The bundled task suite (empty when it cannot be read)."""
    try:
        from envs.tasks import load_tasks

        return list(load_tasks())
    except Exception:  # noqa: BLE001 - the Live view still offers "explore <app>"
        return []
