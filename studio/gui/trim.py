"""Trim and make, without Qt: a span selected on a trajectory's filmstrip, and the backward writer's suggestion
of an instruction for it. Storing the example is :func:`studio.workspace.human.make_example`.

The widgets that use these are in :mod:`studio.gui.qt_trim`; everything here may block on the workspace or a
model, so the GUI calls it through its worker helper.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from studio.errors import ModelError, WorkspaceError

if TYPE_CHECKING:
    from studio.gui.data import StepRow
    from studio.pipeline.prompts import StructuredModel
    from studio.workspace import Workspace


def span_of(steps: Sequence[StepRow], rows: Sequence[int]) -> tuple[int, int]:
    """The span ``(start, end)`` (step indices, end exclusive) covered by filmstrip ``rows``.

    The span runs from the first selected row to the last (a person shift-clicks its two ends); the final
    screen after the last action is not a step and cannot be part of it.

    Raises:
        WorkspaceError: nothing selected, or only the final screen.
    """
    chosen = sorted({r for r in rows if 0 <= r < len(steps)})
    real = [r for r in chosen if not steps[r].final]
    if not real:
        raise WorkspaceError(
            "select the steps of the example on the filmstrip first (click the first, shift-click the last)"
        )
    return steps[real[0]].index, steps[real[-1]].index + 1


def backward_model(ws: Workspace) -> StructuredModel:
    """The workspace's ``backward_writer`` role, with its cache and ledger (its calls show up in the costs)."""
    from studio.llm import ModelClient
    from studio.pipeline.prompts import bind_model

    client = ModelClient.for_workspace(ws.path)
    return bind_model(client, "backward_writer", ws.config.roles.backward_writer, "backward")


def suggest_instruction(
    ws: Workspace,
    trajectory_id: str,
    start: int,
    end: int,
    kind: str = "instruction",
    *,
    model: StructuredModel | None = None,
) -> str:
    """Ask the backward writer for an instruction that steps ``[start, end)`` complete, as the pipeline would.

    The span is rendered exactly as backward construction renders it (the first screen, each action and what
    it changed, the screen after); the reply is cleaned and checked the same way.

    Raises:
        WorkspaceError: no such trajectory or no steps in the span.
        ModelError: the model failed or its reply was unusable (the message says so; type the instruction).
    """
    from studio.pipeline.stages.backward import ask_backward, render_trajectory, span_view
    from studio.records import Trajectory

    traj = ws.get(Trajectory, trajectory_id)
    steps: list[Any] = ws.steps_of(trajectory_id)
    span, after = span_view(steps, start, end, final_observation=traj.final_observation)
    if not span:
        raise WorkspaceError(
            f"steps {start}..{end - 1} of {trajectory_id} hold no usable action (errors, DONE/FAIL or repeats); "
            "select other steps or type the instruction yourself"
        )
    answer = ask_backward(model or backward_model(ws), kind, render_trajectory(span, after), len(span), traj.app)
    if answer.error:
        raise ModelError(f"the backward writer's suggestion was unusable ({answer.error}); type the instruction")
    return answer.instruction
