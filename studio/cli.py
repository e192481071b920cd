"""The ``studio`` command line.

Each command group lives in ``studio/commands/<name>.py`` and exposes ``register(app)``. Keep imports at the
top of those modules light: ``studio --help`` must stay fast (litellm, torch, lancedb, gi and PySide6 are
imported inside the commands that need them).
"""

from __future__ import annotations

import importlib
import sys

import typer

from studio.commands.plain import terminal_safe
from studio.errors import StudioError

app = typer.Typer(
    name="studio",
    help="Learn-by-Interact Studio: synthesize agent training data from real, sandboxed desktop apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, registered in this order (each has register(app)).
COMMAND_MODULES = [
    "workspace",
    "doctor",
    "pipeline",
    "tasks",
    "task",
    "costs",
    "eval",
    "gui",
    "search",
    "export",
    "judge",
    "serve",
]


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"studio.commands.{name}").register(app)


_register_all()


def optional_values(argv: list[str]) -> list[str]:
    """``--ray`` takes an optional ADDRESS, which typer options cannot: a bare ``--ray`` becomes
    ``--ray=:config:`` (Ray at the config's ``[executor] address``)."""
    from studio.config import RAY_FROM_CONFIG

    out = []
    for i, arg in enumerate(argv):
        bare = arg == "--ray" and (i + 1 == len(argv) or argv[i + 1].startswith("-"))
        out.append(f"--ray={RAY_FROM_CONFIG}" if bare else arg)
    return out


def main() -> None:
    """Console entry point: turns StudioError into a clear one-line message and exit code 2."""
    try:
        app(args=optional_values(sys.argv[1:]))
    except StudioError as exc:
        typer.secho(terminal_safe(f"error: {exc}"), fg=typer.colors.RED, err=True)  # may quote task files
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
