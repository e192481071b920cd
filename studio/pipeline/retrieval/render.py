"""The one text layout of a worked example: what the actor reads in its prompt and what export writes.

As the paper shows its retrieved examples: the instruction, then every step of the span with its REASON and
ACTION and what the action changed on the screen (the deterministic state change of :mod:`envs.changes`,
stored in the retrieval index)::

    Example 1: Add 12 and 30 in the calculator
      Step 1: REASON: type the first number
              ACTION: pyautogui.write('12+30')
              CHANGED: text 'display': '0' -> '12+30'
      Step 2: REASON: compute the result
              ACTION: pyautogui.press('enter')
              CHANGED: text 'display': '12+30' -> '42'

:func:`pack_examples` fills a token budget with examples in the order given (best first) and never exceeds it;
an example that does not fit whole loses its CHANGED lines first, then its last steps. Tokens are estimated as
``ceil(len(text) / 4)`` (:func:`estimate_tokens`), a documented over-estimate for English and a11y text with
common BPE tokenizers.

Used by the retrieval-augmented agent (``Retriever.examples_for`` fills ``StepContext.examples_text``, which
:func:`studio.pipeline.agent.policies.build_actor_prompt` puts under "Examples of similar interactions"), by
``studio serve`` (``prompt_text``) and by export (``--examples N``: the same block in every training row, in the
``reply`` layout when the rows are the element actor's, :mod:`studio.export.elements`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.pipeline.retrieval.index import IndexedExample

__all__ = ["LAYOUTS", "MAX_CHANGE_CHARS", "estimate_tokens", "format_example", "pack_examples"]

#: ``code``: REASON / ACTION (pyautogui code) lines, for the pyautogui actor (``actor.v1``) and export;
#: ``reply``: the element actor's own lines (``Task:``, then one ``Reply:`` JSON per step, as it answers).
LAYOUTS = ("code", "reply")

#: Characters of one step's CHANGED line (the change lines joined by "; ").
MAX_CHANGE_CHARS = 240
_INDENT = "          "  # under "  Step N: "


def estimate_tokens(text: str) -> int:
    """Token estimate used by the packer: ``ceil(len(text) / 4)`` (no tokenizer needed, errs high)."""
    return (len(text) + 3) // 4


def _changed(text: str) -> str:
    line = "; ".join(part.strip() for part in text.splitlines() if part.strip())
    return line if len(line) <= MAX_CHANGE_CHARS else line[: MAX_CHANGE_CHARS - 3] + "..."


def format_example(
    example: IndexedExample,
    number: int,
    max_steps: int | None = None,
    *,
    changes: bool = True,
    layout: str = "code",
) -> str:
    """One example: ``Example N: instruction``, then REASON / ACTION (/ CHANGED) per span step.

    Args:
        example: The example (its ``changes`` are per step; a step whose change is unknown has no CHANGED line).
        number: Its number in the prompt.
        max_steps: Show only the first steps (None: all).
        changes: Show the CHANGED lines.
        layout: ``code`` or ``reply`` (:data:`LAYOUTS`).
    """
    steps = example.steps if max_steps is None else example.steps[:max_steps]
    if layout == "reply":
        return _reply_layout(example, number, steps, changes)
    lines = [f"Example {number}: {example.instruction}"]
    for i, (reason, action) in enumerate(steps, start=1):
        lines.append(f"  Step {i}: REASON: {reason.strip() or '-'}")
        lines.append(f"{_INDENT}ACTION: {action.strip() or '-'}")
        change = example.changes[i - 1] if changes and i - 1 < len(example.changes) else ""
        if change.strip():
            lines.append(f"{_INDENT}CHANGED: {_changed(change)}")
    return "\n".join(lines)


def _reply_layout(example: IndexedExample, number: int, steps: list[tuple[str, str]], changes: bool) -> str:
    """The element actor's layout: a small model copies the shape of a reply it has seen in its own format
    (BENCHMARKS.md, "Offline actor"): ``Task:`` then per step ``Reply: {json}`` and ``Changed:``."""
    from studio.pipeline.agent.elements import short_action, step_reply

    lines = [f"Example {number}", f"Task: {example.instruction}"]
    for i, (reason, action) in enumerate(steps, start=1):
        reply = step_reply(reason, action)
        lines.append(f"Reply: {reply}" if reply is not None else f"Step: {short_action(action)}")
        change = example.changes[i - 1] if changes and i - 1 < len(example.changes) else ""
        if change.strip():
            lines.append(f"Changed: {_changed(change)}")
    return "\n".join(lines)


def pack_examples(examples: Sequence[Any], budget_tokens: int, layout: str = "code") -> str:
    """Format examples (``IndexedExample`` or retrieval ``Hit``) in order until the budget is used.

    Never exceeds ``budget_tokens`` (estimated). An example that does not fit whole is tried without its
    CHANGED lines, then with fewer steps (at least one, with and then without changes); if that does not fit
    either it is skipped and the next, possibly shorter, one is tried. Numbers follow the examples shown.
    """
    parts: list[str] = []
    for item in examples:
        ex = getattr(item, "example", item)
        block = _fitting(ex, parts, budget_tokens, layout)
        if block is not None:
            parts.append(block)
    return "\n\n".join(parts)


def _fitting(ex: IndexedExample, parts: list[str], budget_tokens: int, layout: str = "code") -> str | None:
    """The fullest rendering of ``ex`` that still fits after ``parts``, or None."""
    n = len(ex.steps)
    for max_steps in range(n, 0, -1) if n else [0]:
        for show in (True, False):
            block = format_example(ex, len(parts) + 1, max_steps, changes=show, layout=layout)
            if estimate_tokens("\n\n".join([*parts, block])) <= budget_tokens:
                return block
    return None
