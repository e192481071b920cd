"""Backward construction (Learn-by-Interact Algorithm 1): sub-trajectories -> instructions they complete.

A trajectory is a list of steps, each with the observation *before* its action (``observation_text``, the a11y
table), the action (``action_code``, a pyautogui code string), the model's ``reason`` and what the action changed
on the screen (``changes``, :mod:`envs.changes`), plus the screen after its last action (``final_observation``,
stored on the workspace trajectory; None when unknown). A span's "screen after" is the next step's observation,
or that final screen for the trajectory's last span; steps recorded without ``changes`` get them computed from
those screens. The prompts show the span's first screen, then each action followed by what it changed
(:func:`render_trajectory`). The stage:

1. drops consecutive duplicate (action, observation) pairs and steps with no action, an error (refused or
   failed action) or a terminal one (``DONE``/``FAIL``) — :func:`clean_steps`;
2. enumerates contiguous spans ``T[i:j]`` under a :class:`studio.config.SpanPolicy` (longest ``max_len``,
   shortest first when ``prefer_short``, at most ``max_per_trajectory``) — :func:`enumerate_spans`;
3. asks the ``backward_writer`` two questions per span: (a) an instruction the span completes
   (``kind="instruction"``) and (b) a per-step summary turned into
   ``"Replicate the following: 1) ... 2) ..."`` (``kind="replicate"``) — :func:`construct_examples`.

The stage returns :class:`studio.records.Example` records (not yet judged). Span coordinates are *original*
step indices (``Step.index``):
``start`` is the index of the span's first step and ``end`` is the index of its last step **plus one** (end
exclusive, like a Python slice), so ``[s for s in trajectory if start <= s.index < end]`` are the steps it
covers (including any duplicates dropped from the middle). ``step_indices`` lists exactly the steps shown to
the model.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from envs.changes import Change, screen_changes
from envs.changes import render_changes as render_state_changes
from studio.errors import ConfigError, MissingAPIKeyError, ModelError
from studio.pipeline.prompts import ReplySchema, StructuredModel, render_prompt
from studio.records import Example

INSTRUCTION_PROMPT = "backward_instruction.v2"
REPLICATE_PROMPT = "backward_replicate.v2"
TERMINAL_ACTIONS = frozenset({"DONE", "FAIL"})
MAX_OBS_LINES = 40  # rows of the first observation shown (a11y tables can have hundreds)
MAX_DIFF_LINES = 16  # changed rows shown for each later observation
MAX_LINE_CHARS = 160
MAX_TRAJECTORY_CHARS = 6000
MIN_INSTRUCTION_CHARS = 8
ChangeMode = Literal["state", "rows", "none"]
MAX_INSTRUCTION_CHARS = 1600  # replicate instructions list every step


class InstructionReply(ReplySchema):
    """Reply schema of the instruction prompt: ``{"instruction": str}``."""

    instruction: str = Field(json_schema_extra={"minLength": MIN_INSTRUCTION_CHARS})


class ReplicateReply(ReplySchema):
    """Reply schema of the summary prompt: ``{"steps": [str, ...]}``."""

    steps: list[str] = Field(
        json_schema_extra={
            "minItems": 1,
            "maxItems": 8,
            "items": {"type": "string", "minLength": 3},
        }
    )


class StepLike(Protocol):
    """One recorded step (the :class:`studio.records.Step` record satisfies it)."""

    @property
    def index(self) -> int: ...
    @property
    def observation_text(self) -> str: ...
    @property
    def action_code(self) -> str: ...
    @property
    def reason(self) -> str: ...


S = TypeVar("S", bound=StepLike)


@dataclass(frozen=True)
class BackwardFailure:
    """A span whose reply could not be used; ``raw`` keeps the model text."""

    trajectory_id: str
    start: int
    end: int
    kind: str
    error: str
    raw: str
    prompt_version: str


@dataclass
class BackwardResult:
    """Candidates and failures of one trajectory."""

    examples: list[Example] = field(default_factory=list)
    failures: list[BackwardFailure] = field(default_factory=list)
    n_steps: int = 0  # steps after cleaning
    n_spans: int = 0


# ------------------------------------------------------------------------------------------- steps and spans


def _norm(text: str | None) -> str:
    return (text or "").strip()


def only_waits(action_code: str) -> bool:
    """Whether an action code does nothing but wait (an unparseable one is not judged here: False)."""
    from envs.action_parser import parse_action_text
    from envs.actions import Wait
    from studio.errors import ActionError

    try:
        actions = parse_action_text(action_code)
    except ActionError:
        return False
    return bool(actions) and all(isinstance(a, Wait) for a in actions)


def clean_steps(steps: Sequence[S], *, drop_terminal: bool = True) -> list[S]:
    """Drop consecutive duplicate (action, observation) pairs, and steps without a usable action.

    A step is a duplicate when its action code and observation text (whitespace-trimmed) equal the previous
    kept step's. Steps with an empty action, only waits (``time.sleep(1)``, ``WAIT``: a replayed solution's
    pause would become "Replicate the following: 1) time.sleep(1)"), an ``error`` (the action was refused or
    failed, so it did not reliably happen) or (``drop_terminal``) ``DONE``/``FAIL`` say nothing about what the
    trajectory did and are dropped too. Order is kept; steps are sorted by ``index`` first.
    """
    kept: list[S] = []
    prev: tuple[str, str] | None = None
    for step in sorted(steps, key=lambda s: s.index):
        action = _norm(step.action_code)
        if not action or (drop_terminal and action.upper() in TERMINAL_ACTIONS) or only_waits(action):
            continue
        if _norm(getattr(step, "error", "")):  # refused or failed action: it did not (reliably) happen
            continue
        key = (action, _norm(step.observation_text))
        if key == prev:
            continue
        prev = key
        kept.append(step)
    return kept


def enumerate_spans(
    n: int, *, max_len: int | None = None, max_per_trajectory: int | None = None, prefer_short: bool = True
) -> list[tuple[int, int]]:
    """Contiguous spans ``(i, j)`` (``j`` exclusive) over ``n`` steps, deterministic.

    With no limits this is the paper's all ``n(n+1)/2`` spans. ``prefer_short`` orders by length, then start;
    otherwise by start, then length (Algorithm 1's loop order). The cap keeps the first spans of that order.

    Raises:
        ConfigError: A limit is below 1.
    """
    if max_len is not None and max_len < 1:
        raise ConfigError(f"span max_len must be >= 1, got {max_len}; set pipeline.spans.max_len")
    if max_per_trajectory is not None and max_per_trajectory < 1:
        raise ConfigError(
            f"span max_per_trajectory must be >= 1, got {max_per_trajectory}; set pipeline.spans.max_per_trajectory"
        )
    longest = n if max_len is None else min(max_len, n)
    spans = [(i, i + length) for length in range(1, longest + 1) for i in range(0, n - length + 1)]
    if not prefer_short:
        spans.sort()
    if max_per_trajectory is not None:
        spans = spans[:max_per_trajectory]
    return spans


def spans_for_policy(n: int, policy: Any) -> list[tuple[int, int]]:
    """:func:`enumerate_spans` with a ``studio.config.SpanPolicy`` (or None for all spans)."""
    if policy is None:
        return enumerate_spans(n)
    return enumerate_spans(
        n,
        max_len=policy.max_len,
        max_per_trajectory=policy.max_per_trajectory,
        prefer_short=policy.prefer_short,
    )


def span_view(
    steps: Sequence[S],
    start: int,
    end: int,
    step_indices: Sequence[int] | None = None,
    final_observation: str | None = None,
) -> tuple[list[S], str | None]:
    """The cleaned steps of span ``[start, end)`` (original indices) and the screen after its last action.

    Args:
        steps: The trajectory's steps (all of them, or at least the span and the step after it).
        start: Original index of the first step.
        end: Original index of the last step + 1.
        step_indices: When given, exactly these steps (as recorded on the example).
        final_observation: The trajectory's screen after its last step, used when no later step exists.
    """
    ordered = sorted(steps, key=lambda s: s.index)
    if step_indices:
        wanted = set(step_indices)
        span = [s for s in ordered if s.index in wanted]
    else:
        span = clean_steps([s for s in ordered if start <= s.index < end])
    return span, _screen_after(ordered, end, final_observation)


def _screen_after(ordered: Sequence[StepLike], end: int, final_observation: str | None) -> str | None:
    """Observation of the first step at or after ``end`` (the screen the span's last action left)."""
    for s in ordered:
        if s.index >= end:
            return s.observation_text
    return final_observation


# ---------------------------------------------------------------------------------------------- rendering


def _clip_line(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."


def _table_rows(text: str) -> list[str]:
    return [ln for ln in (text or "").splitlines() if ln.strip()]


def render_observation(text: str, max_lines: int = MAX_OBS_LINES) -> str:
    """The first ``max_lines`` rows of an a11y table (header kept), long rows clipped."""
    rows = _table_rows(text)
    if not rows:
        return "(no accessibility information)"
    shown = [_clip_line(r) for r in rows[:max_lines]]
    if len(rows) > max_lines:
        shown.append(f"... ({len(rows) - max_lines} more rows)")
    return "\n".join(shown)


def render_row_diff(before: str, after: str, max_lines: int = MAX_DIFF_LINES) -> str:
    """Rows that appeared (``+``) or disappeared (``-``) between two a11y tables (the layout before state
    changes; kept for ``changes="rows"``, the baseline of the BENCHMARKS comparison)."""
    a, b = _table_rows(before), _table_rows(after)
    if a == b:
        return "(no visible change)"
    changed = [
        _clip_line(ln)
        for ln in difflib.unified_diff(a, b, lineterm="", n=0)
        if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
    ]
    if not changed:
        return "(no visible change)"
    extra = len(changed) - max_lines
    changed = changed[:max_lines]
    if extra > 0:
        changed.append(f"... ({extra} more changed rows)")
    return "\n".join(changed)


def step_changes(step: StepLike, screen_after: str | None) -> list[Change] | None:
    """What ``step``'s action changed: its stored ``changes``, else computed from the screens before and after.

    Returns None when neither is known (no stored changes and no screen after the step).
    """
    stored = getattr(step, "changes", None)
    if stored is not None:
        return [c if isinstance(c, Change) else Change.from_dict(c) for c in stored]
    if screen_after is None:
        return None
    return screen_changes(step.observation_text, screen_after)


def clicked_element(step: StepLike) -> str:
    """``  -> on toggle button "7"``: what a click of the step landed on (the element with the marker's id, or the
    smallest listed element under the click's point), so a reader of the trajectory never takes an element
    number or a pixel position for a label; "" when the step clicks nothing listed."""
    from envs.action_code import marked_element
    from envs.action_parser import parse_action_text
    from envs.actions import Click
    from envs.errors import ActionError
    from envs.metrics import parse_a11y_table
    from envs.observation import element_under

    code = _norm(step.action_code)
    if "click" not in code.lower():
        return ""
    nodes = parse_a11y_table(step.observation_text or "")
    marker = marked_element(code)
    node = None
    if marker is not None:
        node = next((n for n in nodes if n.id == marker), None)
    else:
        try:
            actions = parse_action_text(code)
        except ActionError:
            return ""
        clicks = [a for a in actions if isinstance(a, Click) and a.x is not None and a.y is not None]
        if len(clicks) == 1 and clicks[0].x is not None and clicks[0].y is not None:
            node = element_under(nodes, clicks[0].x, clicks[0].y)
    if node is None:
        return ""
    label = (node.name or node.text).strip()
    return f"  -> on {node.role} {_clip_line(json.dumps(label, ensure_ascii=False))}" if label else ""


def render_trajectory(
    steps: Sequence[StepLike],
    final_observation: str | None = None,
    max_chars: int = MAX_TRAJECTORY_CHARS,
    *,
    changes: ChangeMode = "state",
    max_obs_lines: int = MAX_OBS_LINES,
) -> str:
    """Text of a span for the prompts: the first screen (clipped), then each action and what it changed.

    Args:
        steps: The span's steps in order.
        final_observation: The screen after the span's last action, when known (the next step's observation,
            or the trajectory's final observation).
        max_chars: Hard cap on the text; the middle of an over-long span is elided.
        changes: ``"state"`` (default): after each action, the state changes of :mod:`envs.changes`
            (values, focus, windows, elements that came or went; stored on the step, or computed);
            ``"rows"``: the raw a11y rows that differ, shown before the next step (the older layout);
            ``"none"``: no changes at all (for measuring what they add).
        max_obs_lines: Rows of the first screen shown.
    """
    if changes not in ("state", "rows", "none"):
        raise ConfigError(f"unknown changes mode {changes!r}; use 'state', 'rows' or 'none'")
    parts: list[str] = []
    for k, step in enumerate(steps, start=1):
        lines = [f"Step {k}"]
        if k == 1:
            lines.append("Screen:\n" + render_observation(step.observation_text, max_obs_lines))
        elif changes == "rows":
            prev = steps[k - 2].observation_text
            lines.append("Screen changes since the previous step:\n" + render_row_diff(prev, step.observation_text))
        reason = _norm(getattr(step, "reason", ""))
        if reason:
            lines.append(f"Reason: {_clip_line(' '.join(reason.split()))}")
        lines.append(f"Action: {_clip_line(_norm(step.action_code))}{clicked_element(step)}")
        if changes == "state":
            after = steps[k].observation_text if k < len(steps) else final_observation
            found = step_changes(step, after)
            if found is not None:
                lines.append(
                    "What changed:\n" + "\n".join(_clip_line(ln) for ln in render_state_changes(found).splitlines())
                )
        parts.append("\n".join(lines))
    if changes == "rows" and final_observation is not None and steps:
        parts.append(
            "After the last action, screen changes:\n" + render_row_diff(steps[-1].observation_text, final_observation)
        )
    text = "\n\n".join(parts)
    if len(text) > max_chars:
        half = max_chars // 2
        text = text[:half] + "\n[... middle of the trajectory cut ...]\n" + text[-half:]
    return text


# ---------------------------------------------------------------------------------------------- replies


_LEAD = re.compile(r"^\s*(?:instruction|task)\s*:\s*", re.I)
_STEP_NUM = re.compile(r"^\s*(?:step\s*\d+\s*[:.)-]|\(?\d+[.):]|[-*\u2022])\s*", re.I)
_QUOTES = "\"'`\u201c\u201d\u2018\u2019"
# Template placeholders a small model copies from the prompt ("<task 1>", "<step 2>", "{n}").
PLACEHOLDER_TEXT = re.compile(r"<\s*(?:task|step|the |why|instruction|string)[^<>]{0,30}>|\{\w*\}", re.I)


def clean_instruction(text: str) -> str:
    """Strip an ``Instruction:`` label, surrounding quotes and extra whitespace."""
    t = " ".join(str(text).split())
    t = _LEAD.sub("", t).strip()
    if len(t) >= 2 and t[0] in _QUOTES and t[-1] in _QUOTES:
        t = t[1:-1].strip()
    return t


_WORD = re.compile(r"[^\W\d_]{2,}")


def replicate_instruction(steps: Sequence[str], max_items: int | None = None) -> str:
    """``"Replicate the following: 1) a 2) b"`` from step summaries.

    Numbering, empty items and copied template placeholders are removed; at most ``max_items`` items are kept
    (the span's number of actions: small models tend to keep writing steps that did not happen).
    """
    items = []
    for s in steps:
        t = _STEP_NUM.sub("", " ".join(str(s).split())).strip().rstrip(";")
        if t and not PLACEHOLDER_TEXT.search(t) and _WORD.search(t):  # "] {" is not a step
            items.append(t)
    if max_items is not None:
        items = items[:max_items]
    if not items:
        return ""
    return "Replicate the following: " + " ".join(f"{i}) {t}" for i, t in enumerate(items, start=1))


def _instruction_problem(text: str) -> str | None:
    if PLACEHOLDER_TEXT.search(text):
        return "the reply repeats a template placeholder"
    if len(text) < MIN_INSTRUCTION_CHARS:
        return f"instruction shorter than {MIN_INSTRUCTION_CHARS} characters"
    if len(text) > MAX_INSTRUCTION_CHARS:
        return f"instruction longer than {MAX_INSTRUCTION_CHARS} characters"
    return None


def example_id(trajectory_id: str, start: int, end: int, kind: str, prompt_version: str) -> str:
    """Deterministic example id (16 hex chars)."""
    key = f"{trajectory_id}\x1f{start}\x1f{end}\x1f{kind}\x1f{prompt_version}"
    return "e-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- stage


def construct_examples(
    trajectory_id: str,
    steps: Sequence[StepLike],
    model: StructuredModel,
    *,
    app: str,
    policy: Any = None,
    final_observation: str | None = None,
    kinds: Sequence[str] = ("instruction", "replicate"),
    skip: set[tuple[int, int, str]] | None = None,
    changes: ChangeMode = "state",
) -> BackwardResult:
    """Backward-construct example candidates from one trajectory.

    Args:
        trajectory_id: Id of the trajectory.
        steps: Its steps (any order; sorted by ``index``).
        model: The ``backward_writer`` role bound with :func:`studio.pipeline.prompts.bind_model`.
        app: App profile name.
        policy: A ``studio.config.SpanPolicy`` (None = all spans, as in the paper).
        final_observation: The screen after the trajectory's last step, if recorded.
        kinds: Which prompts to run per span.
        skip: ``(start, end, kind)`` already in the workspace (original indices) — not asked again (resume).
        changes: How the prompt shows what each action changed (see :func:`render_trajectory`).

    Returns:
        Candidates (two per span when both prompts succeed) and failures with raw model text.

    Raises:
        MissingAPIKeyError: The model's API key is not set.
        ConfigError: ``policy`` has a limit below 1, or ``kinds`` names an unknown kind.
    """
    unknown = set(kinds) - {"instruction", "replicate"}
    if unknown:
        raise ConfigError(f"unknown backward kinds {sorted(unknown)}; use 'instruction' and/or 'replicate'")
    clean = clean_steps(steps)
    spans = spans_for_policy(len(clean), policy)
    result = BackwardResult(n_steps=len(clean), n_spans=len(spans))
    ordered = sorted(steps, key=lambda s: s.index)
    for i, j in spans:
        span = clean[i:j]
        start, end = span[0].index, span[-1].index + 1
        after = _screen_after(ordered, end, final_observation)
        trajectory_text = render_trajectory(span, after, changes=changes)
        for kind in kinds:
            if skip and (start, end, kind) in skip:
                continue
            ans = ask_backward(model, kind, trajectory_text, len(span), app)
            if ans.error:
                result.failures.append(
                    BackwardFailure(trajectory_id, start, end, kind, ans.error, ans.raw, ans.version)
                )
                continue
            result.examples.append(
                Example(
                    id=example_id(trajectory_id, start, end, kind, ans.version),
                    trajectory_id=trajectory_id,
                    start=start,
                    end=end,
                    step_indices=[s.index for s in span],
                    instruction=ans.instruction,
                    kind=kind,  # type: ignore[arg-type]  # checked against the two kinds above
                    prompt_version=ans.version,
                    app=app,
                    raw=ans.raw,
                )
            )
    return result


@dataclass(frozen=True)
class BackwardAnswer:
    """One backward prompt's outcome: the instruction, or ``error`` (with the raw reply) when unusable."""

    instruction: str
    raw: str
    version: str
    error: str = ""


def ask_backward(model: StructuredModel, kind: str, trajectory_text: str, n_steps: int, app: str) -> BackwardAnswer:
    """Ask one backward prompt (``kind`` ``"instruction"`` or ``"replicate"``) about a rendered span.

    ``error`` is set when the reply is unusable.

    Raises:
        MissingAPIKeyError: The model's API key is not set.
    """
    if kind == "instruction":
        messages, version = render_prompt(INSTRUCTION_PROMPT, app=app, trajectory=trajectory_text)
        schema: type[BaseModel] = InstructionReply
    else:
        messages, version = render_prompt(REPLICATE_PROMPT, app=app, trajectory=trajectory_text, n_steps=n_steps)
        schema = ReplicateReply
    try:
        reply = model(messages, schema)
    except MissingAPIKeyError:
        raise
    except ModelError as exc:
        return BackwardAnswer("", "", version, f"model call failed: {exc}")
    raw = reply.raw or ""
    if not reply.ok or reply.value is None:
        return BackwardAnswer("", raw, version, reply.error or "malformed reply")
    if kind == "instruction":
        text = clean_instruction(reply.value.instruction)
    else:
        text = replicate_instruction(reply.value.steps, max_items=n_steps)
        if not text:
            return BackwardAnswer("", raw, version, "the reply listed no steps")
    problem = _instruction_problem(text)
    return BackwardAnswer("" if problem else text, raw, version, problem or "")
