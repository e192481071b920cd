"""``studio tasks``: write tasks (self-instruct), and ``list``, ``import`` and ``verify`` them.

``studio tasks`` alone runs the self-instruct stage as before; the subcommands work on the task pool:

* ``studio tasks list`` shows every task with its check status (proven / verified / unverified / pending) and
  the reason when it is not verified;
* ``studio tasks import DIR...`` adds OSWorld-format task files as seeds (origin ``imported``);
* ``studio tasks verify`` validates pending checks in sandboxes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from studio.commands.pipeline import NoCacheOpt, WorkspaceOpt, run_stages

tasks_app = typer.Typer(
    help="Self-instruct (no subcommand), and the task pool: list, import, verify.",
    invoke_without_command=True,
)


@tasks_app.callback()
def tasks(ctx: typer.Context, workspace: WorkspaceOpt = Path("."), no_cache: NoCacheOpt = False) -> None:
    """Self-instruct: propose tasks (with checks, see [verify]) from each app's documents."""
    if ctx.invoked_subcommand is None:
        run_stages(workspace, ["tasks"], no_cache=no_cache)


@tasks_app.command("list")
def list_cmd(
    workspace: WorkspaceOpt = Path("."),
    status: Annotated[list[str], typer.Option("--status", "-s", help="Only these check statuses.")] = [],  # noqa: B006
    app_name: Annotated[str, typer.Option("--app", help="Only tasks of this app.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, with the check.")] = False,
) -> None:
    """Every task with its check status and, when it is not verified, why."""
    from rich.console import Console
    from rich.table import Table

    from studio.commands.plain import plain
    from studio.workspace import CHECK_STATUSES, Task, Workspace

    bad = [s for s in status if s not in CHECK_STATUSES]
    if bad:
        raise typer.BadParameter(f"unknown status {bad}; use {', '.join(CHECK_STATUSES)}", param_hint="--status")
    with Workspace.open(workspace, readonly=True) as ws:
        rows = [
            t
            for t in ws.list(Task, limit=None)
            if (not status or t.check_status in status) and (not app_name or t.app == app_name)
        ]
    if as_json:
        for t in rows:
            print(json.dumps(t.model_dump(), ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} task(s)")
    for col in ("id", "app", "origin", "check", "reason", "instruction"):
        table.add_column(col, overflow="fold")
    for t in rows:  # every cell may be model- or task-file-written: shown as plain text
        table.add_row(
            plain(t.id),
            plain(t.app),
            plain(t.origin),
            plain(t.check_status),
            plain("" if t.check_status in ("proven",) else t.check_reason[:60]),
            plain(t.instruction[:80]),
        )
    console = Console()
    console.print(table)
    counts: dict[str, int] = {}
    for t in rows:
        counts[t.check_status] = counts.get(t.check_status, 0) + 1
    console.print(", ".join(f"{k} {counts[k]}" for k in CHECK_STATUSES if k in counts) or "no tasks")


@tasks_app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="OSWorld-format task files or directories of them.")],
    workspace: WorkspaceOpt = Path("."),
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Validate them in sandboxes now.")] = True,
) -> None:
    """Import task files as seeds: validated like any task, rolled out, and shown to the task writer."""
    from studio.commands.plain import terminal_safe
    from studio.pipeline.stages.task_check import import_tasks
    from studio.workspace import Workspace

    missing = [p for p in paths if not p.exists()]
    if missing:
        typer.echo(f"error: {', '.join(map(str, missing))} does not exist", err=True)
        raise typer.Exit(2)
    with Workspace.open(workspace) as ws:
        result = import_tasks(ws, paths)
    for f, why in result.failed:
        typer.secho(terminal_safe(f"FAIL {f}: {why}"), fg=typer.colors.YELLOW)
    typer.echo(f"{len(result.added)} imported, {len(result.skipped)} already present, {len(result.failed)} refused")
    if result.added and verify:
        run_stages(workspace, ["verify"])
    if result.failed and not result.added and not result.skipped:
        raise typer.Exit(1)


@tasks_app.command("verify")
def verify_cmd(workspace: WorkspaceOpt = Path(".")) -> None:
    """Validate every pending task check in a fresh sandbox (proven / verified / unverified)."""
    run_stages(workspace, ["verify"])


def register(app: typer.Typer) -> None:
    """Add the ``tasks`` command group to the studio CLI."""
    app.add_typer(tasks_app, name="tasks")
