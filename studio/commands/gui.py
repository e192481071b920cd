"""``studio gui [WORKSPACE]``: open the desktop application (PySide6 is imported only when it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def open_gui(workspace: Path | None) -> int:
    """Open the GUI on ``workspace`` and return its exit code (used by ``studio gui`` and ``studio demo``)."""
    import os

    from studio.errors import ConfigError

    if workspace is not None and not workspace.is_dir():
        raise ConfigError(f"{workspace} is not a directory; create a workspace with `studio init {workspace}`")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        raise ConfigError("no display: set DISPLAY (or run under xvfb-run) to open the GUI")
    if workspace is not None:
        from studio.gui.data_workspace import prewarm_imports

        prewarm_imports()  # LanceDB loads while Qt starts
    from studio.gui.qt_app import run_gui

    return int(run_gui(workspace.resolve() if workspace else None))


def register(app: typer.Typer) -> None:
    """Add the ``gui`` command to the ``studio`` CLI."""

    @app.command("gui")
    def gui(
        workspace: Annotated[Path | None, typer.Argument(help="Workspace directory to open.")] = None,
    ) -> None:
        """Open the studio GUI: watch rollouts live, browse trajectories, examples and verdicts."""
        raise typer.Exit(open_gui(workspace))
