"""The element action space: a small model acts on the numbered elements of a compact screen listing.

The pyautogui action space (prompt ``actor.v1``) asks a model for a line of Python with screen coordinates,
read off a TSV accessibility table with positions and sizes; offline models of 0.5-1.5B parameters did not
manage that (issue #20). This action space gives them less to get wrong:

* the screen is a **numbered list** of the elements that have a name or a value (``[14] toggle button "1"``,
  ``[6] text = "0"``), with the window list first and no coordinates (:func:`compact_observation`);
* the answer is **one JSON object** ``{"reason": ..., "action": "click"|"type"|"key"|"done"|"fail",
  "target": ...}`` (:class:`ElementReply`), which an in-process llama.cpp model is held to by a grammar
  (the JSON schema goes out as ``response_format``);
* the history is **short** (the last ``history_steps`` steps), each step with **what changed** on the screen
  after it (:func:`envs.changes.render_changes`, filled in by the episode loop);
* the prompt (``actor_elements.v1``) opens with short rules (the same text every step, so a local model reuses
  its evaluated prefix) and puts retrieved examples (rendered by the retrieval package) before the task. Worked
  examples in the fixed text were tried and dropped: the 1.5B copied one verbatim (BENCHMARKS.md, "Offline
  actor and the retrieval effect", where the measured success of both offline models is: none yet).

The reply becomes typed actions (``click`` -> :class:`~envs.actions.ClickElement`, ``type`` ->
:class:`~envs.actions.TypeText`, ``key`` -> :class:`~envs.actions.Key` or :class:`~envs.actions.Hotkey`);
the step stores them as replayable pyautogui code (``pyautogui.click(x, y)  # click_element(14)``), so
backward construction, export and replay read these steps like any other. A reply that cannot be used (no JSON,
an unknown action, an element that is not on the screen) becomes the step's error with a message that says
what to do instead; the episode goes on and the model reads that message at its next step.

Text forms such as ``click(14)``, ``type("1+2=")`` or ``key(enter)`` are accepted too, for models that
ignore ``response_format``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import Field

from envs.action_code import marked_element
from envs.actions import Action, ClickElement, Done, Fail, Hotkey, Key, TypeText, Wait
from envs.observation import A11yNode, Observation
from studio.pipeline.agent.policies import Decision, HistoryItem, StepContext
from studio.pipeline.prompts import ReplySchema

ELEMENTS_PROMPT_VERSION = "actor_elements.v2"
#: Action spaces of the model actor (``[agent] action_space``; ``auto`` picks one per model).
ACTION_SPACES = ("elements", "pyautogui")
ACTIONS = ("click", "type", "run", "key", "done", "fail")
DEFAULT_HISTORY_STEPS = 4
DEFAULT_MAX_ELEMENTS = 80
MAX_VALUE_CHARS = 160  # of an element's value in the listing (a terminal or a document shows its end)
MAX_NAME_CHARS = 60
#: Seconds between typed characters. Measured in a sandbox: galculator turned "250*40=" typed at once into 1000
#: (a key dropped) and got 10000 at 0.05 and 0.1 s; the bundled solutions type at 0.2 s.
TYPE_INTERVAL = 0.1
#: Reply tokens allowed (a reply is ~20-40): a rambling reason costs ~0.1 s per token under the grammar. A length
#: limit in the schema would be cheaper to state but llama-cpp-python expands ``maxLength`` into nested rules.
MAX_REPLY_TOKENS = 96
#: Roles that only group other elements: left out of the listing unless they hold a value.
SKIP_ROLES = frozenset({"filler", "panel", "scroll bar", "separator", "unknown", "scroll pane", "viewport"})


class ElementReply(ReplySchema):
    """One action on the numbered screen."""

    reason: str = Field(description="why, in a few words")
    action: Literal["click", "type", "run", "key", "done", "fail"]
    target: str = Field(
        description="click: the element number; type: the text; run: the command; key: a key such as enter or "
        "ctrl+s; done/fail: empty"
    )


# ------------------------------------------------------------------------------------------- observation


def _quote(text: str, limit: int, *, tail: bool = False) -> str:
    flat = text.replace("\\n", "\n").replace("\n", "\\n")
    if len(flat) > limit:
        flat = "..." + flat[-(limit - 3) :] if tail else flat[: limit - 3] + "..."
    return json.dumps(flat, ensure_ascii=False)


def listed_nodes(obs: Observation) -> list[A11yNode]:
    """The elements the listing shows: every node with a name or a value, grouping roles only with a value."""
    return [n for n in obs.a11y_nodes if (n.text or (n.name and n.role not in SKIP_ROLES))]


def element_line(node: A11yNode) -> str:
    """One element as the model sees it: ``[14] toggle button "1"`` / ``[6] text = "0"``."""
    line = f"[{node.id}] {node.role}"
    if node.name:
        line += " " + _quote(node.name, MAX_NAME_CHARS)
    if node.text:
        line += " = " + _quote(node.text, MAX_VALUE_CHARS, tail=True)
    return line


def compact_observation(obs: Observation, max_elements: int = DEFAULT_MAX_ELEMENTS) -> str:
    """The screen as a short numbered listing: the windows, then at most ``max_elements`` elements."""
    lines = []
    if obs.windows:
        shown = [f"'{w.title}'" + (" (focused)" if w.focused else "") for w in obs.windows if w.title]
        if shown:
            lines.append("Windows: " + ", ".join(shown))
    nodes = listed_nodes(obs)
    lines.extend(element_line(n) for n in nodes[:max_elements])
    if len(nodes) > max_elements:
        lines.append(f"... {len(nodes) - max_elements} more elements not shown")
    if not nodes:
        lines.append(
            "(no elements: this window exposes no accessibility tree, so what your keys did cannot be read here; "
            "use type, run and key, and reply done once you have entered what the task needs)"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- history


def short_action(code: str) -> str:
    """A stored step's action code in the element space's words: ``click [14]``, ``type "1+2="``, ``key enter``.

    Codes this space did not write (coordinates, hotkeys from other policies) are shown as they are.
    """
    from envs.action_parser import parse_action_text
    from envs.errors import ActionError

    if not code.strip():
        return "(no action)"
    parts = []
    for line in code.splitlines():
        marker = marked_element(line)
        if marker is not None:
            parts.append(f"click [{marker}]")
            continue
        try:
            actions = parse_action_text(line)
        except ActionError:
            parts.append(line.strip())
            continue
        parts.extend(_short(a) for a in actions)
    return "; ".join(parts)


def _type_or_run(text: str) -> tuple[str, str]:
    """A typed line ending in Enter is ``run`` of the line; other text is ``type``."""
    if text.endswith("\n") and "\n" not in text[:-1] and text[:-1].strip():
        return "run", text[:-1]
    return "type", text


def _short(a: Action) -> str:
    if isinstance(a, TypeText):
        action, target = _type_or_run(a.text)
        return f"{action} " + json.dumps(target, ensure_ascii=False)
    if isinstance(a, Key):
        return f"key {a.key}"
    if isinstance(a, Hotkey):
        return "key " + "+".join(a.keys)
    if isinstance(a, ClickElement):
        return f"click [{a.element_id}]"
    from envs.action_code import to_pyautogui

    return str(to_pyautogui(a))


def step_reply(reason: str, code: str) -> str | None:
    """The element-space reply (``{"reason", "action", "target"}`` JSON) that does what a stored step's action
    code did, or None when the code is not one action of this space (coordinate clicks, drags, several actions;
    waits beside the action, as in a replayed solution's ``write('3+5='), time.sleep(1)``, are left out).

    Element clicks keep their number (``# click_element(N)`` marker): on another screen of the same app the
    number usually names the same element, and the prompt says it may not.
    """
    from envs.action_parser import parse_action_text
    from envs.errors import ActionError

    lines = [line for line in code.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    marker = marked_element(lines[0])
    if marker is not None:
        action, target = "click", str(marker)
    else:
        try:
            actions = [a for a in parse_action_text(lines[0]) if not isinstance(a, Wait)]  # a pause does nothing
        except ActionError:
            return None
        if len(actions) != 1:
            return None
        a = actions[0]
        if isinstance(a, TypeText):
            action, target = _type_or_run(a.text)
        elif isinstance(a, Key) and a.presses == 1:
            action, target = "key", a.key
        elif isinstance(a, Hotkey):
            action, target = "key", "+".join(a.keys)
        elif isinstance(a, ClickElement):
            action, target = "click", str(a.element_id)
        elif isinstance(a, Done | Fail):
            action, target = a.kind, ""
        else:
            return None
    return json.dumps({"reason": reason.strip() or "-", "action": action, "target": target}, ensure_ascii=False)


def element_history(history: list[HistoryItem], limit: int = DEFAULT_HISTORY_STEPS) -> str:
    """The last ``limit`` steps, numbered as in the whole run, each with what changed after it."""
    if not history:
        return "(none yet)"
    shown = history[-limit:] if limit > 0 else []
    first = len(history) - len(shown) + 1
    lines = [f"({first - 1} earlier steps not shown)"] if first > 1 else []
    for i, h in enumerate(shown, start=first):
        line = f"{i}. {short_action(h.action_code)}"
        if h.error:
            line += f" -> error: {h.error}"
        else:
            changed = "; ".join(h.changes.splitlines()[:4]) if h.changes else "(not known)"
            changed = changed.replace("(no visible change)", "nothing changed in the listing")
            line += f" -> {changed}"
        lines.append(line)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- prompt


def element_prompt(
    ctx: StepContext, *, history_steps: int = DEFAULT_HISTORY_STEPS, max_elements: int = DEFAULT_MAX_ELEMENTS
) -> str:
    """The ``actor_elements.v1`` prompt for one step: fixed rules first (a local model reuses
    its evaluated prefix at every step), then retrieved examples, the task, the history and the screen."""
    from studio.pipeline.prompts import load_prompt, render

    examples = ""
    if ctx.examples_text:
        examples = (
            "Worked examples: tasks done before in this application, with the replies that did them (an element "
            "number may differ on your screen):\n"
            f"{ctx.examples_text}\n\n"
        )
    return render(
        load_prompt(ELEMENTS_PROMPT_VERSION)[0],
        examples=examples,
        instruction=ctx.instruction,
        history=element_history(ctx.history, history_steps),
        observation=compact_observation(ctx.observation, max_elements),
        feedback=f"Your previous reply could not be used: {ctx.feedback}\n" if ctx.feedback else "",
    )


# ------------------------------------------------------------------------------------------- parsing

_TEXT_FORM_RE = re.compile(r"\b(click|type|write|run|key|press|done|fail)\s*\(\s*(.*?)\s*\)\s*$", re.I | re.S | re.M)
_VERBS = {"write": "type", "press": "key"}
_ELEMENT_ID_RE = re.compile(r"^\s*[\[#(]?\s*(\d{1,9})\s*[\])]?\s*$")


def _reply_fields(text: str) -> tuple[str, str, str]:
    """``(reason, action, target)`` from a JSON reply or a text form; ValueError says what was wrong."""
    from studio.llm.structured import extract_json

    try:
        data = extract_json(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        action = str(data.get("action", "")).strip().lower()
        target = data.get("target", "")
        return str(data.get("reason", "")).strip(), action, "" if target is None else str(target)
    m = _TEXT_FORM_RE.search(text)
    if m is None:
        raise ValueError(
            'no action found; reply with one JSON object such as {"reason": "...", "action": "click", "target": "12"}'
        )
    verb = m.group(1).lower()
    action = _VERBS.get(verb, verb)
    target = m.group(2).strip()
    if len(target) >= 2 and target[0] == target[-1] and target[0] in "'\"":
        target = target[1:-1]
    return text[: m.start()].strip().removeprefix("REASON:").strip(), action, target


def _element(target: str, obs: Observation | None) -> ClickElement:
    m = _ELEMENT_ID_RE.match(target)
    if m is None:
        raise ValueError(f'click needs an element number from the screen listing, such as "12"; got {target[:40]!r}')
    eid = int(m.group(1))
    if obs is not None and obs.node(eid) is None:
        raise ValueError(
            f"element [{eid}] is not on the screen; click one of the numbers listed under Screen, or to enter "
            f'the number {eid} reply {{"reason": "...", "action": "type", "target": "{eid}"}}'
        )
    return ClickElement(eid)


def _key_action(target: str) -> Action:
    from envs.action_parser import normalize_key

    name = target.strip()
    if not name:
        raise ValueError("key needs a key name such as enter, tab, escape or ctrl+s")
    parts = [p.strip() for p in name.split("+")] if len(name) > 1 else [name]
    if len(parts) > 1 and all(parts):
        return Hotkey(tuple(normalize_key(p) for p in parts))
    return Key(normalize_key(name))


def _typed_text(target: str) -> str:
    if not target:
        raise ValueError("type needs the text to type in target")
    if target.endswith("\\n"):  # a model that escaped its newline twice meant Enter
        target = target[:-2] + "\n"
    return target


def reply_actions(action: str, target: str, obs: Observation | None) -> list[Action]:
    """The typed actions of one reply.

    Raises:
        ValueError: unknown action, a missing or unusable target (the message says what to send instead).
        ActionError: a key name X11 does not know (with close matches).
    """
    if action == "click":
        return [_element(target, obs)]
    if action == "type":
        return [TypeText(_typed_text(target), interval=TYPE_INTERVAL)]
    if action == "run":  # a terminal command: typed, then Enter (small models rarely write "\n" in JSON)
        return [TypeText(_typed_text(target).rstrip("\n") + "\n", interval=TYPE_INTERVAL)]
    if action == "key":
        return [_key_action(target)]
    if action == "done":
        return [Done()]
    if action == "fail":
        return [Fail()]
    raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")


def action_code(actions: list[Action], obs: Observation | None) -> str:
    """Replayable pyautogui code for the actions (element clicks at the element's centre, with the marker)."""
    from envs.action_code import actions_to_pyautogui

    def centre(eid: int) -> tuple[int, int] | None:
        node = obs.node(eid) if obs is not None else None
        return node.center if node is not None else None

    return str(actions_to_pyautogui(actions, centre))


def parse_element_reply(text: str, obs: Observation | None = None) -> Decision:
    """A model reply -> a :class:`Decision`. Never raises: what was wrong lands in ``Decision.error``.

    Args:
        text: The model's raw reply (JSON, possibly fenced or with prose around it, or a text form).
        obs: The screen the model saw: element numbers are checked against it (None: not checked).
    """
    from envs.errors import ActionError

    raw = text or ""
    reason = ""
    try:
        reason, action, target = _reply_fields(raw)
        actions = reply_actions(action, target, obs)
        code = action_code(actions, obs)
    except (ValueError, ActionError) as exc:
        return Decision([], reason=reason, raw=raw, error=str(exc))
    return Decision(actions, reason=reason, action_code=code, raw=raw)


# ------------------------------------------------------------------------------------------- the policy


class ElementPolicy:
    """The model actor in the element action space. ``complete`` is ``(messages) -> (text, usage)``; build it
    with ``factory.completer(..., schema=ElementReply)`` so a local model is held to the reply's grammar."""

    name = "model"
    #: Retrieved examples are shown in the element replies' own layout (``render.LAYOUTS``).
    example_layout = "reply"

    def __init__(
        self, complete: Any, *, history_steps: int = DEFAULT_HISTORY_STEPS, max_elements: int = DEFAULT_MAX_ELEMENTS
    ) -> None:
        self._complete = complete
        self.history_steps = history_steps
        self.max_elements = max_elements

    def decide(self, ctx: StepContext) -> Decision:
        prompt = element_prompt(ctx, history_steps=self.history_steps, max_elements=self.max_elements)
        text, usage = self._complete([{"role": "user", "content": prompt}])
        decision = parse_element_reply(text, ctx.observation)
        decision.usage = usage or {}
        return decision


__all__ = [
    "ACTIONS",
    "ACTION_SPACES",
    "ELEMENTS_PROMPT_VERSION",
    "ElementPolicy",
    "ElementReply",
    "action_code",
    "compact_observation",
    "element_history",
    "element_line",
    "element_prompt",
    "parse_element_reply",
    "reply_actions",
    "short_action",
    "step_reply",
]
