"""``studio search "QUERY"``: the retrieval index, searched like the retrieval-augmented agent does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MODES_HELP = "observation (BM25 over example screens) | model / instruction (dense) | both (fused)"


def register(app: typer.Typer) -> None:
    """Add ``search`` to the ``studio`` CLI."""

    @app.command("search")
    def search_cmd(
        query: Annotated[str, typer.Argument(help="What to look for (words of a screen, or a task).")],
        workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace directory.")] = Path("."),
        mode: Annotated[str, typer.Option("--mode", "-m", help=MODES_HELP)] = "both",
        k: Annotated[int, typer.Option("-k", min=1, help="Examples to show.")] = 5,
        all_examples: Annotated[
            bool, typer.Option("--all", help="Search every example, not only the accepted ones.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    ) -> None:
        """Find examples with scores and why each matched (fts / vector / both, matched words).

        The index is brought up to date first (new examples are embedded); if another process is writing the
        workspace, the existing index is searched as it is.
        """
        import json

        from studio.errors import WorkspaceLockedError
        from studio.llm.embedders import make_embedder
        from studio.pipeline.retrieval.index import build_index
        from studio.pipeline.retrieval.retriever import check_mode, search
        from studio.workspace import Workspace

        check_mode(mode)
        note = ""
        try:
            with Workspace.open(workspace) as ws:
                embedder = make_embedder(ws.config.roles.embedder)
                rep = build_index(ws, embedder, accepted_only=not all_examples)
                if rep.added or rep.removed:
                    note = f"index: +{rep.added} -{rep.removed} examples ({rep.total} in all)"
        except WorkspaceLockedError:
            note = "another process is writing this workspace: searching the index as it is"
            embedder = None
        with Workspace.open(workspace, readonly=True) as ws:
            hits = search(ws, query, mode=mode, k=k, embedder=embedder)
        if as_json:
            for h in hits:
                typer.echo(
                    json.dumps(
                        {
                            "example_id": h.example.id,
                            "instruction": h.example.instruction,
                            "score": h.score,
                            "source": h.source,
                            "why": h.why,
                            "matched": h.matched,
                            "status": h.example.status,
                            "app": h.example.app,
                            "steps": [list(s) for s in h.example.steps],
                        },
                        ensure_ascii=False,
                    )
                )
            return
        from rich.console import Console
        from rich.table import Table

        from studio.commands.plain import plain

        console = Console()
        if note:
            console.print(plain(note, style="dim"))
        if not hits:
            console.print(plain(f"no examples match {query!r} (mode {mode})"))
            return
        table = Table(show_header=True, show_lines=True)
        for col in ("#", "score", "source", "instruction", "why", "status", "id"):
            table.add_column(col, overflow="fold")
        for i, h in enumerate(hits, start=1):
            table.add_row(
                str(i),
                f"{h.score:.3f}",
                *(plain(v) for v in (h.source, h.example.instruction, h.why, h.example.status, h.example.id[:12])),
            )
        console.print(table)
