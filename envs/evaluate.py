"""Run a task's evaluator the way OSWorld does.

1. ``postconfig`` steps run first (e.g. save a file, convert a spreadsheet to CSV).
2. ``func == "infeasible"`` scores 1 iff the agent's last action was FAIL;
   otherwise a last action of FAIL scores 0.
3. One metric: ``metric(result, expected, **options)``
   (or ``metric(result, **options)`` without ``expected``).
4. A list of metrics with ``conj``: ``"and"`` returns 0 as soon as one metric is 0, else the mean;
   ``"or"`` returns 1 as soon as one metric is 1, else the max.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from envs.errors import UnsupportedTaskTypeError
from envs.getters import get_value
from envs.metrics import METRICS
from envs.task_setup import SetupContext, run_setup

if TYPE_CHECKING:
    from envs.actions import Action
    from envs.mirror import Mirror
    from envs.sandbox import Sandbox
    from envs.tasks import Task

log = logging.getLogger(__name__)


@dataclass
class EvalResult:
    """The score plus one ``(metric, score)`` pair per metric that ran."""

    score: float
    parts: list[tuple[str, float]] = field(default_factory=list)


def is_fail(action: Action | str | None) -> bool:
    """True if ``action`` is the FAIL action (typed, or OSWorld's ``"FAIL"`` string)."""
    if action is None:
        return False
    if isinstance(action, str):
        return action.strip().upper() == "FAIL"
    return getattr(action, "kind", None) == "fail"


def _metric(name: str) -> Any:
    fn = METRICS.get(name)
    if fn is None:
        raise UnsupportedTaskTypeError(
            f"evaluator metric '{name}' is not supported; supported: {', '.join(sorted([*METRICS, 'infeasible']))}"
        )
    return fn


def _clip(value: Any) -> float:
    if isinstance(value, tuple):  # OSWorld forks return (score, reason)
        value = value[0]
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, v))


def _pick(value: Any, i: int, n: int) -> Any:
    if isinstance(value, list) and len(value) == n:
        return value[i]
    return value


def _one(sb: Sandbox, name: str, result_spec: Any, expected_spec: Any, options: Any, ctx: SetupContext) -> float:
    fn = _metric(name)
    result = get_value(sb, result_spec, ctx)
    opts = options or {}
    if expected_spec is not None:
        expected = get_value(sb, expected_spec, ctx)
        return _clip(fn(result, expected, **opts))
    return _clip(fn(result, **opts))


def evaluate_task(
    sb: Sandbox, task: Task, *, last_action: Action | str | None = None, ctx: SetupContext | None = None
) -> EvalResult:
    """Score ``task`` against the sandbox's current state.

    Raises:
        UnsupportedTaskTypeError: a metric, getter or postconfig type we do not implement.
        OfflineError: a getter or postconfig step needs the network.
    """
    ctx = ctx or SetupContext(task.base_dir)
    try:
        return _evaluate(sb, task, last_action, ctx)
    finally:
        ctx.cleanup()


def _evaluate(sb: Sandbox, task: Task, last_action: Action | str | None, ctx: SetupContext) -> EvalResult:
    ev = task.evaluator
    funcs = ev.funcs()
    for name in funcs:
        if name != "infeasible":
            _metric(name)  # fail fast on unknown metrics, before any postconfig runs
    if ev.postconfig:
        run_setup(sb, ev.postconfig, ctx, phase="postconfig")
    if funcs == ["infeasible"]:
        return EvalResult(float(is_fail(last_action)), [("infeasible", float(is_fail(last_action)))])
    if is_fail(last_action):
        return EvalResult(0.0, [("last_action_fail", 0.0)])
    if not isinstance(ev.func, list):
        s = _one(sb, funcs[0], ev.result, ev.expected, ev.options, ctx)
        return EvalResult(s, [(funcs[0], s)])
    n = len(funcs)
    parts: list[tuple[str, float]] = []
    for i, name in enumerate(funcs):
        s = _one(sb, name, _pick(ev.result, i, n), _pick(ev.expected, i, n), _pick(ev.options, i, n), ctx)
        parts.append((name, s))
        if ev.conj == "and" and s == 0.0:
            return EvalResult(0.0, parts)
        if ev.conj == "or" and s == 1.0:
            return EvalResult(1.0, parts)
    scores = [p[1] for p in parts]
    score = sum(scores) / n if ev.conj == "and" else max(scores)
    return EvalResult(score, parts)


def check_supported(task: Task, *, mirror: Mirror | None = None) -> None:
    """Check that every setup step, getter and metric of ``task`` runs offline here.

    Args:
        mirror: also require its http(s) files in this offline mirror (None: skip that check).

    Raises:
        UnsupportedTaskTypeError: listing every problem :func:`envs.task_check.task_problems` found.
    """
    from envs.task_check import task_problems

    problems = task_problems(task, mirror=mirror)
    if problems:
        where = str(task.path or task.id)
        raise UnsupportedTaskTypeError(f"{where}: " + "; ".join(problems))
