"""Which examples an export takes, and the conversation rows built from them (format-neutral).

Per-step rows (``granularity="step"``, the paper's training layout: one action-prediction pair per step) use
exactly the prompt the actor sees at inference (:func:`studio.pipeline.agent.policies.actor_prompt`): the task
instruction, the previous REASON/ACTIONs of the span, and the current screen; the target is
``"REASON: ...\\nACTION: <pyautogui code>"``, the answer format the actor is parsed with.

The *current screen* of step k is the screen its action was chosen on, which is the observation stored with the
step itself (:class:`studio.pipeline.rollout.StepEvent` records the pre-action observation, as OSWorld does).

Per-example rows (``granularity="example"``) ask for the whole span at once: the instruction and the screen before
the span -> every step's REASON/ACTION in one assistant turn.

Rows are produced in a stable order (trajectory id, span, kind, example id, step), with stable ids, so two exports
with the same settings write the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.errors import ConfigError
from studio.export.split import SPLITS, parse_fractions, split_of
from studio.status import ACCEPTED

FORMATS: tuple[str, ...] = ("openai", "sharegpt", "hf", "llamafactory", "trl")
GRANULARITIES: tuple[str, ...] = ("step", "example")
OBSERVATIONS: tuple[str, ...] = ("a11y", "screenshot", "both")
#: ``--status`` names -> example statuses (the rule is :mod:`studio.status`). A person's decision
#: wins: ``accepted`` takes committee-accepted examples nobody rejected, plus examples a person accepted.
STATUS_SETS: dict[str, frozenset[str] | None] = {
    "accepted": ACCEPTED,
    "committee": frozenset({"accepted"}),
    "reviewed": frozenset({"overridden-accept"}),
    "disputed": frozenset({"disputed"}),
    "rejected": frozenset({"rejected", "overridden-reject"}),
    "pending": frozenset({"pending"}),
    "all": None,
}
SCREENSHOT_ONLY = "(not included: read the screen from the attached screenshot)"
EXAMPLE_PROMPT = (
    "You are an agent operating a Linux desktop application through mouse and keyboard.\n"
    "Screen size: {width}x{height} pixels. Coordinates are screen pixels.\n\n"
    "Task: {instruction}\n\n"
    "Current accessibility table of the screen (id, role, name, text, position (x, y), size (w, h)):\n"
    "{observation}\n\n"
    "Complete the task. For every step answer 'REASON: ...' then 'ACTION: <one line of pyautogui code>'."
)


@dataclass(frozen=True)
class ExportOptions:
    """Everything that decides an export's content (the same options -> the same bytes).

    Attributes:
        format: One of :data:`FORMATS`.
        granularity: ``step`` (one row per step) or ``example`` (one row per example).
        observation: ``a11y`` (text table), ``screenshot`` (PNG image) or ``both``.
        status: Names from :data:`STATUS_SETS` (union).
        kinds: Example kinds to keep (``instruction``, ``replicate``); empty keeps all.
        apps: Apps to keep; empty keeps all.
        min_span: Fewest steps in an example's span.
        max_span: Most steps in an example's span (None: no limit).
        quorum: Judge quorum for the status (``all``, ``majority``, N; None: the workspace's setting).
        task_status: Check statuses of the trajectory's task to keep (``proven``, ``verified``, ``unverified``,
            ``pending``); empty keeps all.
        min_score: Keep only examples whose trajectory's check scored at least this (unscored runs are
            dropped); None keeps all.
        split: Train/validation/test fractions.
        seed: Seed of the split.
        redact: Also remove e-mail addresses and opaque tokens (keys and local paths always go).
        name: Dataset name (LLaMA-Factory entries, card title).
    """

    format: str = "hf"
    granularity: str = "step"
    observation: str = "a11y"
    status: tuple[str, ...] = ("accepted",)
    kinds: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    min_span: int = 1
    max_span: int | None = None
    quorum: str | int | None = None
    task_status: tuple[str, ...] = ()
    min_score: float | None = None
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    redact: bool = True
    name: str = "studio"

    def validate(self) -> ExportOptions:
        """Return a normalized copy; ``ConfigError`` naming the bad option otherwise."""
        for value, allowed, opt in (
            (self.format, FORMATS, "--format"),
            (self.granularity, GRANULARITIES, "--granularity"),
            (self.observation, OBSERVATIONS, "--observation"),
        ):
            if value not in allowed:
                raise ConfigError(f"{opt} {value!r} is not one of {', '.join(allowed)}")
        bad = [s for s in self.status if s not in STATUS_SETS]
        if bad or not self.status:
            raise ConfigError(f"--status {bad or '(none)'} must be some of {', '.join(STATUS_SETS)}")
        from studio.records import CHECK_STATUSES

        bad = [s for s in self.task_status if s not in CHECK_STATUSES]
        if bad:
            raise ConfigError(f"--task-status {bad} must be some of {', '.join(CHECK_STATUSES)}")
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise ConfigError(f"--min-score {self.min_score} must be between 0 and 1")
        if self.min_span < 1 or (self.max_span is not None and self.max_span < self.min_span):
            raise ConfigError(f"span limits {self.min_span}..{self.max_span} are empty; use 1 <= min <= max")
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", self.name):
            raise ConfigError(f"dataset name {self.name!r} may hold only letters, digits, '_', '-' and '.'")
        quorum: str | int | None = self.quorum
        if isinstance(quorum, str) and quorum.isdigit():
            quorum = int(quorum)
        if quorum is not None:
            from studio.status import check_quorum

            check_quorum(quorum)
        from dataclasses import replace

        return replace(
            self,
            status=tuple(sorted(set(self.status))),
            kinds=tuple(sorted(set(self.kinds))),
            apps=tuple(sorted(set(self.apps))),
            task_status=tuple(sorted(set(self.task_status))),
            split=parse_fractions(self.split),
            quorum=quorum,
        )

    @property
    def images(self) -> bool:
        return self.observation in ("screenshot", "both")

    def filters(self) -> dict[str, Any]:
        """The filters, as recorded in the dataset card."""
        return {
            "status": list(self.status),
            "kinds": list(self.kinds) or "all",
            "apps": list(self.apps) or "all",
            "span": [self.min_span, self.max_span],
            "quorum": self.quorum if self.quorum is not None else "workspace default",
        }


@dataclass
class Message:
    """One turn: ``images`` screenshots follow the text (the order the actor sends them in)."""

    role: str
    text: str
    images: int = 0


@dataclass
class Row:
    """One training conversation, before it is written in a format. ``images`` are blob digests, in order."""

    id: str
    example_id: str
    trajectory_id: str
    step: int  # -1 for per-example rows
    split: str
    messages: list[Message]
    images: list[str] = field(default_factory=list)
    app: str = ""
    kind: str = ""
    created: float = 0.0


@dataclass
class Selected:
    """An example that passed the filters, with its status and the instruction to train on."""

    example: Any  # studio.workspace.Example
    status: str
    instruction: str
    split: str


def select(ws: Any, opts: ExportOptions) -> list[Selected]:
    """Examples that pass the filters, in export order. A person's ``edit`` review replaces the instruction."""
    from studio.workspace import Example

    statuses = ws.example_statuses(opts.quorum)
    wanted: set[str] = set()
    everything = False
    for name in opts.status:
        allowed = STATUS_SETS[name]
        if allowed is None:
            everything = True
        else:
            wanted |= allowed
    edits = ws.edited_instructions()
    checked = _check_filter(ws, opts)
    out = []
    for ex in ws.list(Example, limit=None):
        status = statuses.get(ex.id, "pending")
        if not everything and status not in wanted:
            continue
        if checked is not None and ex.trajectory_id not in checked:
            continue
        if (opts.kinds and ex.kind not in opts.kinds) or (opts.apps and ex.app not in opts.apps):
            continue
        span = len(ex.step_indices) or (ex.end - ex.start)
        if span < opts.min_span or (opts.max_span is not None and span > opts.max_span):
            continue
        instruction = edits.get(ex.id) or ex.instruction
        out.append(Selected(ex, status, instruction, split_of(ex.trajectory_id, opts.split, opts.seed)))
    out.sort(key=lambda s: (s.example.trajectory_id, s.example.start, s.example.end, s.example.kind, s.example.id))
    return out


def _check_filter(ws: Any, opts: ExportOptions) -> set[str] | None:
    """Trajectory ids that pass ``task_status`` and ``min_score`` (None when neither filter is set)."""
    if not opts.task_status and opts.min_score is None:
        return None
    task_status = {r["id"]: r["check_status"] for r in ws.columns("tasks", ["id", "check_status"])}
    keep = set()
    for t in ws.columns("trajectories", ["id", "task_id", "score"]):
        if opts.task_status and task_status.get(t["task_id"]) not in opts.task_status:
            continue
        if opts.min_score is not None and (t["score"] is None or t["score"] < opts.min_score):
            continue
        keep.add(t["id"])
    return keep


def _target(step: Any, clean: Callable[[str], str]) -> str:
    reason = clean(" ".join((step.reason or "").split()))
    return f"REASON: {reason}\nACTION: {clean(step.action_code.strip())}"


def _observation(screen: Any, opts: ExportOptions, clean: Callable[[str], str]) -> tuple[str, list[str]]:
    text = clean(screen.observation_text) if opts.observation in ("a11y", "both") else SCREENSHOT_ONLY
    images = [screen.screenshot] if opts.images and screen.screenshot else []
    return text, images


def rows_for(
    sel: Selected, steps: Sequence[Any], opts: ExportOptions, clean: Callable[[str], str]
) -> list[Row]:
    """The rows of one selected example. ``steps``: every stored step of its trajectory; ``clean``: redactor."""
    from studio.pipeline.agent.policies import HistoryItem, actor_prompt
    from studio.pipeline.prompts import render
    from studio.pipeline.stages.backward import span_view

    ex = sel.example
    ordered = sorted(steps, key=lambda s: (s.index, s.created))
    span, _after = span_view(ordered, ex.start, ex.end, ex.step_indices or None)
    span = [s for s in span if s.action_code.strip()]
    if not span:
        return []
    base = {"example_id": ex.id, "trajectory_id": ex.trajectory_id, "split": sel.split, "app": ex.app,
            "kind": ex.kind, "created": ex.created}
    if opts.granularity == "example":
        screen = span[0]  # a step holds the screen its action was chosen on
        text, images = _observation(screen, opts, clean)
        prompt = render(EXAMPLE_PROMPT, width=screen.width, height=screen.height,
                        instruction=clean(sel.instruction), observation=text)
        answer = "\n\n".join(_target(s, clean) for s in span)
        msgs = [Message("user", prompt, len(images)), Message("assistant", answer)]
        return [Row(id=ex.id, step=-1, messages=msgs, images=images, **base)]
    rows = []
    history: list[Any] = []
    instruction = clean(sel.instruction)
    for step in span:
        text, images = _observation(step, opts, clean)  # a step holds the screen its action was chosen on
        prompt = actor_prompt(instruction, step.width, step.height, text, list(history))
        msgs = [Message("user", prompt, len(images)), Message("assistant", _target(step, clean))]
        rows.append(Row(id=f"{ex.id}-{step.index:04d}", step=step.index, messages=msgs, images=images, **base))
        history.append(HistoryItem(clean(step.reason), clean(step.action_code), clean(step.error)))
    return rows


def iter_rows(
    ws: Any, selected: Sequence[Selected], opts: ExportOptions, clean: Callable[[str], str], *, batch: int = 200
) -> Iterator[tuple[int, list[Row]]]:
    """``(examples done, rows of the next example)`` for every selected example.

    ``clean`` is applied to every piece of text taken from the workspace (instruction, screens, reasons, actions);
    it is memoized here, since overlapping examples repeat the same screens. Steps are read for ``batch``
    trajectories per query.
    """
    from functools import lru_cache

    from studio.workspace import Step

    cached = lru_cache(maxsize=8192)(clean)
    tids = list(dict.fromkeys(s.example.trajectory_id for s in selected))
    position = {t: i for i, t in enumerate(tids)}
    steps: dict[str, list[Any]] = {}
    for n, sel in enumerate(selected, start=1):
        tid = sel.example.trajectory_id
        if tid not in steps:
            steps.clear()
            chunk = tids[position[tid]:position[tid] + batch]
            for st in ws.list(Step, trajectory_id=chunk, limit=None):
                steps.setdefault(st.trajectory_id, []).append(st)
            for c in chunk:
                steps.setdefault(c, [])
        yield n, rows_for(sel, steps[tid], opts, cached)


__all__ = [
    "EXAMPLE_PROMPT",
    "FORMATS",
    "GRANULARITIES",
    "OBSERVATIONS",
    "SPLITS",
    "STATUS_SETS",
    "ExportOptions",
    "Message",
    "Row",
    "Selected",
    "iter_rows",
    "rows_for",
    "select",
]
