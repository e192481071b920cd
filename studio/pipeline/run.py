"""The synthesis pipeline end to end: documents -> tasks -> rollouts -> backward construction -> committee.

Each stage is declared as a :class:`~studio.pipeline.stage.Stage`: its inputs and outputs (workspace tables),
its items, which of them are already done, and how to process the rest; :func:`~studio.pipeline.stage.run_stage`
runs any of them the same way: idempotent (it skips what the workspace already holds, by deterministic ids),
resumable (a stop or a kill loses at most the item in flight), and observable (:class:`RunObserver` callbacks;
the CLI renders them with rich, the GUI with Qt). Model calls go through :class:`studio.llm.ModelClient`
(cache + ledger), so re-running a finished stage costs no model call. ``stage_<name>(ctx) -> StageSummary``
runs one stage. The docs and tasks stages are in :mod:`studio.pipeline.stages.source_stages`, backward and
committee in :mod:`studio.pipeline.stages.example_stages`; the two that drive sandboxes (verify, rollouts) here.

Stage inputs and outputs (workspace tables) and when an item counts as done (the stage's ``done_keys``):

=========  ===============================  ====================================================  =====================
stage      reads                            writes                                                an item is done when
=========  ===============================  ====================================================  =====================
docs       app profiles' docs, paths        documents                                             (by section, inside)
tasks      documents                        tasks (self-instruct; with a check, ``pending``)      its section has tasks
verify     pending tasks                    tasks' check status (proven / verified / unverified)  it is not pending
rollouts   tasks (by ``[verify] rollout``)  trajectories (scored if checked, replays), steps       it has a finished run
backward   trajectories, steps              examples (+ the whole run of one that scored 1.0)     (by span, inside)
committee  examples, steps, trajectories    verdicts (judges see a scored run's check result)     every judge voted
=========  ===============================  ====================================================  =====================

Backward construction and the committee get each trajectory's stored final screen, so the last span's
"screen after" is known (``Trajectory.final_observation``; None for trajectories recorded before it existed).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.errors import PipelineError
from studio.pipeline.agent.factory import make_env, make_policy, policy_spec
from studio.pipeline.stage import ItemResult, RunContext, RunObserver, Stage, StageSummary, run_stage
from studio.pipeline.stages.example_stages import BackwardStage, CommitteeStage
from studio.pipeline.stages.source_stages import MIN_TASK_SECTION_CHARS, DocsStage, TasksStage, add_documents
from studio.records import FINISHED

if TYPE_CHECKING:
    from studio.pipeline.rollout.recorder import TrajectoryMeta
    from studio.records import Task
    from studio.workspace import Workspace

__all__ = [
    "MIN_TASK_SECTION_CHARS",
    "STAGES",
    "STAGE_FUNCS",
    "STAGE_TYPES",
    "ItemResult",
    "RunContext",
    "RunObserver",
    "Stage",
    "StageSummary",
    "WorkspaceWriter",
    "add_documents",
    "run_pipeline",
    "run_stage",
    "stage_backward",
    "stage_committee",
    "stage_docs",
    "stage_rollouts",
    "stage_tasks",
    "stage_verify",
]

STAGES = ("docs", "tasks", "verify", "rollouts", "backward", "committee")


# ---------------------------------------------------------------------------------------------- stages


def stage_docs(ctx: RunContext) -> StageSummary:
    """Run :class:`~studio.pipeline.stages.source_stages.DocsStage`."""
    return run_stage(DocsStage(), ctx)


def stage_tasks(ctx: RunContext) -> StageSummary:
    """Run :class:`~studio.pipeline.stages.source_stages.TasksStage`."""
    return run_stage(TasksStage(), ctx)


def stage_backward(ctx: RunContext) -> StageSummary:
    """Run :class:`~studio.pipeline.stages.example_stages.BackwardStage`."""
    return run_stage(BackwardStage(), ctx)


def stage_committee(ctx: RunContext) -> StageSummary:
    """Run :class:`~studio.pipeline.stages.example_stages.CommitteeStage`."""
    return run_stage(CommitteeStage(), ctx)


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


@dataclass(frozen=True)
class RolloutItem:
    """One episode to run: a task, and for a replay of its written solution the solution's lines."""

    task: Task
    lines: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The key in :meth:`RolloutsStage.done_keys`: the task id, with ``:replay`` for a replay."""
        return f"{self.task.id}:replay" if self.lines else self.task.id


class RolloutsStage(Stage["RolloutItem"]):
    """Roll out every task that has no finished trajectory yet (interrupted ones are run again), and replay the
    written solution of tasks whose status is in ``[verify] replay_solutions`` (once each, first).

    A batch stage: the executor runs all episodes (in parallel) and the writer reports each as it ends. Tasks
    whose check status is not in ``[verify] rollout`` are left out (with a note).
    """

    name = "rollouts"
    inputs = ("tasks",)
    outputs = ("trajectories", "steps")  # and the screenshots' blobs

    def __init__(
        self, *, parallel: int | None = None, policy: str | None = None, task_ids: Sequence[str] | None = None
    ) -> None:
        self.parallel = parallel
        self.policy = policy
        self.task_ids = task_ids
        self.left_out = 0

    def items(self, ctx: RunContext) -> list[RolloutItem]:
        from studio.pipeline.stages.task_check import replay_lines, rollout_order
        from studio.workspace import Task

        tasks = [t for t in ctx.ws.list(Task, limit=None) if self.task_ids is None or t.id in self.task_ids]
        ordered = rollout_order(tasks, ctx.cfg.verify.rollout)
        self.left_out = len(tasks) - len(ordered)
        replays = [
            RolloutItem(t, tuple(lines)) for t in tasks if (lines := replay_lines(t, ctx.cfg.verify.replay_solutions))
        ]
        return [*replays, *(RolloutItem(t) for t in ordered)]

    def done_keys(self, ctx: RunContext) -> set[str]:
        from studio.pipeline.stages.task_check import REPLAY_POLICY

        rows = ctx.ws.columns("trajectories", ["task_id", "status", "policy"])
        return {
            f"{r['task_id']}:replay" if r["policy"] == REPLAY_POLICY else r["task_id"]
            for r in rows
            if r["status"] in FINISHED
        }

    def process(self, ctx: RunContext, todo: Sequence[RolloutItem]) -> Iterable[ItemResult]:
        from studio.pipeline.rollout.episode import RolloutJob
        from studio.pipeline.rollout.executors import make_executor
        from studio.pipeline.rollout.recorder import TrajectoryMeta
        from studio.pipeline.stages.task_check import REPLAY_POLICY, env_task, scored

        cfg = ctx.cfg
        policy = self.policy or cfg.pipeline.policy
        out = ItemResult(advance=False)
        if self.left_out:
            out.notes.append(f"{self.left_out} task(s) not rolled out: status not in [verify] rollout")
        jobs: list[RolloutJob] = []
        meta: dict[str, TrajectoryMeta] = {}
        sandbox = {"w": cfg.sandbox.width, "h": cfg.sandbox.height, "apps": cfg.sandbox.apps}
        replays = sum(1 for item in todo if item.lines)
        if replays:
            out.notes.append(f"{replays} written solution(s) replayed ([verify] replay_solutions)")
        for i, item in enumerate(todo):
            t, lines = item.task, list(item.lines)
            tid = uuid.uuid4().hex
            checked = scored(t)
            job_task = env_task(t, ctx.path) if checked else env_task(t.model_copy(update={"check": {}}))
            kind = REPLAY_POLICY if lines else policy
            spec = policy_spec(
                kind,
                seed=i,
                workspace=ctx.path,
                actor=cfg.roles.actor.model_dump(),
                use_cache=getattr(ctx.client, "use_cache", True),
                **({"lines": lines} if lines else {}),
            )
            steps = max(cfg.pipeline.max_steps, len(lines) + 1)  # a replay runs its whole solution, then DONE
            jobs.append(
                RolloutJob(tid, job_task, t.app, spec, steps, cfg.sandbox.width, cfg.sandbox.height, evaluate=checked)
            )
            meta[tid] = TrajectoryMeta(
                task_id=t.id,
                instruction=t.instruction,
                app=t.app,
                policy=kind,
                sandbox=sandbox,
                model="" if kind in ("explorer", REPLAY_POLICY) else cfg.roles.actor.model,
            )
        writer = WorkspaceWriter(ctx.ws, ctx.observer, meta)
        executor = make_executor(
            make_env, make_policy, parallel=self.parallel or cfg.pipeline.parallel, config=cfg.executor
        )
        results = executor.run(jobs, writer, ctx.stop) if jobs else []
        out.notes.extend(f"cluster: {note}" for note in getattr(executor, "notes", []))
        for r in results:
            if r.status == "error":
                out.failed += 1
                out.notes.append(f"{r.task_id}: {r.error.splitlines()[0] if r.error else 'error'}")
            else:
                out.done += 1
        out.notes.append(f"{writer.steps} steps recorded")
        yield out


def stage_rollouts(
    ctx: RunContext, *, parallel: int | None = None, policy: str | None = None, task_ids: Sequence[str] | None = None
) -> StageSummary:
    """Run :class:`RolloutsStage`."""
    return run_stage(RolloutsStage(parallel=parallel, policy=policy, task_ids=task_ids), ctx)


# ---------------------------------------------------------------------------------------------- verify


class VerifyStage(Stage["Task"]):
    """Validate every ``pending`` task's check in a fresh sandbox (``task_check.validate_record``) and store its
    status: proven / verified / unverified with the reason. A task whose status is not ``pending`` is done."""

    name = "verify"
    inputs = ("tasks",)
    outputs = ("tasks",)  # the check status columns

    def __init__(self, env_factory: Callable[[], Any] | None = None) -> None:
        self.env_factory = env_factory
        self.counts: dict[str, int] = {}

    def items(self, ctx: RunContext) -> list[Task]:
        from studio.workspace import Task

        return ctx.ws.list(Task, limit=None)

    def done_keys(self, ctx: RunContext) -> set[str]:
        return {r["id"] for r in ctx.ws.columns("tasks", ["id", "check_status"]) if r["check_status"] != "pending"}

    def process(self, ctx: RunContext, todo: Sequence[Task]) -> Iterable[ItemResult]:
        from types import SimpleNamespace

        from studio.pipeline.stages.task_check import validate_record

        size = SimpleNamespace(width=ctx.cfg.sandbox.width, height=ctx.cfg.sandbox.height)
        factory = self.env_factory or (lambda: make_env(size))  # the rollouts' env factory: a fresh sandbox
        noted = 0
        for t in todo:
            res = validate_record(t, env_factory=factory, workspace=ctx.path)
            ctx.ws.update_task(t.id, check_status=res.status, check_reason=res.reason, check_info=res.info())
            self.counts[res.status] = self.counts.get(res.status, 0) + 1
            notes = []
            if res.status == "unverified" and noted < 4:
                notes.append(f"{t.id[:12]}: {res.reason[:80]}")
                noted += 1
            yield ItemResult(done=1, failed=int(res.status == "unverified"), notes=notes, detail=res.status)

    def finish(self, ctx: RunContext, summary: StageSummary) -> None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        summary.notes.insert(0, counts or "nothing to verify")


def stage_verify(ctx: RunContext, *, env_factory: Callable[[], Any] | None = None) -> StageSummary:
    """Run :class:`VerifyStage` (``env_factory``: how to make a fresh sandbox; default the rollouts' one)."""
    return run_stage(VerifyStage(env_factory), ctx)


#: Each stage's declaration (name, inputs, outputs, items, done items), in pipeline order.
STAGE_TYPES: dict[str, type[Stage[Any]]] = {
    "docs": DocsStage,
    "tasks": TasksStage,
    "verify": VerifyStage,
    "rollouts": RolloutsStage,
    "backward": BackwardStage,
    "committee": CommitteeStage,
}
#: Each stage run with its defaults (``stage_rollouts`` and ``stage_verify`` also take keyword options).
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
