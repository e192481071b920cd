"""The synthesis pipeline end to end: documents -> tasks -> rollouts -> backward construction -> committee.

Each stage is a function ``stage_<name>(ctx) -> StageSummary``: idempotent (it skips what the workspace already
holds, by deterministic ids), resumable (a stop or a kill loses at most the item in flight), and observable
(:class:`RunObserver` callbacks; the CLI renders them with rich, the GUI with Qt). Model calls go through
:class:`studio.llm.ModelClient` (cache + ledger), so re-running a finished stage costs no model call.

Stage inputs and outputs (workspace tables):

=============  ==============================  ==================================================
stage          reads                           writes
=============  ==============================  ==================================================
docs           app profiles' docs, paths       documents
tasks          documents                       tasks (origin self-instruct; with a check, ``pending``)
verify         pending tasks                   tasks' check status (proven / verified / unverified)
rollouts       tasks (by ``[verify] rollout``)  trajectories (scored when checked; replays), steps, blobs
backward       trajectories, steps             examples (+ the full run of a trajectory that scored 1.0)
committee      examples, steps, trajectories   verdicts (judges see a scored trajectory's check result)
=============  ==============================  ==================================================

Backward construction and the committee get each trajectory's stored final screen, so the last span's
"screen after" is known (``Trajectory.final_observation``; None for trajectories recorded before it existed).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.config import StudioConfig
from studio.errors import PipelineError
from studio.pipeline.agent.factory import make_env, make_policy, policy_spec
from studio.records import FINISHED

if TYPE_CHECKING:
    from studio.pipeline.rollout.recorder import TrajectoryMeta
    from studio.workspace import Workspace

STAGES = ("docs", "tasks", "verify", "rollouts", "backward", "committee")
MIN_TASK_SECTION_CHARS = 150  # sections shorter than this are not used for self-instruct


@dataclass
class StageSummary:
    stage: str
    done: int = 0  # items produced this run
    skipped: int = 0  # already in the workspace
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


class RunObserver:
    """Progress callbacks; override what you need. Called from the thread running the pipeline."""

    def stage_started(self, stage: str, total: int) -> None: ...

    def advanced(self, stage: str, n: int = 1, *, detail: str = "") -> None: ...

    def stage_finished(self, summary: StageSummary) -> None: ...

    def event(self, event: Any) -> None:
        """Rollout events (EpisodeStart / StepEvent / EpisodeResult) as they happen."""


@dataclass
class RunContext:
    ws: Workspace
    cfg: StudioConfig
    client: Any  # studio.llm.ModelClient
    observer: RunObserver = field(default_factory=RunObserver)
    stop: threading.Event = field(default_factory=threading.Event)
    sources: Sequence[str] = ()  # extra documentation sources for the docs stage

    @property
    def path(self) -> Path:
        return Path(self.ws.path)


def _all(ws: Workspace, cls: type, **eq: Any) -> list[Any]:
    return ws.list(cls, limit=None, **eq)


# ------------------------------------------------------------------------------------------------ docs


def add_documents(ws: Workspace, sources: Sequence[str], *, app: str = "", max_sections: int | None = None,
                  skip_errors: bool = True) -> StageSummary:
    """Load documentation sources into the workspace (``studio docs add``). Existing sections are skipped."""
    from studio.pipeline.stages.docs import dedupe_sections, load_sources
    from studio.workspace import Document

    summary = StageSummary("docs")
    result = load_sources(list(sources), skip_errors=skip_errors, max_sections=max_sections)
    for err in result.errors:
        summary.failed += 1
        summary.notes.append(f"{err.source}: {err.message}")
    sections = dedupe_sections(result.sections)
    have = {d.id for d in _all(ws, Document)}
    new = []
    for s in sections:
        if s.id in have:
            summary.skipped += 1
            continue
        have.add(s.id)
        new.append(Document(id=s.id, source=s.source, section=s.section, title=s.title, text=s.text, app=app,
                            format=s.format))
    if new:
        ws.add_documents(new)
    summary.done = len(new)
    return summary


def stage_docs(ctx: RunContext) -> StageSummary:
    """Documents of every configured app (from its profile) plus ``ctx.sources``."""
    from envs.apps import load_profile
    from studio.pipeline.stages.docs import find_app_docs

    t0 = time.perf_counter()
    total = StageSummary("docs")
    apps = ctx.cfg.sandbox.apps
    ctx.observer.stage_started("docs", len(apps) + (1 if ctx.sources else 0))
    for app in apps:
        if ctx.stop.is_set():
            break
        notes: list[str] = []
        sources = find_app_docs(load_profile(app).docs, notes=notes)
        total.notes.extend(notes)
        if sources:
            s = add_documents(ctx.ws, sources, app=app)
            total.done += s.done
            total.skipped += s.skipped
            total.failed += s.failed
            total.notes.extend(s.notes)
        else:
            total.notes.append(f"{app}: no documentation found on this system")
        ctx.observer.advanced("docs", detail=app)
    if ctx.sources:
        s = add_documents(ctx.ws, ctx.sources)
        total.done += s.done
        total.skipped += s.skipped
        total.failed += s.failed
        total.notes.extend(s.notes)
        ctx.observer.advanced("docs", detail="extra sources")
    total.elapsed_s = time.perf_counter() - t0
    ctx.observer.stage_finished(total)
    return total


# ----------------------------------------------------------------------------------------------- tasks


def stage_tasks(ctx: RunContext) -> StageSummary:
    """Self-instruct: tasks from each app's documents (the paper's "exemplify 3 tasks"), each with a check when
    ``[verify] write_checks`` is on (see ``studio.pipeline.stages.checked_tasks``)."""
    from studio.pipeline.prompts import bind_model
    from studio.workspace import Document, Task

    t0 = time.perf_counter()
    cfg = ctx.cfg
    summary = StageSummary("tasks")
    existing = _all(ctx.ws, Task)
    budget = cfg.pipeline.max_tasks - len(existing)
    apps = cfg.sandbox.apps
    ctx.observer.stage_started("tasks", len(apps))
    spec = cfg.roles.task_writer
    if cfg.verify.write_checks:  # a task with its check is ~5x longer than a bare instruction
        spec = spec.model_copy(update={"max_tokens": max(spec.max_tokens, 320 * cfg.pipeline.tasks_per_section)})
    model = bind_model(ctx.client, "task_writer", spec, "tasks")
    for app in apps:
        if ctx.stop.is_set() or budget <= 0:
            break
        # the first substantive sections (a man page's NAME and SYNOPSIS teach no task)
        docs = [d for d in _all(ctx.ws, Document, app=app) if len(d.text.strip()) >= MIN_TASK_SECTION_CHARS]
        docs = docs[: cfg.pipeline.max_sections_per_app]
        if not docs:
            summary.notes.append(f"{app}: no documents; run the docs stage or `studio docs add`")
            ctx.observer.advanced("tasks", detail=app)
            continue
        per_app = max(1, budget // max(1, len(apps) - apps.index(app)))
        made = 0
        for doc in docs:  # one section per call, so a stop request waits for one model call at most
            if ctx.stop.is_set() or made >= per_app or budget <= 0:
                break
            new, result = _write_tasks(ctx, model, doc, app, existing, min(per_app - made, budget))
            new = new[:budget]
            if new:
                ctx.ws.add_tasks(new)
                existing.extend(new)
            budget -= len(new)
            made += len(new)
            summary.done += len(new)
            summary.failed += len(result.failures)
            summary.notes.extend(f"{app}: {f.error}" for f in result.failures[:2])
            summary.notes.extend(f"{app}: skipped section {doc.section!r}: {k.reason}" for k in result.skipped)
        ctx.observer.advanced("tasks", detail=f"{app}: {made} tasks")
    summary.skipped = len(existing) - summary.done
    summary.elapsed_s = time.perf_counter() - t0
    ctx.observer.stage_finished(summary)
    return summary


def _write_tasks(ctx: RunContext, model: Any, doc: Any, app: str, existing: list[Any], limit: int
                 ) -> tuple[list[Any], Any]:
    """New task records from one section (with checks when configured) and the writer's result."""
    from studio.pipeline.stages.self_instruct import generate_tasks
    from studio.workspace import Task

    cfg = ctx.cfg
    have = {t.id for t in existing}
    instructions = [t.instruction for t in existing]
    if not cfg.verify.write_checks:
        result = generate_tasks([doc], model, app=app, n=cfg.pipeline.tasks_per_section,
                                existing=instructions, max_tasks=limit)
        return [Task(id=g.id, instruction=g.instruction, app=g.app, origin="self-instruct", document_id=g.doc_id,
                     section=g.section) for g in result.tasks if g.id not in have], result
    from studio.pipeline.stages.checked_tasks import write_checked_tasks
    from studio.pipeline.stages.task_check import seeds_for

    checked = write_checked_tasks([doc], model, app=app, n=cfg.pipeline.tasks_per_section,
                                  existing=instructions, seeds=seeds_for(ctx.ws, app, cfg.verify.seed_examples),
                                  max_tasks=limit, solution=cfg.verify.solutions,
                                  max_examples=cfg.verify.seed_examples)
    return [Task(id=c.id, instruction=c.instruction, app=c.app, origin="self-instruct", document_id=c.doc_id,
                 section=c.section, check=c.check, check_status="unverified" if c.problem else "pending",
                 check_reason=c.problem or "not validated yet") for c in checked.tasks if c.id not in have], checked


# -------------------------------------------------------------------------------------------- rollouts


class WorkspaceWriter:
    """The pipeline's ``on_event``: the one :class:`~studio.pipeline.rollout.recorder.Recorder` writes the rows,
    then the observer sees the event (progress, the CLI's live totals)."""

    def __init__(self, ws: Workspace, observer: RunObserver, meta: dict[str, TrajectoryMeta]) -> None:
        from studio.pipeline.rollout.recorder import Recorder

        self.recorder = Recorder(ws, meta)
        self.observer = observer

    @property
    def steps(self) -> int:
        return self.recorder.steps

    def __call__(self, event: Any) -> None:
        from studio.pipeline.rollout.episode import EpisodeResult

        self.recorder(event)
        if isinstance(event, EpisodeResult):
            self.observer.advanced("rollouts", detail=f"{event.status} after {event.n_steps} steps")
        self.observer.event(event)


def stage_rollouts(ctx: RunContext, *, parallel: int | None = None, policy: str | None = None,
                   task_ids: Sequence[str] | None = None) -> StageSummary:
    """Roll out every task that has no finished trajectory yet (interrupted ones are run again), and replay the
    written solution of tasks whose status is in ``[verify] replay_solutions`` (once each, first)."""
    from studio.pipeline.rollout.episode import RolloutJob
    from studio.pipeline.rollout.executors import make_executor
    from studio.pipeline.rollout.recorder import TrajectoryMeta
    from studio.pipeline.stages.task_check import REPLAY_POLICY, env_task, replay_lines, rollout_order, scored
    from studio.workspace import Task

    t0 = time.perf_counter()
    cfg = ctx.cfg
    summary = StageSummary("rollouts")
    policy = policy or cfg.pipeline.policy
    parallel = parallel or cfg.pipeline.parallel
    finished = {(r["task_id"], r["policy"] == REPLAY_POLICY)
                for r in ctx.ws.columns("trajectories", ["task_id", "status", "policy"]) if r["status"] in FINISHED}
    tasks = [t for t in _all(ctx.ws, Task) if task_ids is None or t.id in task_ids]
    ordered = rollout_order(tasks, cfg.verify.rollout)
    replays = [(t, lines) for t in tasks if (t.id, True) not in finished
               and (lines := replay_lines(t, cfg.verify.replay_solutions))]
    todo: list[tuple[Task, list[str]]] = [(t, []) for t in ordered if (t.id, False) not in finished]
    summary.skipped = len(tasks) - len(todo)
    if len(ordered) < len(tasks):
        summary.notes.append(f"{len(tasks) - len(ordered)} task(s) not rolled out: status not in [verify] rollout")
    if replays:
        summary.notes.append(f"{len(replays)} written solution(s) replayed ([verify] replay_solutions)")
    jobs: list[RolloutJob] = []
    meta: dict[str, TrajectoryMeta] = {}
    sandbox = {"w": cfg.sandbox.width, "h": cfg.sandbox.height, "apps": cfg.sandbox.apps}
    for i, (t, lines) in enumerate([*replays, *todo]):
        tid = uuid.uuid4().hex
        checked = scored(t)
        job_task = env_task(t, ctx.path) if checked else env_task(t.model_copy(update={"check": {}}))
        kind = REPLAY_POLICY if lines else policy
        spec = policy_spec(kind, seed=i, workspace=ctx.path, actor=cfg.roles.actor.model_dump(),
                           use_cache=getattr(ctx.client, "use_cache", True), **({"lines": lines} if lines else {}))
        steps = max(cfg.pipeline.max_steps, len(lines) + 1)  # a replay runs its whole solution, then DONE
        jobs.append(RolloutJob(tid, job_task, t.app, spec, steps, cfg.sandbox.width, cfg.sandbox.height,
                               evaluate=checked))
        model = "" if kind in ("explorer", REPLAY_POLICY) else cfg.roles.actor.model
        meta[tid] = TrajectoryMeta(task_id=t.id, instruction=t.instruction, app=t.app, policy=kind,
                                   sandbox=sandbox, model=model)
    ctx.observer.stage_started("rollouts", len(jobs))
    writer = WorkspaceWriter(ctx.ws, ctx.observer, meta)
    executor = make_executor(make_env, make_policy, parallel=parallel, config=cfg.executor)
    results = executor.run(jobs, writer, ctx.stop) if jobs else []
    summary.notes.extend(f"cluster: {note}" for note in getattr(executor, "notes", []))
    for r in results:
        if r.status == "error":
            summary.failed += 1
            summary.notes.append(f"{r.task_id}: {r.error.splitlines()[0] if r.error else 'error'}")
        else:
            summary.done += 1
    summary.notes.append(f"{writer.steps} steps recorded")
    summary.elapsed_s = time.perf_counter() - t0
    ctx.observer.stage_finished(summary)
    return summary


# -------------------------------------------------------------------------------------------- backward


def stage_backward(ctx: RunContext) -> StageSummary:
    """Backward construction over every finished trajectory; spans already in the workspace are skipped."""
    from studio.pipeline.prompts import bind_model
    from studio.pipeline.stages.backward import construct_examples
    from studio.pipeline.stages.task_check import passed_example
    from studio.workspace import Example, Trajectory

    t0 = time.perf_counter()
    summary = StageSummary("backward")
    trajs = [t for t in _all(ctx.ws, Trajectory) if t.status in FINISHED and t.n_steps > 0]
    ctx.observer.stage_started("backward", len(trajs))
    model = bind_model(ctx.client, "backward_writer", ctx.cfg.roles.backward_writer, "backward")
    for traj in trajs:
        if ctx.stop.is_set():
            break
        steps = ctx.ws.steps_of(traj.id)
        have = _all(ctx.ws, Example, trajectory_id=traj.id)
        skip = {(e.start, e.end, e.kind) for e in have}
        result = construct_examples(traj.id, steps, model, app=traj.app, policy=ctx.cfg.pipeline.spans,
                                    final_observation=traj.final_observation, skip=skip)
        new = list(result.examples)
        passed = passed_example(traj, len(steps))  # a full run its check scored 1.0: the original instruction
        if passed is not None and passed.id not in {e.id for e in have}:
            new.append(passed)
        if new:
            ctx.ws.add_examples(new)
        summary.done += len(new)
        summary.skipped += len(have)
        summary.failed += len(result.failures)
        summary.notes.extend(f"{traj.id[:8]} [{f.start}:{f.end}] {f.kind}: {f.error}" for f in result.failures[:2])
        ctx.observer.advanced("backward", detail=f"{len(new)} examples")
    summary.elapsed_s = time.perf_counter() - t0
    ctx.observer.stage_finished(summary)
    return summary


# ------------------------------------------------------------------------------------------- committee


def stage_committee(ctx: RunContext) -> StageSummary:
    """Every judge votes on every example (four criteria); judges that already voted are not asked again."""
    from studio.config import judge_labels
    from studio.pipeline.stages.committee import judge_example
    from studio.pipeline.stages.judges import distractor_pool, make_judge
    from studio.pipeline.stages.task_check import check_note
    from studio.workspace import Example, Task, Trajectory

    t0 = time.perf_counter()
    summary = StageSummary("committee")
    cfg = ctx.cfg
    specs = cfg.roles.judges
    labels = judge_labels(specs)
    judges = [(label, make_judge(spec, ctx.client)) for label, spec in zip(labels, specs, strict=True)]
    advisory = cfg.advisory_judges()
    task_instructions = [(t.app, t.instruction) for t in _all(ctx.ws, Task)]
    own_instruction: dict[str, str] = {}
    examples = _all(ctx.ws, Example)
    ctx.observer.stage_started("committee", len(examples))
    # the current trajectory's steps, final screen and what its check said
    steps_cache: dict[str, tuple[list[Any], str | None, str]] = {}
    accepted = 0
    for ex in examples:
        if ctx.stop.is_set():
            break
        prior = ctx.ws.verdicts_of(ex.id)
        if {v.judge for v in prior} >= set(labels):
            summary.skipped += 1
            ctx.observer.advanced("committee")
            continue
        if ex.trajectory_id not in steps_cache:
            final, score = _final_observation(ctx.ws, ex)
            steps_cache = {ex.trajectory_id: (ctx.ws.steps_of(ex.trajectory_id), final, check_note(score))}
        steps, final, note = steps_cache[ex.trajectory_id]
        if ex.trajectory_id not in own_instruction:
            traj = ctx.ws.list(Trajectory, id=ex.trajectory_id, limit=1)
            own_instruction[ex.trajectory_id] = traj[0].instruction if traj else ""
        pool = distractor_pool(ex.app, own_instruction[ex.trajectory_id], task_instructions)
        decision = judge_example(ex, steps, judges, quorum=cfg.pipeline.quorum, final_observation=final,
                                 prior=prior, check=note, distractors=pool, advisory=advisory)
        rows = decision.verdicts
        if rows:
            ctx.ws.add_verdicts(rows)
        summary.done += 1
        accepted += int(decision.accepted)
        summary.failed += len({v.judge for v in decision.verdicts if v.vote is None})
        ctx.observer.advanced("committee", detail=decision.status)
    summary.notes.append(f"{accepted} of {summary.done} newly judged examples accepted (quorum {cfg.pipeline.quorum})")
    summary.elapsed_s = time.perf_counter() - t0
    ctx.observer.stage_finished(summary)
    return summary


def _final_observation(ws: Workspace, example: Any) -> tuple[str | None, float | None]:
    """The stored screen after the last action of an example's trajectory and its check score (None, None if
    unknown or no trajectory)."""
    from studio.errors import WorkspaceError
    from studio.workspace import Trajectory

    try:
        traj = ws.get(Trajectory, example.trajectory_id)
    except WorkspaceError:
        return None, None
    return traj.final_observation, traj.score


def stage_verify(ctx: RunContext, *, env_factory: Callable[[], Any] | None = None) -> StageSummary:
    """Validate every ``pending`` task's check in a fresh sandbox (``task_check.validate_record``) and store its
    status: proven / verified / unverified with the reason."""
    from types import SimpleNamespace

    from studio.pipeline.stages.task_check import validate_record
    from studio.workspace import Task

    t0 = time.perf_counter()
    summary = StageSummary("verify")
    size = SimpleNamespace(width=ctx.cfg.sandbox.width, height=ctx.cfg.sandbox.height)
    factory = env_factory or (lambda: make_env(size))  # the rollouts' env factory: a fresh sandbox
    todo = [t for t in _all(ctx.ws, Task) if t.check_status == "pending"]
    summary.skipped = ctx.ws.count(Task) - len(todo)
    ctx.observer.stage_started("verify", len(todo))
    counts: dict[str, int] = {}
    for t in todo:
        if ctx.stop.is_set():
            break
        res = validate_record(t, env_factory=factory, workspace=ctx.path)
        ctx.ws.update_task(t.id, check_status=res.status, check_reason=res.reason, check_info=res.info())
        counts[res.status] = counts.get(res.status, 0) + 1
        summary.done += 1
        if res.status == "unverified":
            summary.failed += 1
            if len(summary.notes) < 4:
                summary.notes.append(f"{t.id[:12]}: {res.reason[:80]}")
        ctx.observer.advanced("verify", detail=res.status)
    summary.notes.insert(0, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to verify")
    summary.elapsed_s = time.perf_counter() - t0
    ctx.observer.stage_finished(summary)
    return summary


STAGE_FUNCS: dict[str, Callable[[RunContext], StageSummary]] = {
    "docs": stage_docs,
    "tasks": stage_tasks,
    "verify": stage_verify,
    "rollouts": stage_rollouts,
    "backward": stage_backward,
    "committee": stage_committee,
}


def run_pipeline(ctx: RunContext, stages: Sequence[str] = STAGES) -> list[StageSummary]:
    """Run stages in order; a stop request ends after the item in flight. Compacts the workspace at the end."""
    unknown = [s for s in stages if s not in STAGE_FUNCS]
    if unknown:
        raise PipelineError(f"unknown stage(s) {unknown}; stages are {list(STAGES)}")
    out = []
    for name in stages:
        if ctx.stop.is_set():
            break
        out.append(STAGE_FUNCS[name](ctx))
    ctx.ws.optimize()
    return out
