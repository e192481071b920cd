"""Typed records stored in the workspace, one class per LanceDB table.

Records are pydantic models (``extra="forbid"``). Ids are uuid4 hex unless the producer supplies a
deterministic id (backward construction and the committee do, so a re-run maps to the same rows).
Times are Unix seconds
(``float``). Fields typed ``dict``/``list`` are stored as JSON text; :func:`arrow_schema` derives each table's
Arrow schema from the model, so the two never drift apart.
"""

from __future__ import annotations

import json
import time
import types
import typing
import uuid
from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field


def new_id() -> str:
    """A fresh uuid4 hex id."""
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


class Record(BaseModel):
    """Base of every stored row. ``table`` names the LanceDB table."""

    model_config = ConfigDict(extra="forbid")
    table: ClassVar[str] = ""

    id: str = Field(default_factory=new_id)

    def to_row(self) -> dict[str, Any]:
        """The row as stored: JSON fields serialized to text."""
        row = self.model_dump()
        for name in json_fields(type(self)):
            row[name] = json.dumps(row[name], ensure_ascii=False, separators=(",", ":"))
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Record:
        """Build the record from a stored row (ignores LanceDB's ``_score``/``_distance`` columns)."""
        data = {k: v for k, v in row.items() if k in cls.model_fields}
        for name in json_fields(cls):
            if isinstance(data.get(name), str):
                data[name] = (
                    json.loads(data[name])
                    if data[name]
                    else cls.model_fields[name].get_default(call_default_factory=True)
                )
        return cls.model_validate(data)


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


class Task(Record):
    """A task instruction and where it came from."""

    table: ClassVar[str] = "tasks"
    instruction: str
    app: str = ""
    origin: Literal["self-instruct", "file", "backward"] = "self-instruct"
    document_id: str = ""
    section: str = ""
    created: float = Field(default_factory=now)


class Trajectory(Record):
    """One rollout. ``status`` is the lifecycle; ``outcome`` how the episode ended (done, fail, max_steps).

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
    status: Literal["running", "done", "failed", "interrupted"] = "running"
    outcome: str = ""
    score: float | None = None
    n_steps: int = 0
    error: str = ""
    started: float = Field(default_factory=now)
    finished: float | None = None
    final_observation: str | None = None
    final_screenshot: str | None = None


class Step(Record):
    """One finished step of a trajectory. Field names follow ``studio.pipeline.rollout.StepEvent``.

    ``reason`` is the model's thought, ``actions`` the typed actions (``envs.actions.action_to_dict``),
    ``action_code`` the same as a pyautogui string, ``screenshot`` the blob hash
    (see ``Workspace.screenshot``).
    """

    table: ClassVar[str] = "steps"
    trajectory_id: str
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


class Example(Record):
    """An instruction written backward for the span ``steps[start:end]`` (``end`` exclusive)."""

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
    """One model call (mirrors ``studio.llm.ledger.LedgerRecord``)."""

    table: ClassVar[str] = "ledger"
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
TABLES: dict[str, type[Record]] = {cls.table: cls for cls in RECORD_TYPES}


def _arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """(arrow type, is_json) for a field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _arrow_type(args[0])
    if origin is Literal:
        return pa.string(), False
    if origin in (list, dict) or annotation in (list, dict):
        return pa.string(), True
    mapping = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    if annotation in mapping:
        return mapping[annotation], False
    raise TypeError(f"no arrow type for {annotation!r}")


def json_fields(cls: type[Record]) -> tuple[str, ...]:
    return tuple(n for n, f in cls.model_fields.items() if _arrow_type(f.annotation)[1])


def arrow_schema(cls: type[Record]) -> pa.Schema:
    """The table schema of a record type (every column nullable, as LanceDB appends expect)."""
    return pa.schema([pa.field(n, _arrow_type(f.annotation)[0]) for n, f in cls.model_fields.items()])


def vector_schema(dim: int) -> pa.Schema:
    """Schema of the ``example_vectors`` table: the example's columns plus its embedding."""
    return arrow_schema(Example).append(pa.field("vector", pa.list_(pa.float32(), dim)))
