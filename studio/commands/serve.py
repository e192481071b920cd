"""``studio serve WORKSPACE``: the workspace's examples for other agents over MCP and HTTP (see studio.serve)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

TOKEN_ENV = "STUDIO_SERVE_TOKEN"


def _token(token_file: Path | None) -> tuple[str, str]:
    """``(token, where it came from)``: --token-file, else $STUDIO_SERVE_TOKEN, else a new random one."""
    import secrets

    from studio.errors import ConfigError

    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"--token-file {token_file} cannot be read ({exc.strerror}); give a readable file holding the token"
            ) from None
        if len(token) < 16:
            raise ConfigError(f"--token-file {token_file} holds a token of {len(token)} characters; use at least 16")
        return token, f"from {token_file}"
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        if len(env) < 16:
            raise ConfigError(f"${TOKEN_ENV} holds a token of {len(env)} characters; use at least 16")
        return env, f"from ${TOKEN_ENV}"
    return secrets.token_urlsafe(32), "generated"


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``studio`` CLI."""

    @app.command("serve")
    def serve_cmd(
        workspace: Annotated[Path, typer.Argument(help="Workspace directory (opened read-only).")],
        http: Annotated[
            bool, typer.Option("--http", help="Serve streamable HTTP MCP + JSON API instead of MCP over stdio.")
        ] = False,
        host: Annotated[
            str,
            typer.Option(
                help="HTTP: address to bind. Anything but loopback exposes the "
                "workspace to the network (a warning is printed)."
            ),
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP: port (0: any free port).")] = 8765,
        token_file: Annotated[
            Path | None,
            typer.Option(
                "--token-file", help=f"HTTP: file holding the bearer token (else ${TOKEN_ENV}, else a generated one)."
            ),
        ] = None,
    ) -> None:
        """Serve retrieve_examples / search_examples / get_trajectory to any agent (MCP or plain HTTP JSON).

        Without --http: MCP on stdin/stdout, for clients that start the server themselves (Claude Desktop).

        With --http: HOST:PORT, MCP at /mcp and JSON at /api, behind a bearer token.
        """
        import sys

        # One query at a time needs no intra-op parallelism; on a busy 2-core machine torch's 2 OpenMP threads made
        # one MiniLM query embedding take ~1 s instead of ~90 ms (BENCHMARKS.md, studio serve). Before torch loads.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from studio.serve.service import ExampleService

        service = ExampleService(workspace)
        try:
            if not http:
                from studio.serve.mcp_server import run_stdio

                run_stdio(service)
                return
            from studio.serve.http import LOOPBACK, run_http

            token, origin = _token(token_file)
            if host not in LOOPBACK:
                typer.secho(
                    f"warning: binding {host}: anyone who can reach this port and has the token can read "
                    "every example, trajectory and screenshot of the workspace",
                    fg=typer.colors.YELLOW,
                    err=True,
                )
            print(
                f"token ({origin}): {token}" if origin == "generated" else f"token: {origin}",
                file=sys.stderr,
                flush=True,
            )
            run_http(service, token, host=host, port=port)
        finally:
            service.close()
