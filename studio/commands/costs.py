"""``studio costs [WORKSPACE]``: model calls, tokens and cost per stage and model, from the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from studio.commands.plain import plain

if TYPE_CHECKING:
    from rich.text import Text

    from studio.llm.ledger import LedgerTotals


def register(app: typer.Typer) -> None:
    """Add the ``costs`` command to the ``studio`` CLI."""

    @app.command("costs")
    def costs(
        workspace: Annotated[Path, typer.Argument(help="Workspace directory (holds ledger.jsonl).")] = Path("."),
    ) -> None:
        """Print model calls, cache hits, errors, tokens, cost and latency per stage and model."""
        from rich.console import Console
        from rich.table import Table

        from studio.llm.ledger import LEDGER_NAME, read_ledger, summarize

        console = Console()
        path = workspace / LEDGER_NAME
        records = read_ledger(path)
        if not records:
            console.print(plain(f"No model calls recorded yet in {path}."))
            return
        summary = summarize(records)
        table = Table(title=f"Model calls in {workspace}")
        table.add_column("stage", overflow="fold")
        table.add_column("model", overflow="fold")
        for col in ("calls", "hits", "errors", "in tok", "out tok", "USD", "secs"):
            table.add_column(col, justify="right", no_wrap=True, min_width=len(col))
        table.caption = "hits = cache hits; in/out tok = prompt/completion tokens; USD: litellm cost map"

        def row(stage: str, model: str, t: LedgerTotals) -> list[Text | str]:
            return [
                plain(stage),  # the ledger is a file in the workspace: plain text
                plain(model),
                str(t.calls),
                str(t.cache_hits),
                str(t.errors),
                f"{t.prompt_tokens:,}",
                f"{t.completion_tokens:,}",
                f"{t.cost:.4f}",
                f"{t.latency_s:.1f}",
            ]

        for (stage, model), totals in summary.by_stage_model.items():
            table.add_row(*row(stage, model, totals))
        table.add_section()
        table.add_row(*row("total", "", summary.total), style="bold")
        console.print(table)
