"""``studio task run`` and ``studio task validate``: run OSWorld-format tasks in a fresh sandbox.

``run`` prints ONE JSON object on stdout: ``{"task_id", "score", "steps", "error", "elapsed_s"}`` and exits 0
whenever the task ran (whatever the score); bad CLI usage or an unreadable task file exit non-zero with a
message on stderr.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

task_app = typer.Typer(help="Run and check OSWorld-format task files.", no_args_is_help=True)


def run_task(
    task_file: Path,
    actions_file: Path | None = None,
    *,
    width: int = 1280,
    height: int = 800,
    keep_open: bool = False,
) -> dict[str, Any]:
    """Run one task (optionally with a solution/actions file) and return the result object.

    Raises:
        TaskFileError: the task file is unreadable or invalid (the caller exits non-zero).
    """
    from envs.action_parser import parse_actions_text
    from envs.actions import Action
    from envs.desktop import DesktopEnv
    from envs.tasks import load_task
    from studio.errors import StudioError

    t0 = time.monotonic()
    task = load_task(task_file)
    result: dict[str, Any] = {"task_id": task.id, "score": 0.0, "steps": 0, "error": None, "elapsed_s": 0.0}
    env = DesktopEnv(width=width, height=height)
    try:
        plan: list[tuple[int, list[Action]]] = []
        if actions_file is not None:
            try:
                text = actions_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise StudioError(f"cannot read actions file {actions_file}: {exc}") from exc
            plan = parse_actions_text(text, str(actions_file))
        env.reset(task)
        for lineno, actions in plan:
            try:
                for action in actions:
                    env.step(action)
            except StudioError as exc:
                result["error"] = f"{actions_file} line {lineno}: {exc}"
                break
            result["steps"] += 1
        result["score"] = env.evaluate(task)
        if keep_open:
            _wait_for_ctrl_c(env, result)
    except StudioError as exc:
        result["error"] = result["error"] or str(exc)
    finally:
        env.close()
        result["elapsed_s"] = round(time.monotonic() - t0, 3)
    return result


def _wait_for_ctrl_c(env: Any, result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)
    result["_printed"] = True
    typer.echo(f"sandbox kept open on display {env.sandbox.display}; press Ctrl-C to close it", err=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass


@task_app.command("run")
def run_cmd(
    task_file: Annotated[Path, typer.Argument(help="OSWorld-format task JSON file.")],
    actions: Annotated[
        Path | None, typer.Option("--actions", "-a", help="One pyautogui action per line ('#' comments).")
    ] = None,
    width: Annotated[int, typer.Option(min=320, max=7680, help="Display width in pixels.")] = 1280,
    height: Annotated[int, typer.Option(min=240, max=4320, help="Display height in pixels.")] = 800,
    keep_open: Annotated[
        bool, typer.Option("--keep-open", help="Keep the sandbox open until Ctrl-C.")
    ] = False,
) -> None:
    """Run TASK_FILE in a fresh sandbox, execute --actions, evaluate; print one JSON result object."""
    from studio.errors import TaskFileError

    if actions is not None and not actions.is_file():
        typer.echo(f"error: actions file {actions} does not exist", err=True)
        raise typer.Exit(2)
    try:
        result = run_task(task_file, actions, width=width, height=height, keep_open=keep_open)
    except TaskFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not result.pop("_printed", False):
        print(json.dumps(result), flush=True)


@task_app.command("validate")
def validate_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Task files or directories of them.")],
) -> None:
    """Check task files: JSON, fields, and that every setup/getter/metric type runs offline here."""
    from envs.action_parser import parse_actions_text
    from envs.evaluate import check_supported
    from envs.tasks import load_task, solution_path
    from studio.errors import StudioError

    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    if not files:
        typer.echo("error: no task files found", err=True)
        raise typer.Exit(2)
    bad = 0
    for f in files:
        try:
            task = load_task(f)
            check_supported(task)
            sol = solution_path(task)
            if sol is not None:
                parse_actions_text(sol.read_text(encoding="utf-8"), str(sol))
        except StudioError as exc:
            bad += 1
            typer.echo(f"FAIL {f}: {exc}")
            continue
        typer.echo(f"ok   {f}" + (" (+ solution)" if sol else ""))
    typer.echo(f"{len(files) - bad}/{len(files)} task files valid", err=True)
    if bad:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``task`` command group to the studio CLI."""
    app.add_typer(task_app, name="task")
