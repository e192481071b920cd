"""Rollouts started from the GUI, and the frame sources the Live view polls (no Qt in here).

:class:`ThreadExecutor` is an :class:`studio.pipeline.rollout.Executor` that runs each job on its own thread in
this process, so the GUI can reach every running env: it polls each sandbox's display for live frames
(:class:`DisplayFrameSource`, its own ``mss`` handle, never the agent's) and, on stop, interrupts the action in
flight (``Sandbox.stop``) besides setting the stop event the episode loop checks between steps.

:func:`explore_task` builds a task that only launches an app (for the explorer policy);
:func:`default_policy_factory` builds explorer or model policies from a job's ``policy`` dict.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from studio.pipeline.rollout.episode import EpisodeResult, Event, Executor, RolloutJob, error_result, run_episode


class FrameLike(Protocol):
    width: int
    height: int
    bgra: bytes


class FrameSource(Protocol):
    """Anything that returns the current screen of one sandbox (``None`` while it is not up yet)."""

    def grab(self) -> FrameLike | None: ...

    def close(self) -> None: ...


class DisplayFrameSource:
    """Grabs an X display with its own ``mss`` handle (created in the polling thread on first grab)."""

    def __init__(self, display: str) -> None:
        self.display = display
        self._mss: Any = None

    def grab(self) -> FrameLike | None:
        import mss

        from envs.frame import Frame

        if self._mss is None:
            factory = getattr(mss, "MSS", None) or mss.mss
            self._mss = factory(display=self.display)
        mon = self._mss.monitors[1] if len(self._mss.monitors) > 1 else self._mss.monitors[0]
        shot = self._mss.grab(mon)
        return Frame(shot.width, shot.height, bytes(shot.raw))

    def close(self) -> None:
        if self._mss is not None:
            with contextlib.suppress(Exception):
                self._mss.close()
            self._mss = None


class EnvFrameSource:
    """Frames of a :class:`envs.desktop.DesktopEnv`'s current sandbox (it changes at every reset)."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self._src: DisplayFrameSource | None = None

    def grab(self) -> FrameLike | None:
        sb = getattr(self.env, "_sb", None)
        display = getattr(sb, "display", "") if sb is not None and getattr(sb, "_started", False) else ""
        if not display or getattr(sb, "_closed", False):
            return None
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
        if self._src is not None:
            self._src.close()


class ThreadExecutor(Executor):
    """One thread per job, all in this process; envs stay reachable for frames and stop.

    Args:
        env_factory: ``(job) -> Env``.
        policy_factory: ``(job.policy) -> Policy``.
        source_factory: ``(env) -> FrameSource`` for live frames (default: the env's sandbox display).
    """

    def __init__(
        self,
        env_factory: Callable[[RolloutJob], Any],
        policy_factory: Callable[[dict[str, Any]], Any],
        source_factory: Callable[[Any], FrameSource] | None = None,
    ) -> None:
        self._env_factory = env_factory
        self._policy_factory = policy_factory
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
            sb = getattr(env, "_sb", None)
            if sb is not None and hasattr(sb, "stop"):
                with contextlib.suppress(Exception):
                    sb.stop()

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
                policy = self._policy_factory(job.policy)
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


def desktop_env_factory(job: RolloutJob) -> Any:
    from envs.desktop import DesktopEnv

    return DesktopEnv(width=job.width, height=job.height)


def default_policy_factory(spec: dict[str, Any]) -> Any:
    """``{"kind": "explorer", "seed": 1}`` or ``{"kind": "model", "workspace": path}`` -> a Policy."""
    from studio.pipeline.agent.policies import ExplorerPolicy, ModelPolicy

    kind = spec.get("kind", "explorer")
    if kind == "explorer":
        return ExplorerPolicy(seed=int(spec.get("seed", 0)))
    if kind == "model":
        from studio.config import default_config, load_config
        from studio.llm import ModelClient

        ws = Path(spec["workspace"]) if spec.get("workspace") else None
        cfg = load_config(ws / "studio.toml") if ws and (ws / "studio.toml").exists() else default_config()
        client = ModelClient.for_workspace(ws) if ws else ModelClient()
        role = cfg.roles.actor

        def complete(messages: list[dict]) -> tuple[str, dict[str, Any]]:
            res = client.complete("actor", role, messages, stage="rollout")
            return res.text, {
                "prompt_tokens": res.prompt_tokens,
                "completion_tokens": res.completion_tokens,
                "cost": res.cost,
                "model": res.model,
            }

        return ModelPolicy(complete, vision=bool(role.vision))
    from studio.errors import ConfigError

    raise ConfigError(f"unknown policy kind {kind!r}; use 'explorer' or 'model'")


def bundled_tasks() -> list[Any]:
    """The bundled task suite (empty when it cannot be read)."""
    try:
        from envs.tasks import load_tasks

        return list(load_tasks())
    except Exception:  # noqa: BLE001 - the Live view still offers "explore <app>"
        return []
