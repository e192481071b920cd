"""``studio export --format F --out DIR``: accepted examples as a fine-tuning dataset (see :mod:`studio.export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

PRESET_HELP = (
    "A model family's coordinates + action syntax: qwen2.5-vl | qwen2-vl | internvl | ui-tars | ui-tars-1.5 | "
    "smol2operator | computer-13 | osworld (default). --coords/--action-syntax override it."
)
ACTION_SPACE_HELP = (
    "Row layout: elements (the element actor's prompt -> one JSON reply) | pyautogui (actor.v1 -> REASON/ACTION "
    "code) | auto: the one the workspace's actor acts with ([agent] action_space)."
)
STATUS_HELP = (
    "accepted (committee or a person; a person's reject wins) | committee | reviewed (a person accepted) | "
    "disputed | rejected | pending | all. Repeat to combine."
)


def register(app: typer.Typer) -> None:
    """Add ``export`` to the ``studio`` CLI."""

    @app.command("export")
    def export_cmd(
        fmt: Annotated[
            str, typer.Option("--format", "-f", help="openai | sharegpt | hf | llamafactory | trl | ms-swift | adp")
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (empty, or an earlier export).")],
        workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace directory.")] = Path("."),
        granularity: Annotated[
            str, typer.Option(help="step: one action-prediction pair per step | example: the whole span")
        ] = "step",
        observation: Annotated[str, typer.Option(help="a11y | screenshot | both")] = "a11y",
        status: Annotated[list[str] | None, typer.Option("--status", help=STATUS_HELP)] = None,
        kind: Annotated[list[str] | None, typer.Option("--kind", help="instruction | replicate (repeat)")] = None,
        app_name: Annotated[list[str] | None, typer.Option("--app", help="Only these apps (repeat).")] = None,
        min_span: Annotated[int, typer.Option("--min-span", min=1, help="Fewest steps per example.")] = 1,
        max_span: Annotated[int | None, typer.Option("--max-span", min=1, help="Most steps per example.")] = None,
        quorum: Annotated[
            str | None, typer.Option(help="all | majority | N judges (default: the workspace's setting)")
        ] = None,
        task_status: Annotated[
            list[str] | None,
            typer.Option(
                "--task-status",
                help="Only runs of tasks with this check status: proven | verified | unverified | pending (repeat).",
            ),
        ] = None,
        min_score: Annotated[
            float | None,
            typer.Option("--min-score", help="Only runs whose task check scored at least this (1.0: passed)."),
        ] = None,
        split: Annotated[str, typer.Option(help="train,validation,test fractions (by trajectory)")] = "0.8,0.1,0.1",
        seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
        redact: Annotated[
            bool,
            typer.Option(
                "--redact/--no-redact",
                help="Also remove e-mails and opaque tokens (API keys and local paths are always removed).",
            ),
        ] = True,
        name: Annotated[str, typer.Option(help="Dataset name (LLaMA-Factory entries, card title).")] = "studio",
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier export in --out.")] = False,
        preset: Annotated[str | None, typer.Option(help=PRESET_HELP)] = None,
        coords: Annotated[
            str | None, typer.Option(help="pixels | 0-1 | 0-1000 | resized (Qwen2.5-VL smart_resize) [preset's]")
        ] = None,
        action_syntax: Annotated[
            str | None, typer.Option("--action-syntax", help="pyautogui | computer_13 | uitars | smol [preset's]")
        ] = None,
        max_pixels: Annotated[
            int | None, typer.Option("--max-pixels", min=784, help="resized coords: the processor's max_pixels")
        ] = None,
        min_pixels: Annotated[
            int | None, typer.Option("--min-pixels", min=784, help="resized coords: the processor's min_pixels")
        ] = None,
        examples: Annotated[
            int,
            typer.Option(
                "--examples",
                min=0,
                help="Retrieved examples in each per-step prompt, as the rag actor sees them "
                "(needs the retrieval index: studio search -w DIR QUERY).",
            ),
        ] = 0,
        action_space: Annotated[str, typer.Option("--action-space", help=ACTION_SPACE_HELP)] = "auto",
    ) -> None:
        """Export examples for fine-tuning, with a progress bar and a summary of what was written."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        from rich.table import Table

        from studio.export import ExportOptions, export_dataset
        from studio.export.split import parse_fractions

        opts = ExportOptions(
            format=fmt,
            granularity=granularity,
            observation=observation,
            status=tuple(status or ["accepted"]),
            kinds=tuple(kind or ()),
            apps=tuple(app_name or ()),
            min_span=min_span,
            max_span=max_span,
            quorum=quorum,
            task_status=tuple(task_status or ()),
            min_score=min_score,
            split=parse_fractions(split),
            seed=seed,
            redact=redact,
            name=name,
            preset=preset,
            coords=coords,
            action_syntax=action_syntax,
            max_pixels=max_pixels,
            min_pixels=min_pixels,
            examples=examples,
            action_space=action_space,
        ).validate()
        console = Console(stderr=True)
        with Progress(
            TextColumn("exporting examples"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("export", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = export_dataset(workspace, out, opts, progress=progress, overwrite=overwrite)
        conv = opts.convention
        title = f"{fmt} export -> {summary.out}"
        if not conv.is_default:
            title += f" ({conv.syntax}, {conv.coords} coordinates)"
        table = Table(title=title, show_header=True)
        table.add_column("split")
        table.add_column("rows", justify="right")
        for s, n in summary.rows.items():
            table.add_row(s, str(n))
        table.add_row("total", str(summary.total_rows))
        out_console = Console()
        out_console.print(table)
        rate = summary.total_rows / summary.seconds if summary.seconds else 0.0
        out_console.print(
            f"{summary.examples} examples from {summary.trajectories} trajectories, {summary.images} images, "
            f"{len(summary.files)} files in {summary.seconds:.1f} s ({rate:.0f} rows/s)"
        )
        out_console.print(f"rows in the {summary.action_space} layout ({summary.action_space_why})")
        if summary.skipped:
            left = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped.items(), key=lambda kv: -kv[1]))
            out_console.print(f"[yellow]left out, no element form: {left}[/yellow]")
        if not summary.total_rows:
            out_console.print(
                "[yellow]no example passed the filters; try --status all or check the committee's verdicts[/yellow]"
            )
