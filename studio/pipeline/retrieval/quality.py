"""Retrieval quality without any model: hit@k, how often the top-k retrieved examples contain the next action of
a held-out solution trajectory (``benchmarks/bench_retrieval.py`` reports it per mode)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studio.errors import WorkspaceError
from studio.pipeline.retrieval.index import IndexedExample

if TYPE_CHECKING:
    from envs.actions import Action
    from studio.pipeline.agent.policies import HistoryItem
    from studio.pipeline.retrieval.retriever import Retriever
    from studio.workspace import Workspace

__all__ = [
    "HeldOutCase",
    "actions_match",
    "cases_from_workspace",
    "code_actions",
    "example_actions",
    "hit_at_k",
    "normalize_actions",
]


@dataclass
class HeldOutCase:
    """One step of a held-out solution trajectory: what the agent saw and the action that came next."""

    instruction: str
    observation_text: str
    next_actions: list[Action]
    history: list[HistoryItem] = field(default_factory=list)
    app: str = ""


def normalize_actions(actions: Sequence[Action]) -> list[Action]:
    """Fold ``moveTo(x, y); click()`` into ``Click(x, y)``; drop waits and bare moves."""
    from envs.actions import Click, Move, Wait

    out: list[Action] = []
    pos: tuple[int, int] | None = None
    for a in actions:
        if isinstance(a, Move) and not a.relative:
            pos = (a.x, a.y)
            continue
        if isinstance(a, Click) and a.x is None and pos is not None:
            a = Click(pos[0], pos[1], button=a.button, clicks=a.clicks)
        if isinstance(a, Wait):
            continue
        out.append(a)
    return out


def actions_match(a: Action, b: Action, tolerance: int = 20) -> bool:
    """Same kind and target: coordinates within ``tolerance`` px, same text (case-folded), same keys."""
    if a.kind != b.kind:
        return False
    if a.kind in ("click", "move", "mouse_down", "mouse_up", "scroll"):
        ax, ay = getattr(a, "x", None), getattr(a, "y", None)
        bx, by = getattr(b, "x", None), getattr(b, "y", None)
        if (ax is None) != (bx is None) or (ay is None) != (by is None):
            return False
        if ax is not None and (abs(ax - bx) > tolerance or abs(ay - by) > tolerance):  # type: ignore[operator]
            return False
        if a.kind == "scroll":
            return (a.clicks > 0) == (b.clicks > 0) and a.horizontal == b.horizontal  # type: ignore[union-attr]
        return getattr(a, "button", None) == getattr(b, "button", None)
    if a.kind == "type":
        return a.text.strip().casefold() == b.text.strip().casefold()  # type: ignore[union-attr]
    if a.kind == "key":
        return a.key == b.key  # type: ignore[union-attr]
    if a.kind == "hotkey":
        return sorted(a.keys) == sorted(b.keys)  # type: ignore[union-attr]
    if a.kind == "click_element":
        return a.element_id == b.element_id  # type: ignore[union-attr]
    if a.kind == "drag":
        return a == b
    return True  # done, fail, wait, key_down/up by kind


_PARSED: dict[str, list[Any]] = {}


def code_actions(code: str) -> list[Action]:
    """The normalized typed actions of one step's action code (``[]`` if it does not parse)."""
    from envs.action_parser import parse_action_text
    from studio.errors import ActionError

    if code not in _PARSED:
        try:
            _PARSED[code] = normalize_actions(parse_action_text(code)) if code.strip() else []
        except ActionError:
            _PARSED[code] = []
        if len(_PARSED) > 100_000:
            _PARSED.clear()
    return list(_PARSED[code])


def example_actions(example: IndexedExample) -> list[Action]:
    """Every typed action of an example's span (unparseable action strings are skipped)."""
    return [a for _reason, code in example.steps for a in code_actions(code)]


def hit_at_k(
    retriever: Retriever,
    cases: Sequence[HeldOutCase],
    ks: Sequence[int] = (1, 3, 5),
    *,
    mode: str | None = None,
    tolerance: int = 20,
) -> dict[str, float]:
    """Share of cases whose top-k retrieved examples contain the next solution action, per k.

    The next action is the first of the case's ``next_actions`` after :func:`normalize_actions`; an example
    "contains" it if any action of its span matches by :func:`actions_match`. Returns
    ``{"hit@1": ..., "hit@3": ..., "n": cases used}`` (cases without an action are skipped).
    """
    counts = dict.fromkeys(ks, 0)
    n = 0
    for case in cases:
        target = normalize_actions(case.next_actions)
        if not target:
            continue
        n += 1
        hits = retriever.retrieve(case.instruction, case.observation_text, case.history, mode=mode).hits
        first = None
        for rank, h in enumerate(hits):
            if any(actions_match(target[0], a, tolerance) for a in example_actions(h.example)):
                first = rank
                break
        for k in ks:
            if first is not None and first < k:
                counts[k] += 1
    out: dict[str, float] = {f"hit@{k}": (counts[k] / n if n else 0.0) for k in ks}
    out["n"] = float(n)
    return out


def cases_from_workspace(ws: Workspace, trajectory_ids: Sequence[str]) -> list[HeldOutCase]:
    """Held-out cases from stored trajectories: one per step (its observation and its own actions)."""
    from envs.actions import action_from_dict
    from studio.pipeline.agent.policies import HistoryItem
    from studio.workspace import Trajectory

    cases = []
    for tid in trajectory_ids:
        try:
            traj = ws.get(Trajectory, tid)
        except WorkspaceError:
            continue
        history: list[HistoryItem] = []
        for s in ws.steps_of(tid):
            # The step's code is what an example of it holds (an element click is stored as click_element(N)
            # but its code, like the example's, is a click at the element's point): compare like with like.
            actions = code_actions(s.action_code) or [action_from_dict(a) for a in s.actions]
            cases.append(HeldOutCase(traj.instruction, s.observation_text, actions, list(history), traj.app))
            history.append(HistoryItem(s.reason, s.action_code, s.error))
    return cases
