"""Which examples an export takes, and the conversation rows built from them (format-neutral).

Per-step rows (``granularity="step"``, the paper's training layout: one action-prediction pair per step) use
exactly the prompt the actor sees at inference (:func:`studio.pipeline.agent.policies.actor_prompt`): the task
instruction, the previous REASON/ACTIONs of the span, and the current screen; the target is
``"REASON: ...\\nACTION: <pyautogui code>"``, the answer format the actor is parsed with.

The *current screen* of step k is the screen its action was chosen on, which is the observation stored with the
step itself (:class:`studio.pipeline.rollout.StepEvent` records the pre-action observation, as OSWorld does).

With ``examples=N`` a per-step prompt also holds up to N worked examples, exactly as the retrieval-augmented
actor sees them at inference (found by the step's observation in the workspace's retrieval index, never from
the row's own trajectory, laid out by :func:`studio.pipeline.retrieval.render.pack_examples` within
``[retrieval] budget_tokens``): the training layout and the inference layout are one.

Per-example rows (``granularity="example"``) ask for the whole span at once: the instruction and the screen before
the span -> every step's REASON/ACTION in one assistant turn.

That is the ``pyautogui`` layout (``action_space="pyautogui"``, the default of :class:`ExportOptions`). With
``action_space="elements"`` rows are the element actor's turns instead (numbered element listing -> one JSON
reply, :mod:`studio.export.elements`); ``auto`` (the default of ``studio export``) is what the workspace's actor
acts with.

Rows are produced in a stable order (trajectory id, span, kind, example id, step), with stable ids, so two exports
with the same settings write the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.errors import ConfigError
from studio.export.elements import ACTION_SPACE_CHOICES
from studio.export.split import SPLITS, parse_fractions, split_of
from studio.status import ACCEPTED

FORMATS: tuple[str, ...] = ("openai", "sharegpt", "hf", "llamafactory", "trl", "ms-swift", "adp")
#: Formats that hold whole trajectories: their rows are always per example.
TRAJECTORY_FORMATS: frozenset[str] = frozenset({"adp"})
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
EXAMPLE_ANSWER_MARK = "Complete the task."


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
        preset: A model family's conventions (:data:`studio.export.conventions.PRESETS`); None: OSWorld's.
        coords: Coordinate convention (``pixels``, ``0-1``, ``0-1000``, ``resized``); None: the preset's.
        action_syntax: ``pyautogui``, ``computer_13``, ``uitars`` or ``smol``; None: the preset's.
        max_pixels: ``resized`` coordinates: the processor's ``max_pixels``; None: the preset's.
        min_pixels: ``resized`` coordinates: the processor's ``min_pixels``; None: the preset's.
        examples: Retrieved examples in each per-step prompt (0: none); needs the workspace's retrieval index
            and the default conventions (examples are stored as recorded: pyautogui, pixels).
        action_space: The layout of the rows: ``pyautogui`` (the ``actor.v1`` prompt, REASON/ACTION code),
            ``elements`` (the element actor's prompt and JSON reply, :mod:`studio.export.elements`) or ``auto``
            (what the workspace's actor acts with, resolved when the workspace is read).
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
    preset: str | None = None
    coords: str | None = None
    action_syntax: str | None = None
    max_pixels: int | None = None
    min_pixels: int | None = None
    examples: int = 0
    action_space: str = "pyautogui"

    def validate(self) -> ExportOptions:
        """Return a normalized copy; ``ConfigError`` naming the bad option otherwise."""
        for value, allowed, opt in (
            (self.format, FORMATS, "--format"),
            (self.granularity, GRANULARITIES, "--granularity"),
            (self.observation, OBSERVATIONS, "--observation"),
            (self.action_space, ACTION_SPACE_CHOICES, "--action-space"),
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

        from studio.export.conventions import resolve

        conv = resolve(self.coords, self.action_syntax, self.preset, self.max_pixels, self.min_pixels)
        if self.examples < 0:
            raise ConfigError(f"--examples {self.examples} must be 0 or more")
        if self.examples and (self.granularity != "step" or self.format in TRAJECTORY_FORMATS):
            raise ConfigError("--examples puts retrieved examples in per-step prompts: use --granularity step")
        if self.examples and not conv.is_default:
            raise ConfigError(
                "--examples shows examples as recorded (pyautogui, pixels): drop --preset/--coords/--action-syntax"
            )
        from studio.export.elements import check_elements

        check_elements(self)
        return replace(
            self,
            granularity="example" if self.format in TRAJECTORY_FORMATS else self.granularity,
            coords=conv.coords,
            action_syntax=conv.syntax,
            max_pixels=conv.max_pixels,
            min_pixels=conv.min_pixels,
            status=tuple(sorted(set(self.status))),
            kinds=tuple(sorted(set(self.kinds))),
            apps=tuple(sorted(set(self.apps))),
            task_status=tuple(sorted(set(self.task_status))),
            split=parse_fractions(self.split),
            quorum=quorum,
        )

    @property
    def convention(self) -> Any:
        """The :class:`~studio.export.conventions.Convention` of these options (validate first)."""
        from studio.export.conventions import resolve

        return resolve(self.coords, self.action_syntax, self.preset, self.max_pixels, self.min_pixels)

    def conventions(self) -> dict[str, Any]:
        """The conventions, as recorded in the dataset card."""
        conv = self.convention
        out: dict[str, Any] = {"preset": self.preset or "none", "coords": conv.coords, "action_syntax": conv.syntax}
        if conv.coords == "resized":
            out["smart_resize"] = {"factor": 28, "min_pixels": conv.min_pixels, "max_pixels": conv.max_pixels}
        return out

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
    record: dict[str, Any] | None = None  # trajectory formats (ADP): the whole record, images as digests


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


class StepRenderer:
    """Renders steps in the export's convention (the recorded pixels/pyautogui as they are by default)."""

    def __init__(self, opts: ExportOptions, clean: Callable[[str], str]) -> None:
        self.conv = opts.convention
        self.clean = clean
        self._rendered: dict[str, str] = {}  # step id -> action (a step is rendered as target, then as history)

    def size(self, step: Any) -> tuple[int, int]:
        return int(step.width or 0), int(step.height or 0)

    def action(self, step: Any) -> str:
        """The step's action in the convention's syntax and coordinates."""
        code = step.action_code.strip()
        if self.conv.is_default:
            return self.clean(code)
        if step.id in self._rendered:
            return self._rendered[step.id]
        from studio.export.conventions import ActionWriter, step_actions

        actions = step_actions(code, step.actions, step.observation_text)
        if not actions:  # nothing typed to convert: keep what was recorded
            text = self.clean(code)
        else:
            text = self.clean(ActionWriter(self.conv, *self.size(step)).render(actions))
        self._rendered[step.id] = text
        return text

    def history_action(self, step: Any) -> str:
        return self.clean(step.action_code) if self.conv.is_default else self.action(step)

    def target(self, step: Any) -> str:
        from studio.export.conventions import answer

        reason = self.clean(" ".join((step.reason or "").split()))
        return answer(self.conv, reason, self.action(step))

    def table(self, text: str, step: Any) -> str:
        if self.conv.coords == "pixels":
            return text
        from studio.export.conventions import convert_table

        return convert_table(text, self.conv, *self.size(step))

    def prompt(self, prompt: str, step: Any, answer_mark: str | None = None) -> str:
        from studio.export.conventions import ACTOR_ANSWER_MARK, adapt_prompt

        w, h = self.size(step)
        return adapt_prompt(prompt, self.conv, w, h, answer_mark or ACTOR_ANSWER_MARK)


def _observation(screen: Any, opts: ExportOptions, clean: Callable[[str], str]) -> tuple[str, list[str]]:
    text = clean(screen.observation_text) if opts.observation in ("a11y", "both") else SCREENSHOT_ONLY
    images = [screen.screenshot] if opts.images and screen.screenshot else []
    return text, images


ExamplesFor = Callable[[str, str], str]  # (observation text, trajectory id) -> examples text for the prompt


def rows_for(
    sel: Selected,
    steps: Sequence[Any],
    opts: ExportOptions,
    clean: Callable[[str], str],
    examples_for: ExamplesFor | None = None,
    *,
    agent: Any = None,
    skipped: dict[str, int] | None = None,
) -> list[Row]:
    """The rows of one selected example. ``steps``: every stored step of its trajectory; ``clean``: redactor;
    ``examples_for``: the retrieved examples of a per-step prompt (:func:`example_source`); ``agent``: the
    workspace's ``[agent]`` settings (element layout; None: the defaults); ``skipped``: counts of element-layout
    rows left out, by reason (filled in)."""
    from studio.pipeline.agent.policies import HistoryItem, actor_prompt
    from studio.pipeline.prompts import render
    from studio.pipeline.stages.backward import span_view

    ex = sel.example
    ordered = sorted(steps, key=lambda s: (s.index, s.created))
    span, _after = span_view(ordered, ex.start, ex.end, ex.step_indices or None)
    span = [s for s in span if s.action_code.strip()]
    if not span:
        return []
    base = {
        "example_id": ex.id,
        "trajectory_id": ex.trajectory_id,
        "split": sel.split,
        "app": ex.app,
        "kind": ex.kind,
        "created": ex.created,
    }
    if opts.action_space == "elements" and opts.format not in TRAJECTORY_FORMATS:
        return _element_rows(sel, span, ordered, opts, clean, agent, examples_for, skipped, base)
    steps_out = StepRenderer(opts, clean)
    if opts.format in TRAJECTORY_FORMATS:
        from studio.export.adp import adp_record

        record, images = adp_record(sel, span, opts, steps_out)
        return [Row(id=ex.id, step=-1, messages=[], images=images, record=record, **base)]
    if opts.granularity == "example":
        screen = span[0]  # a step holds the screen its action was chosen on
        text, images = _observation(screen, opts, clean)
        prompt = render(
            EXAMPLE_PROMPT,
            width=screen.width,
            height=screen.height,
            instruction=clean(sel.instruction),
            observation=steps_out.table(text, screen),
        )
        prompt = steps_out.prompt(prompt, screen, EXAMPLE_ANSWER_MARK)
        answer = "\n\n".join(steps_out.target(s) for s in span)
        msgs = [Message("user", prompt, len(images)), Message("assistant", answer)]
        return [Row(id=ex.id, step=-1, messages=msgs, images=images, **base)]
    rows = []
    history: list[Any] = []
    instruction = clean(sel.instruction)
    for step in span:
        text, images = _observation(step, opts, clean)  # a step holds the screen its action was chosen on
        shown = clean(examples_for(step.observation_text, ex.trajectory_id)) if examples_for else ""
        prompt = actor_prompt(
            instruction, step.width, step.height, steps_out.table(text, step), list(history), examples_text=shown
        )
        prompt = steps_out.prompt(prompt, step)
        msgs = [Message("user", prompt, len(images)), Message("assistant", steps_out.target(step))]
        rows.append(Row(id=f"{ex.id}-{step.index:04d}", step=step.index, messages=msgs, images=images, **base))
        history.append(HistoryItem(clean(step.reason), steps_out.history_action(step), clean(step.error)))
    return rows


def _element_rows(
    sel: Selected,
    span: Sequence[Any],
    ordered: Sequence[Any],
    opts: ExportOptions,
    clean: Callable[[str], str],
    agent: Any,
    examples_for: ExamplesFor | None,
    skipped: dict[str, int] | None,
    base: dict[str, Any],
) -> list[Row]:
    """Element-layout rows (:mod:`studio.export.elements`): one per step with an element form, or, per example,
    the span's turns in one conversation (none when a step has no element form); what is left out is counted."""
    from studio.config import AgentConfig
    from studio.export.elements import EXAMPLE_SKIPPED, element_turns

    turns, missing = element_turns(
        clean(sel.instruction),
        sel.example.trajectory_id,
        span,
        ordered,
        clean,
        agent or AgentConfig(),
        examples_for,
        images=opts.images,
    )
    counts = skipped if skipped is not None else {}
    ex = sel.example
    if opts.granularity == "example":
        if missing or not turns:
            counts[EXAMPLE_SKIPPED] = counts.get(EXAMPLE_SKIPPED, 0) + 1
            return []
        msgs = [m for t in turns for m in (Message("user", t.prompt, len(t.images)), Message("assistant", t.reply))]
        return [Row(id=ex.id, step=-1, messages=msgs, images=[d for t in turns for d in t.images], **base)]
    for reason in missing:
        counts[reason] = counts.get(reason, 0) + 1
    return [
        Row(
            id=f"{ex.id}-{t.step.index:04d}",
            step=t.step.index,
            images=t.images,
            messages=[Message("user", t.prompt, len(t.images)), Message("assistant", t.reply)],
            **base,
        )
        for t in turns
    ]


def example_source(ws: Any, n: int, layout: str = "code") -> ExamplesFor:
    """Up to ``n`` examples for a step's prompt, as the retrieval-augmented actor gets them in mode
    ``observation`` (BM25 over the screen, no model), skipping the row's own trajectory, packed by
    :func:`studio.pipeline.retrieval.render.pack_examples` within ``[retrieval] budget_tokens`` in ``layout``
    (``code`` for the pyautogui actor, ``reply`` for the element actor).

    Raises:
        WorkspaceError: the workspace has no retrieval index (it says how to build one).
    """
    from studio.pipeline.retrieval.fusion import FusionSettings
    from studio.pipeline.retrieval.index import require_index
    from studio.pipeline.retrieval.render import pack_examples
    from studio.pipeline.retrieval.retriever import Retriever

    require_index(ws)
    rc = ws.config.retrieval
    fusion = FusionSettings.from_config(rc)
    r = Retriever(
        ws, None, mode="observation", m1=n + fusion.candidates, max_query_terms=rc.max_query_terms, fusion=fusion
    )

    def examples_for(observation_text: str, trajectory_id: str) -> str:
        hits = [h for h in r.retrieve("", observation_text).hits if h.example.trajectory_id != trajectory_id]
        return pack_examples(hits[:n], rc.budget_tokens, layout)

    return examples_for


def iter_rows(
    ws: Any,
    selected: Sequence[Selected],
    opts: ExportOptions,
    clean: Callable[[str], str],
    *,
    batch: int = 200,
    skipped: dict[str, int] | None = None,
) -> Iterator[tuple[int, list[Row]]]:
    """``(examples done, rows of the next example)`` for every selected example.

    ``clean`` is applied to every piece of text taken from the workspace (instruction, screens, reasons, actions);
    it is memoized here, since overlapping examples repeat the same screens. Steps are read for ``batch``
    trajectories per query. ``action_space="auto"`` is resolved with the workspace's config; ``skipped`` counts
    the element-layout rows left out, by reason.
    """
    from functools import lru_cache

    from studio.export.elements import resolve_action_space
    from studio.workspace import Step

    opts, _why = resolve_action_space(opts, ws.config)
    cached = lru_cache(maxsize=8192)(clean)
    examples_for = None
    if opts.examples:
        from studio.pipeline.agent.elements import ElementPolicy

        layout = ElementPolicy.example_layout if opts.action_space == "elements" else "code"
        examples_for = example_source(ws, opts.examples, layout)
    tids = list(dict.fromkeys(s.example.trajectory_id for s in selected))
    position = {t: i for i, t in enumerate(tids)}
    steps: dict[str, list[Any]] = {}
    for n, sel in enumerate(selected, start=1):
        tid = sel.example.trajectory_id
        if tid not in steps:
            steps.clear()
            chunk = tids[position[tid] : position[tid] + batch]
            for st in ws.list(Step, trajectory_id=chunk, limit=None):
                steps.setdefault(st.trajectory_id, []).append(st)
            for c in chunk:
                steps.setdefault(c, [])
        yield n, rows_for(sel, steps[tid], opts, cached, examples_for, agent=ws.config.agent, skipped=skipped)


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
    "StepRenderer",
    "example_source",
    "iter_rows",
    "rows_for",
    "select",
]
