"""The stages that make examples from trajectories and judge them: ``backward`` and ``committee``.

Declared as :class:`~studio.pipeline.stage.Stage` subclasses (inputs, outputs, items, done items); run them
with :func:`studio.pipeline.stage.run_stage` or through :mod:`studio.pipeline.run`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from studio.pipeline.stage import ItemResult, RunContext, Stage, StageSummary
from studio.records import FINISHED

if TYPE_CHECKING:
    from studio.records import Example, Trajectory
    from studio.workspace import Workspace


# -------------------------------------------------------------------------------------------- backward


class BackwardStage(Stage["Trajectory"]):
    """Backward construction over every finished trajectory with steps; spans already in the workspace are
    skipped inside each trajectory (by span and kind)."""

    name = "backward"
    inputs = ("trajectories", "steps")
    outputs = ("examples",)

    def items(self, ctx: RunContext) -> list[Trajectory]:
        from studio.workspace import Trajectory

        return [t for t in ctx.ws.list(Trajectory, limit=None) if t.status in FINISHED and t.n_steps > 0]

    def process(self, ctx: RunContext, todo: Sequence[Trajectory]) -> Iterable[ItemResult]:
        from studio.pipeline.prompts import bind_model

        model = bind_model(ctx.client, "backward_writer", ctx.cfg.roles.backward_writer, "backward")
        for traj in todo:
            yield self._construct(ctx, model, traj)

    def _construct(self, ctx: RunContext, model: Any, traj: Trajectory) -> ItemResult:
        from studio.pipeline.stages.backward import construct_examples
        from studio.pipeline.stages.task_check import passed_example
        from studio.workspace import Example

        steps = ctx.ws.steps_of(traj.id)
        have = ctx.ws.list(Example, limit=None, trajectory_id=traj.id)
        skip: set[tuple[int, int, str]] = {(e.start, e.end, e.kind) for e in have}
        result = construct_examples(
            traj.id,
            steps,
            model,
            app=traj.app,
            policy=ctx.cfg.pipeline.spans,
            final_observation=traj.final_observation,
            skip=skip,
        )
        new = list(result.examples)
        passed = passed_example(traj, len(steps))  # a full run its check scored 1.0: the original instruction
        if passed is not None and passed.id not in {e.id for e in have}:
            new.append(passed)
        if new:
            ctx.ws.add_examples(new)
        notes = [f"{traj.id[:8]} [{f.start}:{f.end}] {f.kind}: {f.error}" for f in result.failures[:2]]
        return ItemResult(len(new), len(have), len(result.failures), notes, f"{len(new)} examples")


# ------------------------------------------------------------------------------------------- committee


class CommitteeStage(Stage["Example"]):
    """Every judge votes on every example (four criteria); an example every judge voted on is done, and judges
    that already voted on a partly judged one are not asked again."""

    name = "committee"
    inputs = ("examples", "steps", "trajectories", "tasks")
    outputs = ("verdicts",)

    def __init__(self) -> None:
        self.accepted = 0

    def items(self, ctx: RunContext) -> list[Example]:
        from studio.workspace import Example

        return ctx.ws.list(Example, limit=None)

    def done_keys(self, ctx: RunContext) -> set[str]:
        from studio.config import judge_labels

        labels = set(judge_labels(ctx.cfg.roles.judges))
        if not labels:
            return {r["id"] for r in ctx.ws.columns("examples", ["id"])}
        voted: dict[str, set[str]] = {}
        for r in ctx.ws.columns("verdicts", ["example_id", "judge"]):
            voted.setdefault(r["example_id"], set()).add(r["judge"])
        return {example_id for example_id, judges in voted.items() if judges >= labels}

    def process(self, ctx: RunContext, todo: Sequence[Example]) -> Iterable[ItemResult]:
        from studio.config import judge_labels
        from studio.pipeline.stages.committee import judge_example
        from studio.pipeline.stages.judges import distractor_pool, make_judge
        from studio.pipeline.stages.task_check import check_note
        from studio.workspace import Task, Trajectory

        cfg = ctx.cfg
        specs = cfg.roles.judges
        labels = judge_labels(specs)
        judges = [(label, make_judge(spec, ctx.client)) for label, spec in zip(labels, specs, strict=True)]
        advisory = cfg.advisory_judges()
        task_instructions = [(t.app, t.instruction) for t in ctx.ws.list(Task, limit=None)]
        own_instruction: dict[str, str] = {}
        # the current trajectory's steps, final screen and what its check said
        steps_cache: dict[str, tuple[list[Any], str | None, str]] = {}
        for ex in todo:
            prior = ctx.ws.verdicts_of(ex.id)
            if ex.trajectory_id not in steps_cache:
                final, score = _final_observation(ctx.ws, ex)
                steps_cache = {ex.trajectory_id: (ctx.ws.steps_of(ex.trajectory_id), final, check_note(score))}
            steps, final, note = steps_cache[ex.trajectory_id]
            if ex.trajectory_id not in own_instruction:
                traj = ctx.ws.list(Trajectory, id=ex.trajectory_id, limit=1)
                own_instruction[ex.trajectory_id] = traj[0].instruction if traj else ""
            pool = distractor_pool(ex.app, own_instruction[ex.trajectory_id], task_instructions)
            decision = judge_example(
                ex,
                steps,
                judges,
                quorum=cfg.pipeline.quorum,
                final_observation=final,
                prior=prior,
                check=note,
                distractors=pool,
                advisory=advisory,
            )
            if decision.verdicts:
                ctx.ws.add_verdicts(decision.verdicts)
            self.accepted += int(decision.accepted)
            abstained = len({v.judge for v in decision.verdicts if v.vote is None})
            yield ItemResult(done=1, failed=abstained, detail=decision.status)

    def finish(self, ctx: RunContext, summary: StageSummary) -> None:
        quorum = ctx.cfg.pipeline.quorum
        summary.notes.append(f"{self.accepted} of {summary.done} newly judged examples accepted (quorum {quorum})")


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
