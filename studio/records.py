"""One record type per concept, shared by every layer: pipeline, workspace, GUI, export.

=============  ==================================================================================
record         concept
=============  ==================================================================================
Document       a documentation chunk (one section of a man page, help page, Markdown file...)
Task           a task instruction and where it came from
Trajectory     one rollout: its lifecycle ``status`` and how the episode ended (``outcome``)
Step           one finished step of a rollout (the screen *before* its action, the action, the thought)
Example        an instruction for a span of a trajectory, written backward by a model or made by a person
Verdict        one judge's vote on one criterion of one example (``vote=None``: the judge abstained)
Review         a person's decision on an example (accept / reject / edit)
LedgerEntry    one model call's cost (the ledger row)
=============  ==================================================================================

Records are frozen pydantic models (``extra="forbid"``): build a changed copy with ``model_copy(update=...)``.
Ids are uuid4 hex unless the producer supplies a deterministic id (backward construction and the committee do,
so a re-run maps to the same rows). Times are Unix seconds (``float``). How they are stored (LanceDB tables,
JSON columns, Arrow schemas) is the workspace's business: :mod:`studio.workspace.schema`. The rule that turns
verdicts and reviews into an example's status is :mod:`studio.status`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: A trajectory's lifecycle (``Trajectory.status``): ``running`` until it ends; ``done`` when the episode ran
#: to an end of its own (DONE, FAIL, the step limit, a loop: see ``Trajectory.outcome``); ``failed`` when the
#: environment or the agent broke (outcome ``error``); ``interrupted`` when it was stopped or its writer died.
TrajectoryStatus = Literal["running", "done", "failed", "interrupted"]
#: Statuses of a trajectory that ended (backward construction reads their steps; rollouts do not re-run them).
FINISHED: tuple[str, ...] = ("done", "failed")


def new_id() -> str:
    """A fresh uuid4 hex id."""
    return uuid.uuid4().hex


def now() -> float:
    """The current time in Unix seconds."""
    return time.time()


class Record(BaseModel):
    """Base of every record. ``table`` names the workspace table that stores it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    table: ClassVar[str] = ""

    id: str = Field(default_factory=new_id)


class Document(Record):
    """A documentation chunk (one section of a man page, help page, Markdown file...)."""

    table: ClassVar[str] = "documents"
    source: str
    section: str = ""
    title: str = ""
    text: str = ""
    app: str = ""
    format: str = "text"
    created: float = Field(default_factory=now)


#: A task's check status: ``proven`` (set up in a sandbox, no-op 0.0, its solution 1.0), ``verified`` (set up,
#: the evaluator ran, no-op 0.0), ``unverified`` (no check, or it failed validation: ``check_reason`` says why),
#: ``pending`` (it has a check that was not validated yet). See ``studio.pipeline.stages.task_check``.
CheckStatus = Literal["proven", "verified", "unverified", "pending"]
CHECK_STATUSES: tuple[str, ...] = ("proven", "verified", "unverified", "pending")
#: Who wrote an example's instruction: the backward writer (a model) or a person who trimmed a trajectory.
ExampleOrigin = Literal["backward", "human"]


class Task(Record):
    """A task instruction, where it came from, and its executable check.

    ``check`` holds the OSWorld parts that make the task checkable: ``{"config": [...], "evaluator": {...},
    "solution": ["pyautogui...", ...]}`` (empty for a bare instruction); imported tasks also keep
    ``"files": "<dir relative to the workspace>"`` (their copied input files). ``check_info`` records the
    validation: ``noop_score``, ``solution_score``, ``sandbox_s``, ``validated`` (Unix time).
    """

    table: ClassVar[str] = "tasks"
    instruction: str
    app: str = ""
    origin: Literal["self-instruct", "file", "backward", "imported"] = "self-instruct"
    document_id: str = ""
    section: str = ""
    created: float = Field(default_factory=now)
    check: dict[str, Any] = Field(default_factory=dict)
    check_status: CheckStatus = "unverified"
    check_reason: str = "no check"
    check_info: dict[str, Any] = Field(default_factory=dict)


class Trajectory(Record):
    """One rollout. ``status`` is the lifecycle (:data:`TrajectoryStatus`); ``outcome`` how the episode ended
    (``done``, ``fail``, ``max_steps``, ``loop``, ``stopped``, ``error``: ``EpisodeResult.status``).

    Each step holds the screen *before* its action, so the screen *after* the last action is stored here when
    the rollout finishes: ``final_observation`` (the a11y table) and ``final_screenshot`` (a blob hash, see
    ``Workspace.screenshot``). Both are None when it is unknown: trajectories written before schema 2, runs
    that were killed or whose env could not be observed at the end.
    """

    table: ClassVar[str] = "trajectories"
    task_id: str = ""
    instruction: str = ""
    app: str = ""
    sandbox: dict[str, Any] = Field(default_factory=dict)  # {"w":..., "h":..., "apps": [...]}
    model: str = ""
    policy: str = "model"
    status: TrajectoryStatus = "running"
    outcome: str = ""
    score: float | None = None
    n_steps: int = 0
    error: str = ""
    started: float = Field(default_factory=now)
    finished: float | None = None
    final_observation: str | None = None
    final_screenshot: str | None = None


class Step(Record):
    """One finished step of a trajectory (``trajectory_id`` is "" for a step not yet stored).

    ``reason`` is the model's thought, ``actions`` the typed actions (``envs.actions.action_to_dict``),
    ``action_code`` the same as a pyautogui string, ``screenshot`` the blob hash
    (see ``Workspace.screenshot``). ``changes`` is what the action changed on the screen
    (``envs.changes.Change.to_dict()`` dicts, computed from the screens before and after it); None for steps
    written before schema 3 (readers compute it from the observations, see
    ``studio.pipeline.stages.backward.step_changes``).
    """

    table: ClassVar[str] = "steps"
    trajectory_id: str = ""
    index: int
    observation_text: str = ""
    screenshot: str = ""
    width: int = 0
    height: int = 0
    reason: str = ""
    actions: list[dict[str, Any]] = Field(default_factory=list)
    action_code: str = ""
    timings: dict[str, float] = Field(default_factory=dict)
    usage: dict[str, Any] = Field(default_factory=dict)
    raw: str = ""
    error: str = ""
    created: float = Field(default_factory=now)
    changes: list[dict[str, Any]] | None = None


class Example(Record):
    """An instruction written backward for a span of a trajectory (judged or not yet).

    ``start`` is the original index of the span's first step, ``end`` that of its last step plus one (end
    exclusive, like a slice); ``step_indices`` are the steps shown to the model (after duplicate dropping);
    ``kind="replicate"`` instructions read "Replicate the following: 1) ... 2) ...". ``raw`` keeps the model's
    reply text.

    ``origin`` is ``"backward"`` for the backward writer's examples and ``"human"`` for one a person made by
    trimming a trajectory (``author`` names them; ids start with ``h-``, so no model's re-run maps onto it and
    backward construction skips its span and kind). See :mod:`studio.workspace.human`.
    """

    table: ClassVar[str] = "examples"
    trajectory_id: str
    start: int
    end: int
    step_indices: list[int] = Field(default_factory=list)
    instruction: str
    kind: Literal["instruction", "replicate"] = "instruction"
    prompt_version: str = ""
    app: str = ""
    raw: str = ""
    created: float = Field(default_factory=now)
    origin: ExampleOrigin = "backward"
    author: str = ""


class Verdict(Record):
    """One judge's vote on one criterion of one example; ``vote=None`` is an abstention (see ``error``)."""

    table: ClassVar[str] = "verdicts"
    example_id: str
    judge: str
    criterion: Literal["aligned", "coherent", "natural", "reasonable"]
    vote: bool | None
    rationale: str = ""
    raw: str = ""
    prompt_version: str = ""
    error: str = ""
    created: float = Field(default_factory=now)


class Review(Record):
    """A person's decision on an example; the latest review wins over the committee."""

    table: ClassVar[str] = "reviews"
    example_id: str
    decision: Literal["accept", "reject", "edit"]
    edited_instruction: str = ""
    who: str = ""
    when: float = Field(default_factory=now)


class LedgerEntry(Record):
    """One model call (cache hits and failed calls included). ``cost`` is in USD from litellm's cost map (0 for
    local models and cache hits); ``error`` is "" for a call that succeeded.

    Stored as one JSON line per call in the workspace's ``ledger.jsonl`` (``studio.llm.ledger.JsonlLedger``,
    shared by every process), not in a LanceDB table: ``table`` is empty."""

    table: ClassVar[str] = ""
    time: float = Field(default_factory=now)
    stage: str = ""
    role: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    cache_hit: bool = False
    error: str = ""
    kind: str = "chat"

    @field_validator("error", mode="before")
    @classmethod
    def _no_error(cls, value: Any) -> Any:
        return "" if value is None else value


#: Every record type, in pipeline order.
RECORD_TYPES: tuple[type[Record], ...] = (
    Document,
    Task,
    Trajectory,
    Step,
    Example,
    Verdict,
    Review,
    LedgerEntry,
)
