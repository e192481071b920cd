"""``studio init DIR`` and ``studio info [DIR]``: create a workspace and show what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``init`` and ``info`` to the ``studio`` CLI."""

    @app.command("init")
    def init(
        directory: Annotated[Path, typer.Argument(help="Directory to create the workspace in.")],
    ) -> None:
        """Create a workspace: studio.toml with commented defaults (offline model for every role)."""
        from studio.workspace import Workspace

        with Workspace.init(directory) as ws:
            typer.echo(f"Created workspace {ws.path}")
            typer.echo(f"Edit {ws.path / 'studio.toml'} to choose models; every role defaults to the offline model.")

    @app.command("info")
    def info(
        directory: Annotated[Path, typer.Argument(help="Workspace directory.")] = Path("."),
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """Show schema version, embedder, rows per table, trajectory statuses and disk usage."""
        import json

        from studio.workspace import Workspace
        from studio.workspace.lock import LOCK_NAME, is_locked, read_lock_info

        with Workspace.open(directory, readonly=True) as ws:
            data = ws.info()
        data["writer"] = read_lock_info(ws.path / LOCK_NAME) if is_locked(ws.path) else None
        if as_json:
            typer.echo(json.dumps(data, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        from studio.commands.plain import plain

        console = Console()
        emb = data["embedder"]
        console.print(
            plain(data["path"], style="bold"),
            plain(f" schema {data['schema_version']}  (studio {data['studio_version']})"),
        )
        console.print(plain(f"embedder: {emb['name']} ({emb['dim']} dims)" if emb else "embedder: none yet"))
        writer = data["writer"]  # the lock file's word: plain text
        console.print(plain(f"writer: pid {writer.get('pid')} on {writer.get('host')}" if writer else "writer: none"))
        table = Table(show_header=True)
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, n in data["counts"].items():
            table.add_row(name, f"{n:,}")
        table.add_row("screenshots", f"{data['screenshots']:,}")
        console.print(table)
        if data["trajectory_status"]:
            console.print("trajectories: " + ", ".join(f"{k} {v}" for k, v in data["trajectory_status"].items()))
        disk = data["disk"]
        console.print(
            f"disk: db {disk['db'] / 1e6:.1f} MB, blobs {disk['blobs'] / 1e6:.1f} MB, "
            f"total {disk['total'] / 1e6:.1f} MB"
        )
