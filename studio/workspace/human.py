"""Examples a person makes: a span of a recorded trajectory plus an instruction (the GUI's "trim and make").

A made example is an ordinary :class:`studio.records.Example` with ``origin="human"`` and ``author`` set:

* its id is ``h-`` + a fresh uuid, so no backward writer's deterministic id (``e-`` + a hash) ever maps onto
  it, and backward construction skips a span and kind that already has an example, so no model writes over it
  on a re-run;
* it is stored with an ``accept`` review by its author (the person vouches for the instruction), so its
  status is the person's (:mod:`studio.status`: a review wins). Judges may still vote on it when the committee
  runs; their votes are stored and shown and never change it.

Spans use the records' convention: ``start`` is the index of the first step, ``end`` the index of the last step
plus one (a slice).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from studio.errors import WorkspaceError
from studio.records import Example, Review, Trajectory

if TYPE_CHECKING:
    from studio.workspace.store import Workspace

#: Instructions shorter than this are refused (a person typing "ok" by mistake).
MIN_INSTRUCTION_CHARS = 3
MAX_INSTRUCTION_CHARS = 1600
KINDS = ("instruction", "replicate")


def made_example_id() -> str:
    """A fresh id for a made example (never one a model's re-run can produce)."""
    return "h-" + uuid.uuid4().hex[:16]


def check_made(instruction: str, author: str, kind: str) -> str:
    """The cleaned instruction; ``WorkspaceError`` saying what to fix when the example cannot be stored."""
    text = " ".join(instruction.split())
    if len(text) < MIN_INSTRUCTION_CHARS:
        raise WorkspaceError(
            "the example needs an instruction: type what the selected steps do (or ask for a suggestion)"
        )
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise WorkspaceError(
            f"the instruction is {len(text)} characters long; shorten it to {MAX_INSTRUCTION_CHARS} or fewer"
        )
    if not author.strip():
        raise WorkspaceError("a made example names its author: fill in the reviewer name")
    if kind not in KINDS:
        raise WorkspaceError(f"unknown example kind {kind!r}; use 'instruction' or 'replicate'")
    return text


def make_example(
    ws: Workspace,
    trajectory_id: str,
    start: int,
    end: int,
    instruction: str,
    author: str,
    *,
    kind: str = "instruction",
) -> tuple[Example, Review]:
    """Store an example a person made from steps ``[start, end)`` of a trajectory, and their accept review.

    Args:
        ws: The workspace, open for writing.
        trajectory_id: The trajectory the span is cut from.
        start: Index of the span's first step.
        end: Index of its last step plus one.
        instruction: What the steps do, in the person's words (or a suggestion they kept).
        author: Who made it (stored on the example and its review).
        kind: ``instruction`` (a task) or ``replicate`` (a step-by-step summary).

    Returns:
        The stored example and review.

    Raises:
        WorkspaceError: read-only workspace, no such trajectory, a span outside its recorded steps, an empty or
            over-long instruction, no author, an unknown kind.
    """
    ws.check_writable()
    text = check_made(instruction, author, kind)
    found = ws.list(Trajectory, id=trajectory_id, limit=1)
    if not found:
        raise WorkspaceError(f"no trajectory {trajectory_id!r} in {ws.path}; pick one from the Trajectories list")
    traj = found[0]
    indices = sorted(s.index for s in ws.steps_of(trajectory_id))
    if not indices:
        raise WorkspaceError(f"trajectory {trajectory_id} has no recorded steps to make an example from")
    if start >= end:
        raise WorkspaceError(f"the span {start}:{end} is empty; select at least one step")
    if start < indices[0] or end - 1 > indices[-1]:
        raise WorkspaceError(
            f"the span {start}:{end} is outside the recorded steps {indices[0]}..{indices[-1]} of {trajectory_id}; "
            "select steps on the filmstrip (the final screen is not a step)"
        )
    example = Example(
        id=made_example_id(),
        trajectory_id=trajectory_id,
        start=start,
        end=end,
        step_indices=[i for i in indices if start <= i < end],
        instruction=text,
        kind=kind,  # type: ignore[arg-type]  # checked by check_made
        app=traj.app,
        prompt_version="human",
        origin="human",
        author=author.strip(),
    )
    review = Review(example_id=example.id, decision="accept", who=author.strip())
    ws.add_examples([example])  # first the example: a kill in between leaves it pending, never a lone review
    ws.add_review(review)
    return example, review
