"""The acting side of a rollout: prompts, REASON/ACTION parsing and the policies that choose actions.

Policies share one tiny interface, :class:`Policy`: ``decide(context) -> Decision``. Three implementations:

* :class:`ModelPolicy` asks the ``actor`` model (any litellm model) and parses ``REASON: ... ACTION: ...``.
  Malformed output is recorded as the step's error and the model is told what was wrong at the next step.
* :class:`ExplorerPolicy` is model-free (as in OS-Genesis): a seeded random walk over interactive a11y
  elements, typing sampled text into editable ones. It gathers data even when the model is weak.
* :class:`ScriptedPolicy` replays a list of pyautogui code-string actions (solutions, tests).

Nothing a model writes is executed: actions go through :mod:`envs.action_parser` into typed actions.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from envs.actions import Action, ClickElement, Done, Fail, Hotkey, Key, Scroll, TypeText
from envs.observation import Observation
from studio.pipeline.agent.usage import add_usage

ACTOR_PROMPT_VERSION = "actor.v1"
MAX_OBSERVATION_CHARS = 6000
MAX_HISTORY_STEPS = 8


@dataclass
class HistoryItem:
    """One past step as the actor sees it."""

    reason: str
    action_code: str
    error: str = ""
    #: What the action changed on the screen, one line per change (:func:`envs.changes.render_changes`);
    #: "" when unknown (histories rebuilt from storage, terminal actions).
    changes: str = ""


@dataclass
class StepContext:
    """Everything a policy may look at to choose the next action."""

    instruction: str
    observation: Observation
    history: list[HistoryItem] = field(default_factory=list)
    step_index: int = 0
    feedback: str = ""  # what was wrong with the previous output, told to the model
    examples_text: str = ""  # retrieved examples, already formatted (retrieval-augmented agents)


@dataclass
class Decision:
    """A policy's answer: typed actions to run (may be empty on error) and what to record."""

    actions: list[Action]
    reason: str = ""
    action_code: str = ""
    raw: str = ""
    error: str = ""  # the step's own problem: no usable action, or the action failed
    usage: dict[str, Any] = field(default_factory=dict)
    feedback: str = ""  # told to the model at the next step without marking this step as failed


class Policy(Protocol):
    name: str

    def decide(self, ctx: StepContext) -> Decision: ...


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} more characters cut]"


def format_history(history: list[HistoryItem]) -> str:
    if not history:
        return "(none yet)"
    shown = history[-MAX_HISTORY_STEPS:]
    first = len(history) - len(shown) + 1
    lines = []
    for i, h in enumerate(shown, start=first):
        line = f"{i}. {h.reason} -> {h.action_code}"
        if h.error:
            line += f"  [error: {h.error}]"
        elif h.changes:
            line += "  [then: " + "; ".join(h.changes.splitlines()[:4]) + "]"
        lines.append(line)
    return "\n".join(lines)


def actor_prompt(
    instruction: str,
    width: int,
    height: int,
    a11y_table: str,
    history: list[HistoryItem],
    *,
    feedback: str = "",
    examples_text: str = "",
) -> str:
    """The actor's prompt (``actor.v1``) for one step: the task, the screen size, the history, the a11y table of
    the screen, retrieved examples and feedback on the previous answer. Export writes training rows with it."""
    from studio.pipeline.prompts import load_prompt, render

    return render(
        load_prompt(ACTOR_PROMPT_VERSION)[0],
        width=width,
        height=height,
        instruction=instruction,
        examples=f"Examples of similar interactions:\n{examples_text}\n\n" if examples_text else "",
        history=format_history(history),
        observation=_truncate(a11y_table, MAX_OBSERVATION_CHARS),
        feedback=f"\nYour previous answer could not be used: {feedback}\n" if feedback else "",
    )


def build_actor_prompt(ctx: StepContext) -> str:
    """:func:`actor_prompt` for a step context."""
    obs = ctx.observation
    return actor_prompt(
        ctx.instruction,
        obs.width,
        obs.height,
        obs.a11y_table,
        ctx.history,
        feedback=ctx.feedback,
        examples_text=ctx.examples_text,
    )


_REASON_RE = re.compile(r"REASON\s*:\s*(.*?)(?=\n\s*ACTION\s*:|\Z)", re.S | re.I)
_ACTION_RE = re.compile(r"ACTION\s*:\s*(.*)", re.S | re.I)
_FENCE_RE = re.compile(r"```(?:python|py)?\s*\n?(.*?)```", re.S)


def parse_agent_output(text: str) -> Decision:
    """Split ``REASON: ... ACTION: ...`` and parse the action. Never raises: errors land in ``Decision.error``."""
    from envs.action_parser import parse_action_text
    from studio.errors import ActionError

    raw = text or ""
    reason_m = _REASON_RE.search(raw)
    reason = reason_m.group(1).strip() if reason_m else ""
    action_m = _ACTION_RE.search(raw)
    if action_m is None:
        fence = _FENCE_RE.search(raw)
        if fence is None:
            return Decision(
                [],
                reason=reason,
                raw=raw,
                error="no 'ACTION:' line found; answer with 'REASON: ...' then 'ACTION: ...'",
            )
        code = fence.group(1).strip()
    else:
        code = action_m.group(1).strip()
        fence = _FENCE_RE.search(code)
        if fence:
            code = fence.group(1).strip()
        elif "\n" in code:
            # keep only the action lines, drop trailing prose
            lines = [ln for ln in code.splitlines() if ln.strip()]
            code = (
                "\n".join(
                    ln
                    for ln in lines
                    if ln.strip().startswith(("pyautogui", "time.", "import")) or ln.strip() in {"DONE", "FAIL", "WAIT"}
                )
                or lines[0]
            )
    code = code.strip().strip("`").strip()
    try:
        actions = parse_action_text(code)
    except ActionError as exc:
        return Decision([], reason=reason, action_code=code, raw=raw, error=str(exc))
    if not actions:
        return Decision([], reason=reason, action_code=code, raw=raw, error="the ACTION line holds no action")
    return Decision(actions, reason=reason, action_code=code, raw=raw)


class ModelPolicy:
    """Asks a chat model for REASON + ACTION. ``complete`` is ``(messages) -> (text, usage)``."""

    name = "model"

    def __init__(self, complete: Any, *, vision: bool = False) -> None:
        self._complete = complete
        self._vision = vision

    def decide(self, ctx: StepContext) -> Decision:
        prompt = build_actor_prompt(ctx)
        content: Any = prompt
        scale = 1.0
        if self._vision:
            from studio.llm.vision import image_part  # lazy: PIL work only for vision models

            part, scale = image_part(ctx.observation.screenshot_png)
            if scale != 1.0:
                prompt += f"\n\nThe screenshot is scaled by {scale:.4f}; give coordinates in screenshot pixels."
            content = [{"type": "text", "text": prompt}, part]
        text, usage = self._complete([{"role": "user", "content": content}])
        decision = parse_agent_output(text)
        if scale != 1.0:  # coordinates on the shown (downscaled) screenshot -> screen pixels, once
            from envs.actions import scale_action

            decision.actions = [scale_action(a, scale) for a in decision.actions]
        decision.usage = usage or {}
        return decision


_SAMPLE_WORDS = [
    "hello",
    "world",
    "notes",
    "report",
    "2024",
    "budget",
    "total",
    "draft",
    "todo",
    "meeting",
    "42",
    "3.14",
    "alpha",
    "beta",
    "list",
    "summary",
    "12",
    "7",
    "data",
    "plan",
]
_TYPABLE_ROLES = {"text", "entry", "editbar", "terminal", "password text", "paragraph", "document text"}
_CLICKABLE_ROLES = {
    "push button",
    "button",
    "menu item",
    "menu",
    "check box",
    "radio button",
    "toggle button",
    "combo box",
    "list item",
    "table cell",
    "page tab",
    "check menu item",
    "radio menu item",
    "link",
    "tree item",
    "spin button",
    "text",
    "entry",
}


class ExplorerPolicy:
    """Model-free random walk over interactive a11y elements (seeded, so runs are reproducible)."""

    name = "explorer"

    def __init__(self, seed: int = 0, *, p_type: float = 0.3, p_key: float = 0.1, stop_after: int | None = None):
        self._rng = random.Random(seed)
        self._p_type = p_type
        self._p_key = p_key
        self._stop_after = stop_after

    def decide(self, ctx: StepContext) -> Decision:
        from envs.action_code import to_pyautogui

        rng = self._rng
        if self._stop_after is not None and ctx.step_index >= self._stop_after:
            return Decision([Done()], reason="explored enough", action_code="DONE")
        nodes = [n for n in ctx.observation.a11y_nodes if n.role in _CLICKABLE_ROLES and n.w > 1 and n.h > 1]
        typable = [n for n in nodes if n.role in _TYPABLE_ROLES]
        roll = rng.random()
        actions: list[Action]
        if typable and roll < self._p_type:
            node = rng.choice(typable)
            text = " ".join(rng.choice(_SAMPLE_WORDS) for _ in range(rng.randint(1, 3)))
            actions = [ClickElement(node.id), TypeText(text)]
            reason = f"type '{text}' into {node.role} '{node.name or node.text}'"
        elif roll < self._p_type + self._p_key:
            keys: list[Action] = [Key("enter"), Key("tab"), Key("escape"), Hotkey(("ctrl", "z")), Scroll(-3)]
            choice = rng.choice(keys)
            actions = [choice]
            reason = "try a common key"
        elif nodes:
            node = rng.choice(nodes)
            actions = [ClickElement(node.id)]
            reason = f"click {node.role} '{node.name or node.text}'"
        else:
            w, h = ctx.observation.width, ctx.observation.height
            from envs.actions import Click

            actions = [Click(rng.randrange(w), rng.randrange(h))]
            reason = "no interactive elements visible; click somewhere"
        code = "\n".join(_code_for(a, ctx.observation, to_pyautogui) for a in actions)
        return Decision(actions, reason=reason, action_code=code)


def _code_for(action: Action, obs: Observation, to_pyautogui: Any) -> str:
    """Store element clicks as coordinates too, so the code string replays without the a11y table."""
    if isinstance(action, ClickElement):
        node = obs.node(action.element_id)
        if node is not None:
            from envs.actions import Click

            x, y = node.center
            return str(to_pyautogui(Click(x, y, button=action.button, clicks=action.clicks)))
    return str(to_pyautogui(action))


class ScriptedPolicy:
    """Replays pyautogui code-string actions, one per decision; DONE when the script ends."""

    name = "scripted"

    def __init__(self, lines: list[str]) -> None:
        self._lines = [ln for ln in (s.strip() for s in lines) if ln and not ln.startswith("#")]
        self._i = 0

    def decide(self, ctx: StepContext) -> Decision:
        if self._i >= len(self._lines):
            return Decision([Done()], reason="script finished", action_code="DONE")
        code = self._lines[self._i]
        self._i += 1
        decision = parse_agent_output(f"REASON: scripted step {self._i}\nACTION: {code}")
        return decision


def is_terminal(actions: list[Action]) -> str | None:
    """'done' / 'fail' when the decision ends the run."""
    for a in actions:
        if isinstance(a, Done):
            return "done"
        if isinstance(a, Fail):
            return "fail"
    return None


class FallbackPolicy:
    """The model decides; when its answer holds no usable action, a backup policy (the explorer) acts.

    Meant for weak models (the offline default): every step still does something real, the step records the
    model's error, and ``reason`` says the backup acted. The model is still told what was wrong next step.
    """

    name = "model+explorer"

    def __init__(self, primary: Policy, backup: Policy) -> None:
        self._primary = primary
        self._backup = backup

    def decide(self, ctx: StepContext) -> Decision:
        first = self._primary.decide(ctx)
        if first.actions:
            return first
        second = self._backup.decide(ctx)
        # the step itself is fine (the backup's action really ran); the model still hears what was wrong
        second.feedback = first.error
        second.raw = first.raw
        second.usage = first.usage
        second.reason = f"[{self._backup.name} acted: model output unusable] {second.reason}"
        return second


class PausablePolicy:
    """Wraps a policy: ``decide`` waits while ``paused`` is set (and returns at once on stop)."""

    def __init__(self, inner: Policy, paused: threading.Event, stop: threading.Event) -> None:
        self.inner = inner
        self.name = inner.name
        self._paused = paused
        self._stop = stop

    def decide(self, ctx: StepContext) -> Decision:
        while self._paused.is_set() and not self._stop.is_set():
            time.sleep(0.05)
        return self.inner.decide(ctx)


#: ``fill(ctx, layout) -> (examples text, usage)``: the examples a wrapped policy gets in its prompt, laid out
#: as ``layout`` (``studio.pipeline.retrieval.render.LAYOUTS``); ``Retriever.examples_for`` is one.
Fill = Callable[[StepContext, str], tuple[str, dict[str, Any]]]
#: Usage keys of a fill copied onto the decision as they are (not summed).
FILL_KEYS = ("retrieved", "retrieval_s", "query_writer_calls")


def example_layout(policy: Any) -> str:
    """How ``policy`` wants examples laid out: its ``example_layout`` attribute (the element actor: ``reply``),
    else ``code``."""
    return str(getattr(policy, "example_layout", "code"))


class AugmentedPolicy:
    """Wraps a policy: before each decision ``fill(ctx, layout)`` sets ``ctx.examples_text``.

    ``layout`` is the wrapped policy's :func:`example_layout`, so an element actor sees examples in the layout it
    answers in. The fill's model use (e.g. the query writer's call) is added to the decision's ``usage`` and to
    :attr:`totals`, so per-task tokens count both. The retrieval-augmented agent
    (``studio.pipeline.retrieval.retriever.RetrievalAugmentedPolicy``) is this with ``Retriever.examples_for``.
    """

    def __init__(self, inner: Policy, fill: Fill, name: str = "augmented") -> None:
        self.inner = inner
        self.fill = fill
        self.name = name
        self.totals: dict[str, Any] = {}

    def decide(self, ctx: StepContext) -> Decision:
        text, usage = self.fill(ctx, example_layout(self.inner))
        ctx.examples_text = text
        usage = usage or {}
        add_usage(self.totals, usage)
        decision = self.inner.decide(ctx)
        merged = add_usage(dict(decision.usage or {}), usage)
        merged.update({k: usage[k] for k in FILL_KEYS if k in usage})
        decision.usage = merged
        return decision
