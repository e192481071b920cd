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

from studio.commands.plain import terminal_safe

task_app = typer.Typer(help="Run and check OSWorld-format task files.", no_args_is_help=True)

MIRROR_OPTION = typer.Option(
    "--mirror", help="Offline file mirror directory (default: $STUDIO_MIRROR or ~/.cache/studio/mirror)."
)


def run_task(
    task_file: Path,
    actions_file: Path | None = None,
    *,
    width: int = 1280,
    height: int = 800,
    keep_open: bool = False,
    mirror: Path | None = None,
) -> dict[str, Any]:
    """Run one task (optionally with a solution/actions file) and return the result object.

    A task that would not run here (an unsupported type, a file missing from the mirror, a program that is not
    installed) is not started: its ``error`` lists every problem, so it never scores a silent 0.

    Raises:
        TaskFileError: the task file is unreadable or invalid (the caller exits non-zero).
    """
    from envs.action_parser import parse_actions_text
    from envs.actions import Action
    from envs.desktop import DesktopEnv
    from envs.mirror import Mirror
    from envs.task_check import task_problems
    from envs.tasks import load_task
    from studio.errors import StudioError

    t0 = time.monotonic()
    task = load_task(task_file)
    result: dict[str, Any] = {"task_id": task.id, "score": 0.0, "steps": 0, "error": None, "elapsed_s": 0.0}
    files = Mirror(mirror)
    problems = task_problems(task, mirror=files)
    if problems:
        result["error"] = "the task cannot run here: " + "; ".join(problems)
        result["elapsed_s"] = round(time.monotonic() - t0, 3)
        return result
    env = DesktopEnv(width=width, height=height, mirror=files)
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
    keep_open: Annotated[bool, typer.Option("--keep-open", help="Keep the sandbox open until Ctrl-C.")] = False,
    mirror: Annotated[Path | None, MIRROR_OPTION] = None,
) -> None:
    """Run TASK_FILE in a fresh sandbox, execute --actions, evaluate; print one JSON result object."""
    from studio.errors import TaskFileError

    if actions is not None and not actions.is_file():
        typer.echo(f"error: actions file {actions} does not exist", err=True)
        raise typer.Exit(2)
    try:
        result = run_task(task_file, actions, width=width, height=height, keep_open=keep_open, mirror=mirror)
    except TaskFileError as exc:
        typer.echo(terminal_safe(f"error: {exc}"), err=True)
        raise typer.Exit(2) from exc
    if not result.pop("_printed", False):
        print(json.dumps(result), flush=True)


def _task_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    if not files:
        typer.echo("error: no task files found", err=True)
        raise typer.Exit(2)
    return files


@task_app.command("validate")
def validate_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Task files or directories of them.")],
    mirror: Annotated[Path | None, MIRROR_OPTION] = None,
) -> None:
    """Check task files: JSON, fields, every setup/getter/metric type, mirrored downloads, config scripts,
    installed programs, and solution files. Prints every problem of a file under its path."""
    from envs.action_parser import parse_actions_text
    from envs.mirror import Mirror
    from envs.task_check import task_problems
    from envs.tasks import load_task, solution_path
    from studio.errors import StudioError

    files = _task_files(paths)
    store = Mirror(mirror)
    bad = 0
    for f in files:
        problems: list[str] = []
        sol = None
        try:
            task = load_task(f)
            problems = task_problems(task, mirror=store)
            sol = solution_path(task)
            if sol is not None:
                parse_actions_text(sol.read_text(encoding="utf-8"), str(sol))
        except StudioError as exc:
            problems.append(str(exc).removeprefix(f"{f}: "))
        if problems:
            bad += 1
            typer.echo(f"FAIL {f}")
            for p in problems:  # they quote the stranger's task file
                typer.echo(terminal_safe(f"     - {p}"))
            continue
        typer.echo(f"ok   {f}" + (" (+ solution)" if sol else ""))
    typer.echo(f"{len(files) - bad}/{len(files)} task files valid", err=True)
    if bad:
        raise typer.Exit(1)


@task_app.command("mirror")
def mirror_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(help="Task files or directories of them.")] = None,
    mirror: Annotated[Path | None, MIRROR_OPTION] = None,
    put: Annotated[
        tuple[str, Path] | None,
        typer.Option("--put", help="Store FILE in the mirror as the content of URL.", metavar="URL FILE"),
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Only list what is missing.")] = False,
) -> None:
    """Fill the offline mirror with the http(s) files of task files (downloads and gold files).

    With a network, missing files are downloaded; offline (or with --offline) the missing URLs are listed.
    """
    from envs.mirror import Mirror
    from envs.task_check import task_urls
    from envs.tasks import load_task
    from studio.errors import StudioError

    store = Mirror(mirror)
    if put is not None:
        url, src = put
        try:
            dest = store.put(url, src)
        except StudioError as exc:
            typer.echo(terminal_safe(f"error: {exc}"), err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"stored {url} -> {dest}")
        if not paths:
            return
    if not paths:
        typer.echo("error: give task files (or --put URL FILE)", err=True)
        raise typer.Exit(2)
    urls: list[str] = []
    for f in _task_files(paths):
        try:
            urls += [u for u in task_urls(load_task(f)) if u not in urls]
        except StudioError as exc:
            typer.echo(f"skip {f}: {exc}", err=True)
    have = [u for u in urls if store.has(u)]
    missing = [u for u in urls if not store.has(u)]
    failed: list[str] = []
    fetched = 0
    for u in [] if offline else list(missing):
        try:
            store.fetch(u)
        except StudioError as exc:
            failed.append(u)
            typer.echo(f"cannot fetch {u}: {exc}", err=True)
            if len(failed) >= 3 and fetched == 0:
                typer.echo("no network (3 downloads failed, none worked): listing the rest", err=True)
                break
            continue
        fetched += 1
        missing.remove(u)
        have.append(u)
        typer.echo(f"fetched {u}")
    for u in missing:
        typer.echo(f"missing {u}")
    typer.echo(f"{len(have)}/{len(urls)} files in the mirror {store.root}", err=True)
    if missing:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``task`` command group to the studio CLI."""
    app.add_typer(task_app, name="task")
