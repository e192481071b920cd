"""Rollouts: the agent loop (observe -> policy -> act -> settle -> record) and the executors that run many.

Every step is emitted as a :class:`StepEvent` the moment it happens; the caller (CLI, GUI, tests) writes it to
the workspace and updates its display. Episodes end on DONE/FAIL, the step limit, a loop (the same action on an
unchanged screen three times, judged by the a11y table when there is one: :mod:`studio.pipeline.rollout.loop`), a
stop request, or an environment error (recorded, never raised past the loop).
A step holds the observation *before* its action; the screen after the last action is on the
:class:`EpisodeResult` (``final_observation``, ``final_screenshot_png``), read before the evaluator runs.

Executors run episodes over K sandboxes behind one small interface,
``Executor.run(jobs, on_event, stop) -> list[EpisodeResult]``: :class:`InlineExecutor` (one after another),
:class:`LocalProcessExecutor` (K worker processes) and, on a Ray cluster,
:class:`studio.pipeline.rollout.ray_executor.RayExecutor`. An executor that retries an episode (its worker died)
emits a new :class:`EpisodeStart` with ``attempt`` > 0 for the same trajectory id; whoever records events
starts that trajectory over (``Workspace.start_trajectory`` does), so an episode is recorded once.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envs.actions import action_to_dict
from envs.base import Env
from envs.changes import Change, render_changes, screen_changes
from envs.observation import Observation
from studio.pipeline.agent.policies import Decision, HistoryItem, Policy, StepContext, is_terminal
from studio.pipeline.rollout.loop import LoopDetector
from studio.records import Step


@dataclass(frozen=True)
class StepEvent:
    """One finished step, streamed to whoever watches: the step record (stored as is by
    :class:`studio.pipeline.rollout.recorder.Recorder`) and its screenshot, not yet stored as a blob."""

    step: Step
    screenshot_png: bytes = b""

    @property
    def trajectory_id(self) -> str:
        """The trajectory of the step (every event has one)."""
        return self.step.trajectory_id


@dataclass
class EpisodeStart:
    trajectory_id: str
    task_id: str
    instruction: str
    app: str
    policy: str
    screenshot_png: bytes = b""
    #: 0 for the first run of an episode; n for its n-th retry (an earlier attempt's worker died).
    attempt: int = 0


@dataclass
class EpisodeResult:
    trajectory_id: str
    task_id: str
    status: str  # done | fail | max_steps | loop | stopped | error
    n_steps: int
    score: float | None = None
    error: str = ""
    elapsed_s: float = 0.0
    #: The screen after the last executed action (the screen the run ended on): a11y table and PNG screenshot.
    #: None / b"" when it is unknown: the env never started, or it could not be observed after a failed action
    #: (or a stop request interrupted that action: a stop is not delayed to re-read the screen).
    final_observation: str | None = None
    final_screenshot_png: bytes = b""


Event = StepEvent | EpisodeStart | EpisodeResult


def run_episode(
    env: Env,
    task: Any,
    policy: Policy,
    *,
    trajectory_id: str,
    max_steps: int,
    emit: Callable[[Event], None],
    stop: threading.Event | Any | None = None,
    evaluate: bool = False,
    app: str = "",
) -> EpisodeResult:
    """Run one task to its end; emit every step. Never raises for env or model trouble: it is recorded."""
    t0 = time.perf_counter()
    task_id = str(getattr(task, "id", ""))
    instruction = str(getattr(task, "instruction", ""))
    n = 0
    status = "max_steps"
    error = ""
    score: float | None = None
    obs: Observation | None = None
    final: Observation | None = None  # the screen after the last executed action, once known
    stale = False  # the last action raised: ``obs`` may not show what it did
    try:
        obs = env.reset(task)
        final = obs
        emit(EpisodeStart(trajectory_id, task_id, instruction, app, policy.name, obs.screenshot_png))
        history: list[HistoryItem] = []
        feedback = ""
        loop = LoopDetector()
        for n in range(max_steps):
            if stop is not None and stop.is_set():
                status = "stopped"
                break
            ctx = StepContext(instruction, obs, history, n, feedback)
            try:
                decision = policy.decide(ctx)
            except Exception as exc:  # a model/provider failure ends this episode, recorded
                decision = Decision([], error=f"policy failed: {exc}")
                status, error = "error", decision.error
            seen = obs  # the step records what the policy saw (pre-action), as in OSWorld and the paper
            step_error = decision.error
            timings: dict[str, float] = {}
            changes: list[Change] = []
            if decision.actions and not is_terminal(decision.actions):
                t_act = time.perf_counter()
                try:
                    for action in decision.actions:
                        obs = env.step(action)
                    stale = False
                except Exception as exc:  # ActionError, ActionInterrupted, SandboxError
                    step_error = f"{type(exc).__name__}: {exc}"
                    stale = True
                final = obs
                changes = screen_changes(seen.a11y_table, obs.a11y_table, seen.windows or None, obs.windows or None)
                timings = dict(obs.timings)
                timings["step_total"] = time.perf_counter() - t_act
            emit(
                StepEvent(
                    Step(
                        trajectory_id=trajectory_id,
                        index=n,
                        reason=decision.reason,
                        action_code=decision.action_code,
                        actions=[action_to_dict(a) for a in decision.actions],
                        error=step_error,
                        observation_text=seen.a11y_table,
                        width=seen.width,
                        height=seen.height,
                        timings=timings,
                        usage=decision.usage,
                        raw=decision.raw,
                        changes=[c.to_dict() for c in changes],
                    ),
                    seen.screenshot_png,
                )
            )
            shown = render_changes(changes) if decision.actions and not is_terminal(decision.actions) else ""
            history.append(HistoryItem(decision.reason, decision.action_code, step_error, shown))
            feedback = step_error or decision.feedback
            if status == "error":
                n += 1
                break
            terminal = is_terminal(decision.actions)
            if terminal:
                status = terminal
                n += 1
                try:  # the env records DONE/FAIL (an "infeasible" task scores from the last action)
                    for action in decision.actions:
                        if action.kind in ("done", "fail"):
                            env.step(action)
                            break
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                break
            if loop.update(decision.action_code, decision.actions, seen, obs):
                status = "loop"
                n += 1
                break
        else:
            n = max_steps
        if stale and not (stop is not None and stop.is_set()):  # a stop is not delayed by a settle + a11y read
            final, stale = _observe(env), False  # before the evaluator: it may change the desktop
        if evaluate and status != "error":
            score = float(env.evaluate(task))
    except Exception as exc:
        status, error = "error", f"{type(exc).__name__}: {exc}"
    if stale:
        final = None
    result = EpisodeResult(
        trajectory_id,
        task_id,
        status,
        n,
        score,
        error,
        time.perf_counter() - t0,
        final.a11y_table if final is not None else None,
        final.screenshot_png if final is not None else b"",
    )
    emit(result)
    return result


def _observe(env: Env) -> Observation | None:
    """The current screen, or None when the env cannot show it (no ``observe``, or it is broken)."""
    try:
        return env.observe()
    except Exception:  # NotImplementedError, SandboxError: the final screen stays unknown
        return None


@dataclass
class RolloutJob:
    """Everything a worker needs to run one episode; must be picklable."""

    trajectory_id: str
    task: Any
    app: str
    policy: dict[str, Any]  # {"kind": "explorer", "seed": 3} | {"kind": "model", ...} | {"kind": "scripted", ...}
    max_steps: int
    width: int = 1280
    height: int = 800
    evaluate: bool = False


PolicyFactory = Callable[[dict[str, Any]], Policy]
EnvFactory = Callable[[RolloutJob], Env]


class Executor(ABC):
    """Runs rollout jobs and streams their events to ``on_event`` in the calling thread."""

    @abstractmethod
    def run(
        self, jobs: list[RolloutJob], on_event: Callable[[Event], None], stop: threading.Event | None = None
    ) -> list[EpisodeResult]: ...


def error_result(job: RolloutJob, exc: BaseException) -> EpisodeResult:
    """The result of a job that could not run (env or policy could not be built): recorded, never raised."""
    return EpisodeResult(
        job.trajectory_id, str(getattr(job.task, "id", "")), "error", 0, error=f"{type(exc).__name__}: {exc}"
    )


def run_job(
    job: RolloutJob, env_factory: EnvFactory, policy_factory: PolicyFactory, emit: Callable[[Event], None], stop: Any
) -> EpisodeResult:
    """Build the job's env and policy, run its episode, close the env. Never raises for env/policy trouble."""
    try:
        env = env_factory(job)
    except Exception as exc:
        result = error_result(job, exc)
        emit(result)
        return result
    try:
        try:
            policy = policy_factory(job.policy)
        except Exception as exc:
            result = error_result(job, exc)
            emit(result)
            return result
        return run_episode(
            env,
            job.task,
            policy,
            trajectory_id=job.trajectory_id,
            max_steps=job.max_steps,
            emit=emit,
            stop=stop,
            evaluate=job.evaluate,
            app=job.app,
        )
    finally:
        env.close()


class InlineExecutor(Executor):
    """One job after another in this process (K = 1; tests and debugging)."""

    def __init__(self, env_factory: EnvFactory, policy_factory: PolicyFactory) -> None:
        self._env_factory = env_factory
        self._policy_factory = policy_factory

    def run(
        self, jobs: list[RolloutJob], on_event: Callable[[Event], None], stop: threading.Event | None = None
    ) -> list[EpisodeResult]:
        results = []
        for job in jobs:
            if stop is not None and stop.is_set():
                break
            results.append(run_job(job, self._env_factory, self._policy_factory, on_event, stop))
        return results


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies (a killed `studio run` leaves no worker)."""
    import ctypes
    import os
    import signal

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() == 1:  # the parent already died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _worker_main(job_q: Any, event_q: Any, stop: Any, env_factory: EnvFactory, policy_factory: PolicyFactory) -> None:
    import signal

    def on_term(signum: int, frame: Any) -> None:
        stop.set()
        raise SystemExit(143)  # unwinds through the env's close(): the sandbox is torn down

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; we stop via the shared event
    signal.signal(signal.SIGTERM, on_term)
    _die_with_parent()
    while True:
        try:
            job = job_q.get(timeout=0.2)
        except queue_mod.Empty:
            if stop.is_set():
                return
            continue
        if job is None or stop.is_set():
            return
        try:
            run_job(job, env_factory, policy_factory, event_q.put, stop)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:  # keep the pool alive; the parent records the failure
            event_q.put(EpisodeResult(job.trajectory_id, "", "error", 0, error=traceback.format_exc(limit=3)))


class LocalProcessExecutor(Executor):
    """K worker processes (spawned), each owning one sandbox at a time; events come back over a queue.

    Factories must be picklable (module-level functions). The parent writes to the workspace, so only one
    process ever holds the workspace writer lock.
    """

    def __init__(self, k: int, env_factory: EnvFactory, policy_factory: PolicyFactory) -> None:
        self.k = max(1, k)
        self._env_factory = env_factory
        self._policy_factory = policy_factory

    def run(
        self, jobs: list[RolloutJob], on_event: Callable[[Event], None], stop: threading.Event | None = None
    ) -> list[EpisodeResult]:
        ctx = mp.get_context("spawn")
        job_q = ctx.Queue()
        event_q = ctx.Queue()
        mp_stop = ctx.Event()
        for job in jobs:
            job_q.put(job)
        workers = [
            ctx.Process(
                target=_worker_main,
                args=(job_q, event_q, mp_stop, self._env_factory, self._policy_factory),
                daemon=True,
            )
            for _ in range(min(self.k, len(jobs)))
        ]
        for _ in workers:
            job_q.put(None)
        for w in workers:
            w.start()
        results: dict[str, EpisodeResult] = {}
        try:
            while len(results) < len(jobs):
                if stop is not None and stop.is_set():
                    mp_stop.set()
                try:
                    event = event_q.get(timeout=0.1)
                except queue_mod.Empty:
                    if not any(w.is_alive() for w in workers):
                        break
                    continue
                on_event(event)
                if isinstance(event, EpisodeResult):
                    results[event.trajectory_id] = event
        except KeyboardInterrupt:
            mp_stop.set()
            raise
        finally:
            mp_stop.set()
            deadline = time.monotonic() + 15
            for w in workers:
                w.join(timeout=max(0.1, deadline - time.monotonic()))
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=2)
            # drain what arrived while stopping so no finished step is lost
            while True:
                try:
                    event = event_q.get_nowait()
                except (queue_mod.Empty, OSError, ValueError):
                    break
                on_event(event)
                if isinstance(event, EpisodeResult):
                    results[event.trajectory_id] = event
        return [results[j.trajectory_id] for j in jobs if j.trajectory_id in results]
