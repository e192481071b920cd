"""Build a labelled judge set from runnable tasks: run each task's solution in a real sandbox, record it.

For every task file with a solution (``<id>.actions`` beside ``<id>.json``), :func:`record_solution` resets a
fresh :class:`envs.desktop.DesktopEnv`, executes the solution one line (one step) at a time, and keeps what the
judges read: the a11y table before each step, the action code, the state changes of each step (window lists
included, :func:`envs.changes.screen_changes`), the final screen and the evaluator's score. A recording whose
score is not 1.0 is refused (its "true" instruction would not be true). :func:`build_set` labels the
candidates (:func:`studio.pipeline.eval.judge_set.label_candidates`) and writes one item file per task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from studio.errors import JudgeSetError, StudioError
from studio.pipeline.eval.judge_set import JudgeItem, SetStep, label_candidates, load_item, save_item


def task_files(paths: Sequence[Path]) -> list[Path]:
    """Task JSON files with a solution file, from files and directories (recursive), sorted, no repeats."""
    found: list[Path] = []
    for p in paths:
        for f in sorted(p.rglob("*.json")) if p.is_dir() else [p]:
            if f.with_suffix(".actions").is_file() and f not in found:
                found.append(f)
    return found


def record_solution(task_file: Path, *, width: int = 1280, height: int = 800) -> JudgeItem:
    """Run ``task_file``'s solution in a fresh sandbox; the item has no candidates yet.

    Raises:
        JudgeSetError: The solution does not score 1.0, an action failed, or the solution ends in FAIL
            (an infeasible task has no trajectory to describe).
        TaskFileError: The task file is unreadable.
    """
    from envs.action_parser import parse_actions_text
    from envs.changes import screen_changes
    from envs.desktop import DesktopEnv
    from envs.tasks import load_task
    from studio.pipeline.eval.runner import task_app

    task = load_task(task_file)
    actions_file = task_file.with_suffix(".actions")
    plan = parse_actions_text(actions_file.read_text(encoding="utf-8"), str(actions_file))
    lines = actions_file.read_text(encoding="utf-8").splitlines()
    if any(a.kind == "fail" for _, acts in plan for a in acts):
        raise JudgeSetError(f"{task_file}: the solution ends in FAIL (infeasible task); nothing to describe")
    env = DesktopEnv(width=width, height=height)
    steps: list[SetStep] = []
    try:
        obs = env.reset(task)
        for k, (lineno, acts) in enumerate(plan):
            before = obs
            try:
                for action in acts:
                    obs = env.step(action)
            except StudioError as exc:
                raise JudgeSetError(f"{actions_file} line {lineno}: {exc}") from exc
            changes = screen_changes(before.a11y_table, obs.a11y_table, before.windows, obs.windows)
            steps.append(
                SetStep(
                    index=k,
                    action_code=lines[lineno - 1].strip(),
                    observation_text=before.a11y_table,
                    changes=[c.to_dict() for c in changes],
                )
            )
        final = obs.a11y_table
        score = float(env.evaluate(task))
    finally:
        env.close()
    if score != 1.0:
        raise JudgeSetError(f"{task_file}: the recorded solution scored {score}, not 1.0; not a true example")
    return JudgeItem(
        id=task.id, app=task_app(task), task=_shown_path(task_file), score=score, steps=steps, final_observation=final
    )


def _shown_path(path: Path) -> str:
    from envs.tasks import REPO_ROOT

    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def build_set(
    paths: Sequence[Path],
    out: Path,
    *,
    record: Callable[[Path], JudgeItem] = record_solution,
    on_item: Callable[[Path, str], None] | None = None,
    skip_existing: bool = True,
) -> list[Path]:
    """Record every task with a solution under ``paths`` and write labelled items into ``out``.

    Wrong candidates come from the other tasks found (same app first). A task whose recording fails is
    reported through ``on_item(task_file, "error: ...")`` and skipped. With ``skip_existing`` an existing item's
    recording is kept and only its candidates are labelled again (a re-run records only what is missing).

    Returns:
        The item files written or kept.
    """
    from envs.tasks import load_task
    from studio.pipeline.eval.runner import task_app

    files = task_files(paths)
    tasks = [(f, load_task(f)) for f in files]
    others = [(t.id, task_app(t), t.instruction) for _, t in tasks]
    written: list[Path] = []
    for f, task in tasks:
        target = out / f"{task.id}.json"
        if skip_existing and target.exists():
            kept = load_item(target)
            kept.candidates = label_candidates(kept.id, task.instruction, kept.app, others)
            written.append(save_item(out, kept))
            if on_item:
                on_item(f, "kept")
            continue
        try:
            item = record(f)
        except StudioError as exc:
            if on_item:
                on_item(f, f"error: {exc}")
            continue
        item.candidates = label_candidates(item.id, task.instruction, item.app, others)
        written.append(save_item(out, item))
        if on_item:
            on_item(f, f"{len(item.steps)} steps, {len(item.candidates)} candidates")
    return written
