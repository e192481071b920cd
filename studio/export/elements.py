"""Export rows in the element action space: the prompt and the reply the element actor acts with.

The offline actor (:mod:`studio.pipeline.agent.elements`) reads a numbered element listing and answers one JSON
object ``{"reason", "action", "target"}``. With ``action_space="elements"`` a per-step row is exactly that turn:

* the user turn is :func:`~studio.pipeline.agent.elements.element_prompt` of the step (rules, retrieved examples
  in the ``reply`` layout with ``examples=N``, the listing of the step's screen, the history of the span with
  what changed after each step, the task), with the workspace's ``[agent] history_steps`` and ``max_elements``;
* the assistant turn is the reply that does what the stored step did, written by
  :func:`~studio.pipeline.agent.elements.step_reply` (the layout retrieved examples are shown in):

  ==========================================  ==================================================================
  stored action                                reply
  ==========================================  ==================================================================
  click at (x, y) (left, single)               ``click`` the element under the point (the smallest whose box
                                               holds it) when it is listed
  click on element N (the element actor's)     ``click`` N, when N is in the listing
  typed text                                   ``type`` the text (the element actor types at 0.1 s a key)
  one key / a key combination                  ``key`` ``enter`` / ``ctrl+s``
  DONE / FAIL                                  ``done`` / ``fail``
  ==========================================  ==================================================================

A step with no element form (a click on no listed element, a drag, a scroll, a right or double click, a key
pressed several times, several actions in one step) gives no row: it is counted by reason
(:data:`SKIP_REASONS`) in the export summary and the dataset card, never changed into something else. It still
shows in the history of the span's later steps, as its code (how the actor's history shows code it did not write).
Every reply is parsed back with :func:`~studio.pipeline.agent.elements.parse_element_reply` on the step's screen
before it is written; one that does not give back the expected action is skipped the same way.

Per-example rows (``granularity="example"``) are the same turns one after the other in one conversation (user,
assistant, user, assistant, ...), each user turn the prompt the actor gets at that step; an example with a step
that has no element form is skipped whole.

Stored steps keep the a11y table but not the window list, so the listing has no ``Windows:`` line; everything else
is what the actor was shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from envs.observation import element_under
from studio.errors import ConfigError

if TYPE_CHECKING:
    from envs.actions import Action
    from envs.observation import A11yNode, Observation
    from studio.config import AgentConfig, StudioConfig
    from studio.export.rows import ExportOptions
    from studio.pipeline.agent.policies import HistoryItem

#: ``--action-space`` values: ``auto`` is what the workspace's actor acts with (:func:`resolve_action_space`).
ACTION_SPACE_CHOICES: tuple[str, ...] = ("auto", "elements", "pyautogui")
SEVERAL = "several actions in one step"
NO_ELEMENT = "click on no listed element"
NOT_LISTED = "clicked element not in the listing"
NO_FORM = "no element action (drag, scroll, move, right/double click, repeated key, wait)"
NOT_BACK = "reply does not parse back to the step's action"
#: Why a step has no element-space row, as counted in the summary and the card.
SKIP_REASONS: tuple[str, ...] = (SEVERAL, NO_ELEMENT, NOT_LISTED, NO_FORM, NOT_BACK)
EXAMPLE_SKIPPED = "example with a step that has no element form"


def coordinate_needs(opts: ExportOptions) -> list[str]:
    """Why ``opts`` need the pyautogui layout (coordinates); empty when the element layout can be written."""
    needs = []
    if not opts.convention.is_default:
        needs.append("--preset/--coords/--action-syntax rewrite coordinates")
    if opts.format == "adp":
        needs.append("--format adp holds pyautogui api_actions")
    if opts.observation == "screenshot":
        needs.append("--observation screenshot has no element listing")
    return needs


def resolve_action_space(opts: ExportOptions, config: StudioConfig) -> tuple[ExportOptions, str]:
    """``opts`` with ``action_space`` ``elements`` or ``pyautogui``, and a sentence saying why (for the card).

    ``auto`` is what :func:`studio.pipeline.agent.factory.action_space` gives the workspace's actor (``[agent]
    action_space`` and ``[roles.actor]``), unless the options need coordinates (:func:`coordinate_needs`).
    """
    if opts.action_space != "auto":
        return opts, f"chosen with --action-space {opts.action_space}"
    from studio.pipeline.agent.factory import action_space

    space = action_space(config.agent, config.roles.actor)
    settings = f"[agent] action_space = {config.agent.action_space}, actor {config.roles.actor.model}"
    needs = coordinate_needs(opts)
    if space == "elements" and needs:
        why = f"the workspace's actor acts with elements ({settings}), but {'; '.join(needs)}"
        return replace(opts, action_space="pyautogui"), why
    return replace(opts, action_space=space), f"the layout the workspace's actor acts with: {settings}"


def check_elements(opts: ExportOptions) -> None:
    """``ConfigError`` when ``action_space="elements"`` is combined with options that need coordinates."""
    needs = coordinate_needs(opts)
    if opts.action_space == "elements" and needs:
        raise ConfigError(
            f"--action-space elements has no coordinates: {'; '.join(needs)}; use --action-space pyautogui"
        )


# ------------------------------------------------------------------------------------------- one step


@dataclass
class ElementStep:
    """A stored step in the element space: its reply, the actions the reply gives back and the code the element
    actor would have stored for them; ``skip`` says why there is none (one of :data:`SKIP_REASONS`)."""

    reply: str = ""
    actions: list[Action] = field(default_factory=list)
    code: str = ""
    reason: str = ""
    skip: str = ""


def screen(step: Any, clean: Callable[[str], str]) -> Observation:
    """The step's screen (the one its action was chosen on) as an observation, from its stored a11y table."""
    from envs.metrics import parse_a11y_table
    from envs.observation import Observation

    nodes = parse_a11y_table(clean(step.observation_text))
    return Observation(b"", int(step.width or 0), int(step.height or 0), a11y_nodes=nodes)


def stored_actions(step: Any) -> list[Action]:
    """The step's typed actions: the stored action dicts, else its action code parsed ([] when neither reads)."""
    from envs.action_parser import parse_action_text
    from envs.actions import action_from_dict
    from envs.errors import ActionError

    try:
        if step.actions:
            return [action_from_dict(a) for a in step.actions]
        return list(parse_action_text(step.action_code)) if step.action_code.strip() else []
    except ActionError:
        return []


def _element_action(
    a: Action, nodes: Sequence[A11yNode], shown: Sequence[A11yNode], clean: Callable[[str], str]
) -> Action | str:
    """The element-space action that does what ``a`` did on a screen of ``nodes`` whose listing shows ``shown``,
    or the reason there is none. A click on an unlisted element (a filler, a panel) is not moved to a listed
    one around it: the container's centre may be somewhere else entirely."""
    from envs.actions import Click, ClickElement, Done, Fail, Hotkey, Key, TypeText
    from studio.pipeline.agent.elements import TYPE_INTERVAL

    if isinstance(a, Click) and a.button == "left" and a.clicks == 1 and a.x is not None and a.y is not None:
        node = element_under(nodes, a.x, a.y)
        return ClickElement(node.id) if node is not None and any(n.id == node.id for n in shown) else NO_ELEMENT
    if isinstance(a, ClickElement) and a.button == "left" and a.clicks == 1:
        return a if any(n.id == a.element_id for n in shown) else NOT_LISTED
    if isinstance(a, TypeText) and a.text:
        return TypeText(clean(a.text), interval=TYPE_INTERVAL)
    if isinstance(a, Key) and a.presses == 1:
        return a
    if isinstance(a, Hotkey) and a.keys:
        return Key(a.keys[0]) if len(a.keys) == 1 else a
    if isinstance(a, Done | Fail):
        return a
    return NO_FORM


def element_step(step: Any, obs: Observation, clean: Callable[[str], str], max_elements: int) -> ElementStep:
    """The reply of one stored step on its screen ``obs`` (listing cut at ``max_elements``, as the actor's)."""
    from envs.action_code import to_pyautogui
    from studio.pipeline.agent.elements import action_code, listed_nodes, parse_element_reply, step_reply

    actions = stored_actions(step)
    if len(actions) != 1:
        return ElementStep(skip=SEVERAL if len(actions) > 1 else NO_FORM)
    want = _element_action(actions[0], obs.a11y_nodes, listed_nodes(obs)[:max_elements], clean)
    if isinstance(want, str):
        return ElementStep(skip=want)
    reply = step_reply(clean(" ".join((step.reason or "").split())), to_pyautogui(want))
    if reply is None:
        return ElementStep(skip=NO_FORM)
    back = parse_element_reply(reply, obs)
    if back.error or back.actions != [want]:
        return ElementStep(skip=NOT_BACK)
    return ElementStep(reply, back.actions, action_code(back.actions, obs), back.reason)


def history_item(step: Any, done: ElementStep, clean: Callable[[str], str], screen_after: str | None) -> HistoryItem:
    """The step as the element actor's history holds it: the reply's code (or the stored code when it has no
    element form), its error and what it changed (the stored changes, rendered as the episode loop does)."""
    from envs.changes import render_changes
    from studio.pipeline.agent.policies import HistoryItem, is_terminal
    from studio.pipeline.stages.backward import step_changes

    actions = done.actions if not done.skip else stored_actions(step)
    changes = ""
    if actions and not is_terminal(actions):
        found = step_changes(step, screen_after)
        changes = clean(render_changes(found)) if found is not None else ""
    if done.skip:
        return HistoryItem(clean(step.reason), clean(step.action_code), clean(step.error), changes)
    return HistoryItem(done.reason, done.code, clean(step.error), changes)


# ------------------------------------------------------------------------------------------- turns


@dataclass
class Turn:
    """One step as the element actor's turn: the prompt it gets, the reply that does the step, its screenshots."""

    step: Any
    prompt: str
    reply: str
    images: list[str] = field(default_factory=list)


def element_turns(
    instruction: str,
    trajectory_id: str,
    span: Sequence[Any],
    ordered: Sequence[Any],
    clean: Callable[[str], str],
    agent: AgentConfig,
    examples_for: Callable[[str, str], str] | None = None,
    *,
    images: bool = False,
) -> tuple[list[Turn], list[str]]:
    """The element actor's turns of a span, and why its other steps have none (one reason per step left out).

    Args:
        instruction: The task (already cleaned).
        trajectory_id: The span's trajectory (never among its own retrieved examples).
        span: The span's steps with an action, in order; the history starts with the first.
        ordered: Every stored step of the trajectory, in order (the screen after a step, for old steps).
        clean: The redactor.
        agent: The workspace's ``[agent]`` settings (history steps, listed elements).
        examples_for: Retrieved examples of a step's prompt, in the ``reply`` layout.
        images: Attach each step's screenshot to its turn.
    """
    from studio.pipeline.agent.elements import element_prompt
    from studio.pipeline.agent.policies import StepContext

    after = {s.index: nxt.observation_text for s, nxt in zip(ordered, ordered[1:], strict=False)}
    history: list[HistoryItem] = []
    turns: list[Turn] = []
    missing: list[str] = []
    feedback = ""
    for k, step in enumerate(span):
        obs = screen(step, clean)
        done = element_step(step, obs, clean, agent.max_elements)
        if done.skip:
            missing.append(done.skip)
        else:
            shown = clean(examples_for(step.observation_text, trajectory_id)) if examples_for else ""
            ctx = StepContext(instruction, obs, list(history), k, feedback, shown)
            prompt = element_prompt(ctx, history_steps=agent.history_steps, max_elements=agent.max_elements)
            turns.append(Turn(step, prompt, done.reply, [step.screenshot] if images and step.screenshot else []))
        history.append(history_item(step, done, clean, after.get(step.index)))
        feedback = clean(step.error)
    return turns, missing


__all__ = [
    "ACTION_SPACE_CHOICES",
    "EXAMPLE_SKIPPED",
    "SKIP_REASONS",
    "ElementStep",
    "Turn",
    "check_elements",
    "coordinate_needs",
    "element_turns",
    "element_step",
    "element_under",
    "history_item",
    "resolve_action_space",
    "screen",
    "stored_actions",
]
