"""Rollouts started from the GUI, and the frame sources the Live view polls (no Qt in here).

:class:`ThreadExecutor` is an :class:`studio.pipeline.rollout.Executor` that runs each job on its own thread in
this process, so the GUI can reach every running env: it polls each sandbox's display for live frames
(:class:`DisplayFrameSource`, its own ``mss`` handle, never the agent's) and, on stop, interrupts the action in
flight (``Sandbox.stop``) besides setting the stop event the episode loop checks between steps.

:func:`explore_task` builds a task that only launches an app (for the explorer policy). Policies and envs come
from the one factory, :mod:`studio.pipeline.agent.factory`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from studio.pipeline.agent.factory import make_env, make_policy
from studio.pipeline.rollout.episode import EpisodeResult, Event, Executor, RolloutJob, error_result, run_episode

if TYPE_CHECKING:
    from studio.pipeline.rollout.recorder import TrajectoryMeta


class FrameLike(Protocol):
    """A screenshot: ``width`` x ``height`` BGRA pixels (``envs.frame.Frame`` satisfies it)."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def bgra(self) -> bytes: ...


class FrameSource(Protocol):
    """Anything that returns the current screen of one sandbox (``None`` while it is not up yet)."""

    def grab(self) -> FrameLike | None: ...

    def close(self) -> None: ...


class DisplayFrameSource:
    """Grabs an X display with its own ``mss`` handle (created in the polling thread on first grab).

    ``grab`` and ``close`` hold one lock, so a close from another thread waits for a grab in flight instead
    of freeing the handle under it; after ``close`` every grab returns None.
    """

    def __init__(self, display: str) -> None:
        self.display = display
        self._mss: Any = None
        self._lock = threading.Lock()
        self._closed = False

    def grab(self) -> FrameLike | None:
        import mss

        from envs.frame import Frame

        with self._lock:
            if self._closed:
                return None
            if self._mss is None:
                factory = getattr(mss, "MSS", None) or mss.mss
                self._mss = factory(display=self.display)
            mon = self._mss.monitors[1] if len(self._mss.monitors) > 1 else self._mss.monitors[0]
            shot = self._mss.grab(mon)
            return Frame(shot.width, shot.height, bytes(shot.raw))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._mss is not None:
                with contextlib.suppress(Exception):
                    self._mss.close()
                self._mss = None


class EnvFrameSource:
    """Frames of a :class:`envs.desktop.DesktopEnv`'s current sandbox (its ``display``, new at every reset)."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self._src: DisplayFrameSource | None = None
        self._lock = threading.Lock()  # grab (poll thread) vs close (the job's thread)

    def grab(self) -> FrameLike | None:
        display = str(getattr(self.env, "display", "") or "")
        if not display:
            return None
        with self._lock:
            if self._src is None or self._src.display != display:
                if self._src is not None:
                    self._src.close()
                self._src = DisplayFrameSource(display)
            try:
                return self._src.grab()
            except Exception:  # noqa: BLE001 - the sandbox went away between the check and the grab
                self._src.close()
                self._src = None
                return None

    def close(self) -> None:
        with self._lock:
            if self._src is not None:
                self._src.close()
                self._src = None


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
            threading.Thread(target=one, args=(job,), name=f"rollout-{job.trajectory_id}", daemon=True)
            for job in jobs
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
