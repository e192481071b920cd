"""Evaluate agents on a task suite, the way the paper compares methods (Table 2, Figure 2, Table 4).

Every (agent, task) pair runs in a fresh sandbox through the rollout executors (several sandboxes at once with
``parallel > 1``), is scored by the task's evaluator and becomes one :class:`TaskResult` line in
``<out>/results.jsonl`` the moment it finishes (so a killed run keeps what it did, and a re-run resumes).
At the end :func:`studio.pipeline.eval.report.write_report` renders ``report.md`` and PNG plots.

Agents come from one registry, :data:`AGENTS`: ``name -> factory(AgentRequest) -> Policy``. An agent name may
carry a mode after a colon (``rag:observation``, ``rag:model``, ``rag:both``); the factory of the part before
the colon gets the mode in ``AgentRequest.mode``, and the report puts every mode of one agent in the ablation
table. Registry entries are callables or ``"module:attr"`` strings (imported on first use, also inside worker
processes, so heavy modules stay out of ``studio --help``). A retrieval-augmented agent is one entry::

    AGENTS["rag"] = "studio.pipeline.retrieval.retriever:rag_agent"

    from studio.pipeline.agent.policies import AugmentedPolicy  # a policy plus examples in its prompt

    def rag_agent(req: AgentRequest) -> Policy:
        retriever = open_retriever(req.workspace, mode=req.mode or "both")
        return AugmentedPolicy(ModelPolicy(model_completer(req, "actor", stage=f"eval:{req.agent}")),
                               retriever.examples_for)  # (StepContext, layout) -> (examples text, usage dict)

Token accounting: a policy reports each step's model use in ``Decision.usage`` with the keys of
``studio.pipeline.agent.usage.USAGE_KEYS`` (``model_calls``, ``prompt_tokens``, ``completion_tokens``,
``cost``, ``cache_hits``); the runner sums them per task. :func:`model_completer` fills them from the
:class:`~studio.llm.ModelClient` result (cache + ledger in the workspace, ledger stage ``eval:<agent>``).
"""

from __future__ import annotations

import importlib
import json
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from envs.tasks import ASSETS_DIR, Task, load_task, load_tasks, solution_path
from studio.errors import PipelineError, StudioError
from studio.pipeline.agent.factory import (
    Complete,
    actor_policy,
    completer,
    make_env,
    make_policy,
)
from studio.pipeline.agent.policies import Decision, Policy, ScriptedPolicy, StepContext
from studio.pipeline.agent.usage import add_usage
from studio.pipeline.rollout.episode import EpisodeResult, EpisodeStart, Event, Executor, RolloutJob, StepEvent

log = logging.getLogger(__name__)

#: The bundled evaluation suite (never used to synthesize data).
EVAL_SUITE_DIR = ASSETS_DIR / "eval"
RESULTS_NAME = "results.jsonl"
DEFAULT_MAX_STEPS = 15  # OSWorld's usual budget


# ------------------------------------------------------------------------------------------- results


@dataclass
class TaskResult:
    """One agent on one task. ``score`` is the evaluator's (0 when the run failed: see ``error``)."""

    task_id: str
    app: str
    agent: str
    score: float
    status: str  # done | fail | max_steps | loop | stopped | error
    steps: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cache_hits: int = 0
    elapsed_s: float = 0.0
    error: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def read_results(path: Path | str) -> list[TaskResult]:
    """All results of a ``results.jsonl`` (a missing file is empty; a torn last line is skipped)."""
    p = Path(path)
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            out.append(TaskResult.from_dict(json.loads(line)))
        except (ValueError, TypeError):
            continue
    return out


# -------------------------------------------------------------------------------------------- agents


@dataclass(frozen=True)
class AgentRequest:
    """What an agent factory gets (picklable: it crosses into worker processes)."""

    agent: str  # full name as given, e.g. "rag:model"
    mode: str  # the part after ':' ("" if none)
    task_id: str
    task_path: str | None
    workspace: str | None
    max_steps: int
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def task(self) -> Task:
        """The task file, loaded (for agents that need more than the instruction, e.g. its solution)."""
        if not self.task_path:
            raise PipelineError(f"agent '{self.agent}' needs the task file of '{self.task_id}', which has no path")
        return load_task(self.task_path)


AgentFactory = Callable[[AgentRequest], Policy]


class NoopPolicy:
    """Does nothing: answers DONE at once (the floor every task must score 0 on)."""

    name = "noop"

    def decide(self, ctx: StepContext) -> Decision:
        from envs.actions import Done

        return Decision([Done()], reason="no-op agent", action_code="DONE")


def model_completer(req: AgentRequest, role: str = "actor", *, stage: str | None = None) -> Complete:
    """``(messages) -> (text, usage)`` for an agent's model calls: the workspace's model for ``role``, its cache
    and ledger (stage ``eval:<agent>``), see :func:`studio.pipeline.agent.factory.completer`.

    Raises:
        PipelineError: the agent has no workspace.
    """
    return completer(_workspace_of(req), role, stage=stage or f"eval:{req.agent}", use_cache=use_cache_of(req))


def use_cache_of(req: AgentRequest) -> bool:
    """False when the run asked to ignore cached model answers (``studio eval --no-cache``)."""
    return bool(req.options.get("use_cache", True))


def _workspace_of(req: AgentRequest) -> str:
    if req.workspace is None:
        raise PipelineError(
            f"agent '{req.agent}' calls a model and needs a workspace (cache + ledger): pass --workspace DIR"
        )
    return req.workspace


def _noop_agent(req: AgentRequest) -> Policy:
    return NoopPolicy()


def _solution_agent(req: AgentRequest) -> Policy:
    task = req.task()
    path = solution_path(task)
    if path is None:
        raise PipelineError(f"task '{task.id}' has no solution file {task.id}.actions next to {task.path}")
    policy = ScriptedPolicy(path.read_text(encoding="utf-8").splitlines())
    policy.name = "solution"
    return policy


def _baseline_agent(req: AgentRequest) -> Policy:
    """The workspace's actor; ``baseline:elements`` / ``baseline:pyautogui`` pick the action space."""
    agent = None
    if req.mode:
        from studio.pipeline.agent.elements import ACTION_SPACES
        from studio.pipeline.agent.factory import workspace_config

        if req.mode not in ACTION_SPACES:
            raise PipelineError(
                f"unknown action space '{req.mode}' in agent '{req.agent}'; use "
                f"{' or '.join(f'baseline:{s}' for s in ACTION_SPACES)}"
            )
        agent = workspace_config(req.workspace).agent.model_copy(update={"action_space": req.mode})
    return actor_policy(
        _workspace_of(req), stage=f"eval:{req.agent}", name=req.agent, use_cache=use_cache_of(req), agent=agent
    )


def _explorer_agent(req: AgentRequest) -> Policy:
    from studio.pipeline.agent.policies import ExplorerPolicy

    return ExplorerPolicy(seed=req.seed, stop_after=req.max_steps - 1)


#: name -> factory (or "module:attr" of one).
#: Retrieval plugs in as ``"rag": "studio.pipeline.retrieval.retriever:rag_agent"``.
AGENTS: dict[str, AgentFactory | str] = {
    "noop": _noop_agent,
    "solution": _solution_agent,
    "baseline": _baseline_agent,  # baseline:elements | baseline:pyautogui pick the action space
    "explorer": _explorer_agent,
    # the retrieval-augmented actor; rag:observation|model|both|instruction
    "rag": "studio.pipeline.retrieval.retriever:rag_agent",
}


def split_agent(name: str) -> tuple[str, str]:
    """``"rag:model"`` -> ``("rag", "model")``; ``"baseline"`` -> ``("baseline", "")``."""
    base, _, mode = name.partition(":")
    return base.strip(), mode.strip()


def agent_factory(name: str) -> AgentFactory:
    """The factory for agent ``name`` (mode suffix allowed).

    Raises:
        PipelineError: unknown agent (lists the known ones) or an entry that does not import.
    """
    base, _ = split_agent(name)
    entry = AGENTS.get(base)
    if entry is None:
        raise PipelineError(f"unknown agent '{name}'; known agents: {', '.join(sorted(AGENTS))}")
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
        except (ImportError, AttributeError) as exc:
            raise PipelineError(f"agent '{base}' is registered as {entry!r}, which does not import: {exc}") from exc
    return entry


class _BrokenPolicy:
    """Stands in for an agent that could not be built: its first decision raises; the episode records why."""

    def __init__(self, name: str, error: str) -> None:
        self.name = name
        self._error = error

    def decide(self, ctx: StepContext) -> Decision:
        raise PipelineError(self._error)


def agent_policy(spec: Mapping[str, Any]) -> Policy:
    """The ``agent`` kind of :func:`studio.pipeline.agent.factory.make_policy`: an ``AgentRequest`` spec (plus
    ``kind``) -> the agent's Policy. Never raises: an agent that cannot start fails its first decision, so the
    episode records why."""
    req = AgentRequest(**{k: v for k, v in spec.items() if k != "kind"})
    try:
        return agent_factory(req.agent)(req)
    except Exception as exc:  # noqa: BLE001 - recorded as the episode's error
        return _BrokenPolicy(req.agent, f"agent '{req.agent}' could not start: {type(exc).__name__}: {exc}")


def agent_spec(req: AgentRequest) -> dict[str, Any]:
    """The policy spec of an evaluation agent (what its rollout job carries)."""
    return {"kind": "agent", **asdict(req)}


# -------------------------------------------------------------------------------------------- runner


def task_app(task: Task) -> str:
    """The app a task belongs to (first related app, else the snapshot name)."""
    return (task.related_apps[0] if task.related_apps else task.snapshot) or "other"


def load_suite(suite: str | Path | list[Task], limit: int | None = None) -> list[Task]:
    """Tasks of a suite directory (recursive, sorted) or a given list; ``limit`` keeps the first N.

    Raises:
        PipelineError: no task files found.
    """
    if isinstance(suite, list):
        tasks = list(suite)
    else:
        p = Path(suite)
        if not p.exists():
            raise PipelineError(f"suite {p} does not exist; pass a directory of OSWorld-format task JSON files")
        tasks = load_tasks(p) if p.is_dir() else [load_task(p)]
    if limit is not None:
        tasks = tasks[: max(0, limit)]
    if not tasks:
        raise PipelineError(f"suite {suite} holds no task files (*.json)")
    return tasks


def _solution_steps(task: Task) -> int:
    path = solution_path(task)
    if path is None:
        return 0
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return sum(1 for ln in lines if ln and not ln.startswith("#"))


@dataclass
class SuiteRun:
    """What :func:`run_suite` produced."""

    results: list[TaskResult]
    out_dir: Path
    report_path: Path | None
    plots: list[Path]
    elapsed_s: float


def run_suite(
    suite: str | Path | list[Task],
    agents: list[str],
    out_dir: str | Path,
    *,
    workspace: str | Path | None = None,
    parallel: int = 1,
    limit: int | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    width: int = 1280,
    height: int = 800,
    resume: bool = True,
    executor: Executor | None = None,
    on_result: Callable[[TaskResult], None] | None = None,
    report: bool = True,
    use_cache: bool = True,
) -> SuiteRun:
    """Run every agent on every task of ``suite``; write results.jsonl, report.md and plots to ``out_dir``.

    Args:
        suite: A directory of task JSON (recursive), one task file, or loaded tasks.
        agents: Agent names from :data:`AGENTS` (``name`` or ``name:mode``).
        out_dir: Where results and the report go (created).
        workspace: Workspace for model agents (config, cache, ledger); defaults to ``out_dir``.
        parallel: Sandboxes at once (> 1 uses worker processes; on Ray a cap).
        limit: Only the first N tasks.
        max_steps: Step budget of model/explorer agents (solution gets its script length + 1, noop 1).
        resume: Keep finished results already in ``out_dir/results.jsonl`` (error-free ones) and skip them.
        executor: Run jobs with this executor (e.g. a ``RayExecutor``); None = what the workspace's
            ``[executor]`` config says.
        on_result: Called with each TaskResult as it lands.
        report: Write report.md and plots at the end.
        use_cache: False calls the models again instead of answering from the workspace's cache (``--no-cache``).

    Raises:
        PipelineError: unknown agent, empty suite. Task-level failures are recorded, never raised.
    """
    t0 = time.monotonic()
    if not agents:
        raise PipelineError("no agents given; pass at least one --agent (e.g. noop, solution, baseline)")
    for name in agents:
        agent_factory(name)  # fail fast on unknown agents
    tasks = load_suite(suite, limit)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ws = str(Path(workspace if workspace is not None else out).resolve())
    results_path = out / RESULTS_NAME
    wanted = {(a, t.id) for a in agents for t in tasks}
    kept: list[TaskResult] = []
    if resume:
        kept = [r for r in read_results(results_path) if not r.error and (r.agent, r.task_id) in wanted]
    done = {(r.agent, r.task_id) for r in kept}
    with open(results_path, "w", encoding="utf-8") as fh:  # rewrite: drop stale/errored lines
        fh.writelines(r.to_json() + "\n" for r in kept)

    collected: list[TaskResult] = list(kept)

    def record(r: TaskResult) -> None:
        collected.append(r)
        with open(results_path, "a", encoding="utf-8") as fh:
            fh.write(r.to_json() + "\n")
        if on_result is not None:
            on_result(r)

    jobs: list[RolloutJob] = []
    meta: dict[str, tuple[str, Task]] = {}
    for agent in agents:
        base, mode = split_agent(agent)
        for task in tasks:
            if (agent, task.id) in done:
                continue
            steps = max_steps
            if base == "solution":
                steps = _solution_steps(task) + 1
                if steps == 1:
                    record(
                        TaskResult(
                            task.id,
                            task_app(task),
                            agent,
                            0.0,
                            "error",
                            error=f"no solution file {task.id}.actions next to the task file",
                        )
                    )
                    continue
            elif base == "noop":
                steps = 1
            tid = f"{agent}::{task.id}"
            meta[tid] = (agent, task)
            req = AgentRequest(
                agent=agent,
                mode=mode,
                task_id=task.id,
                task_path=str(task.path) if task.path else None,
                workspace=ws,
                max_steps=steps,
                seed=zlib.crc32(task.id.encode()),
                options={"use_cache": use_cache},
            )
            jobs.append(
                RolloutJob(
                    trajectory_id=tid,
                    task=task,
                    app=task_app(task),
                    policy=agent_spec(req),
                    max_steps=steps,
                    width=width,
                    height=height,
                    evaluate=True,
                )
            )

    usage: dict[str, dict[str, Any]] = {}

    def on_event(event: Event) -> None:
        if isinstance(event, EpisodeStart):  # a retried episode (its worker died) counts from zero again
            usage.pop(event.trajectory_id, None)
        elif isinstance(event, StepEvent):
            add_usage(usage.setdefault(event.trajectory_id, {}), event.step.usage)
        elif isinstance(event, EpisodeResult) and event.trajectory_id in meta:
            agent, task = meta.pop(event.trajectory_id)
            record(_task_result(agent, task, event, usage.pop(event.trajectory_id, {})))

    if jobs:
        if executor is None:
            from studio.pipeline.agent.factory import workspace_config
            from studio.pipeline.rollout.executors import make_executor

            executor = make_executor(make_env, make_policy, parallel=parallel, config=workspace_config(ws).executor)
        log.info("evaluating %d agent(s) on %d task(s): %d episodes", len(agents), len(tasks), len(jobs))
        executor.run(jobs, on_event)
    for _tid, (agent, task) in list(meta.items()):  # a worker died before reporting
        record(
            TaskResult(
                task.id,
                task_app(task),
                agent,
                0.0,
                "error",
                error="the episode never reported back (worker process died); see the log",
            )
        )

    order = {(a, t.id): i for i, (a, t) in enumerate((a, t) for a in agents for t in tasks)}
    collected.sort(key=lambda r: order.get((r.agent, r.task_id), len(order)))
    report_path: Path | None = None
    plots: list[Path] = []
    if report:
        from studio.pipeline.eval.report import write_report

        report_path, plots = write_report(
            collected, out, title=f"Evaluation of {_suite_name(suite)}", elapsed_s=time.monotonic() - t0
        )
    return SuiteRun(collected, out, report_path, plots, time.monotonic() - t0)


def _suite_name(suite: str | Path | list[Task]) -> str:
    if isinstance(suite, list):
        return f"{len(suite)} tasks"
    return str(suite)


def _task_result(agent: str, task: Task, ep: EpisodeResult, usage: dict[str, Any]) -> TaskResult:
    error = ep.error
    if ep.status == "error" and not error:
        error = "the episode failed"
    return TaskResult(
        task_id=task.id,
        app=task_app(task),
        agent=agent,
        score=float(ep.score) if ep.score is not None else 0.0,
        status=ep.status,
        steps=ep.n_steps,
        model_calls=int(usage.get("model_calls", 0)),
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        cost=float(usage.get("cost", 0.0)),
        cache_hits=int(usage.get("cache_hits", 0)),
        elapsed_s=round(ep.elapsed_s, 3),
        error=error,
    )


# ------------------------------------------------------------------------------------ solvability check


@dataclass
class Solvability:
    """Proof a task is solvable: untouched it scores ``noop_score``, after its solution ``solution_score``."""

    task_id: str
    app: str
    noop_score: float | None = None
    solution_score: float | None = None
    steps: int = 0
    elapsed_s: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.noop_score == 0.0 and self.solution_score == 1.0


def check_solvable(task_file: str | Path, *, width: int = 1280, height: int = 800) -> Solvability:
    """In ONE fresh sandbox: evaluate the untouched task (should be 0), replay the solution, evaluate (1)."""
    from envs.action_parser import parse_actions_text
    from envs.desktop import DesktopEnv

    t0 = time.monotonic()
    task = load_task(task_file)
    out = Solvability(task.id, task_app(task))
    env = DesktopEnv(width=width, height=height)
    try:
        sol = solution_path(task)
        if sol is None:
            raise PipelineError(f"task '{task.id}' has no solution file {task.id}.actions")
        plan = parse_actions_text(sol.read_text(encoding="utf-8"), str(sol))
        env.reset(task)
        out.noop_score = env.evaluate(task)
        for _lineno, actions in plan:
            for action in actions:
                env.step(action)
            out.steps += 1
        out.solution_score = env.evaluate(task)
    except StudioError as exc:
        out.error = f"{type(exc).__name__}: {exc}"
    finally:
        env.close()
        out.elapsed_s = round(time.monotonic() - t0, 3)
    return out


def check_suite(suite: str | Path, *, workers: int = 2) -> list[Solvability]:
    """:func:`check_solvable` for every task of ``suite``, ``workers`` sandboxes at once (spawned)."""
    files = [t.path for t in load_suite(suite) if t.path is not None]
    if workers <= 1:
        return [check_solvable(f) for f in files]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(check_solvable, files))
