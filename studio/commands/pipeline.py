"""Pipeline commands: ``studio docs add``, ``tasks``, ``rollout``, ``backward``, ``judge``, ``run`` and ``demo``.

Every command opens the workspace as its one writer, shows a rich progress display, and stops cleanly on
Ctrl-C (the item in flight finishes or is dropped; a second Ctrl-C aborts at once). Running it again continues
where it stopped; finished model calls come from the cache.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from studio.commands.plain import plain, terminal_safe

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace directory.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Ignore cached model answers (calls again).")]
ParallelOpt = Annotated[int, typer.Option("--parallel", "-k", help="Sandboxes at once.")]
PolicyOpt = Annotated[str, typer.Option(help="model | explorer | model+explorer")]
RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Run the sandboxes on a Ray cluster: --ray HOST:PORT, or --ray alone for the address in "
        "studio.toml's executor section (empty: a Ray started on this machine, on 127.0.0.1).",
    ),
]


@contextmanager
def _stop_on_ctrl_c() -> Iterator[threading.Event]:
    """First Ctrl-C (or SIGTERM) sets the stop event; a second Ctrl-C raises KeyboardInterrupt."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        typer.secho("\nstopping after the item in flight (Ctrl-C again to abort)...", err=True, fg=typer.colors.YELLOW)

    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


class RichObserver:
    """Renders stage progress: stage, items done/total, rollout steps, tokens, cost, elapsed."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.steps = 0
        self.tokens = 0
        self.cost = 0.0

    def _extra(self) -> str:
        return f"steps {self.steps}  tokens {self.tokens}  ${self.cost:.4f}"

    def stage_started(self, stage: str, total: int) -> None:
        self.tasks[stage] = self.progress.add_task(stage, total=max(total, 0), extra="")

    def advanced(self, stage: str, n: int = 1, *, detail: str = "") -> None:
        if stage in self.tasks:
            self.progress.update(self.tasks[stage], advance=n, extra=terminal_safe(detail[:40]))

    def stage_finished(self, summary: Any) -> None:
        if summary.stage in self.tasks:
            t = self.tasks[summary.stage]
            self.progress.update(
                t, completed=self.progress.tasks[t].total, extra=f"+{summary.done} new, {summary.skipped} kept"
            )

    def event(self, event: Any) -> None:
        from studio.pipeline.rollout.episode import StepEvent

        if isinstance(event, StepEvent):
            self.steps += 1
            usage = event.step.usage
            self.tokens += int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
            self.cost += float(usage.get("cost", 0.0))
            if "rollouts" in self.tasks:
                self.progress.update(self.tasks["rollouts"], extra=self._extra())


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[extra]}", markup=False),
        transient=False,
    )


def _print_summary(ws: Any, summaries: Sequence[Any], stopped: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from studio.llm.ledger import LEDGER_NAME, read_ledger, summarize

    console = Console()
    table = Table(title="Pipeline summary" + (" (stopped early: run again to continue)" if stopped else ""))
    for col in ("stage", "new", "kept", "failed", "seconds", "notes"):
        table.add_column(col, justify="right" if col in ("new", "kept", "failed", "seconds") else "left")
    for s in summaries:  # notes may quote model-written text and sandbox errors: plain text
        table.add_row(
            plain(s.stage),
            str(s.done),
            str(s.skipped),
            str(s.failed),
            f"{s.elapsed_s:.1f}",
            plain("; ".join(s.notes[:3])[:100]),
        )
    console.print(table)
    for s in summaries:  # the cluster's word on refused nodes and retried episodes, in full
        for note in s.notes:
            if note.startswith("cluster: "):
                console.print(plain(note, style="yellow"))
    counts = ws.counts()
    console.print("workspace: " + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "example_vectors"))
    records = read_ledger(Path(ws.path) / LEDGER_NAME)
    if records:
        totals = summarize(records)
        overall = getattr(totals, "total", None)
        if overall is not None:
            console.print(
                f"model calls {overall.calls} (cache hits {overall.cache_hits}), tokens "
                f"{overall.prompt_tokens}+{overall.completion_tokens}, cost ${overall.cost:.4f}"
            )


def run_stages(
    workspace: Path,
    stages: Sequence[str],
    *,
    no_cache: bool = False,
    sources: Sequence[str] = (),
    parallel: int | None = None,
    policy: str | None = None,
    ray: str | None = None,
    stop: threading.Event | None = None,
) -> list[Any]:
    """Open the workspace as writer and run stages with a live progress display (shared by the commands).

    ``stop``: the caller's stop event (from :func:`_stop_on_ctrl_c`, for commands that run stages in several
    steps and must know whether Ctrl-C stopped one); by default the stages get their own.
    """
    from contextlib import nullcontext

    from studio.config import load_config
    from studio.llm import ModelClient
    from studio.pipeline.run import RunContext, run_pipeline
    from studio.workspace import Workspace

    with Workspace.open(workspace) as ws, nullcontext(stop) if stop else _stop_on_ctrl_c() as stop_event:
        cfg = load_config(Path(ws.path) / "studio.toml")
        if policy:
            cfg.pipeline.policy = policy  # type: ignore[assignment]
        if parallel:
            cfg.pipeline.parallel = parallel
        from studio.pipeline.rollout.executors import apply_ray_option

        apply_ray_option(cfg.executor, ray, parallel=parallel)
        client = ModelClient.for_workspace(ws.path, use_cache=not no_cache)
        from studio.pipeline.progress import ProgressFile, TeeObserver

        progress_file = ProgressFile(ws.path)  # the GUI's Overview follows the stages through it
        try:
            with _progress() as progress:
                observer = TeeObserver(RichObserver(progress), progress_file)
                ctx = RunContext(
                    ws=ws,
                    cfg=cfg,
                    client=client,
                    observer=observer,  # type: ignore[arg-type]
                    stop=stop_event,
                    sources=sources,
                )
                summaries = run_pipeline(ctx, stages)
        finally:
            progress_file.close()
        _print_summary(ws, summaries, stop_event.is_set())
        return summaries


def register(app: typer.Typer) -> None:
    docs_app = typer.Typer(help="Documentation the task writer learns from.", no_args_is_help=True)
    app.add_typer(docs_app, name="docs")

    @docs_app.command("add")
    def docs_add(
        sources: Annotated[list[str], typer.Argument(help="Files, directories, or man:NAME (e.g. man:bash).")],
        workspace: WorkspaceOpt = Path("."),
        app_name: Annotated[str, typer.Option("--app", help="App profile these docs are for.")] = "",
    ) -> None:
        """Add Markdown, HTML, text, man pages or Mallard help to the workspace, split into sections."""
        from studio.pipeline.run import add_documents
        from studio.workspace import Workspace

        with Workspace.open(workspace) as ws:
            s = add_documents(ws, sources, app=app_name)
        typer.echo(f"{s.done} new sections, {s.skipped} already present, {s.failed} source(s) failed")
        for note in s.notes:
            typer.secho(f"  {note}", err=True, fg=typer.colors.YELLOW)
        if s.failed and not s.done and not s.skipped:
            raise typer.Exit(2)

    @app.command("rollout")
    def rollout(
        workspace: WorkspaceOpt = Path("."),
        parallel: ParallelOpt = 0,
        policy: PolicyOpt = "",
        no_cache: NoCacheOpt = False,
        ray: RayOpt = None,
    ) -> None:
        """Run every task without a finished trajectory in sandboxed desktops, recording every step."""
        run_stages(
            workspace, ["rollouts"], no_cache=no_cache, parallel=parallel or None, policy=policy or None, ray=ray
        )

    @app.command("backward")
    def backward(workspace: WorkspaceOpt = Path("."), no_cache: NoCacheOpt = False) -> None:
        """Backward construction: instructions for sub-trajectories of every finished rollout."""
        run_stages(workspace, ["backward"], no_cache=no_cache)

    @app.command("judge")
    def judge(workspace: WorkspaceOpt = Path("."), no_cache: NoCacheOpt = False) -> None:
        """Committee: every judge votes on every example (aligned, coherent, natural, reasonable)."""
        run_stages(workspace, ["committee"], no_cache=no_cache)

    @app.command("run")
    def run(
        workspace: WorkspaceOpt = Path("."),
        stages: Annotated[
            str, typer.Option(help="Comma-separated subset of docs,tasks,verify,rollouts,backward,committee")
        ] = "",
        parallel: ParallelOpt = 0,
        policy: PolicyOpt = "",
        no_cache: NoCacheOpt = False,
        source: Annotated[list[str], typer.Option("--docs", help="Extra documentation sources.")] = [],  # noqa: B006
        ray: RayOpt = None,
    ) -> None:
        """Run the whole pipeline (or --stages); resumable: run it again to continue where it stopped."""
        from studio.pipeline.run import STAGES

        chosen = [s.strip() for s in stages.split(",") if s.strip()] or list(STAGES)
        run_stages(
            workspace,
            chosen,
            no_cache=no_cache,
            sources=source,
            parallel=parallel or None,
            policy=policy or None,
            ray=ray,
        )

    @app.command("demo")
    def demo(
        workspace: Annotated[Path, typer.Argument(help="Where to create the demo workspace.")] = Path("demo-workspace"),
        gui: Annotated[
            bool, typer.Option("--gui/--no-gui", help="Open the GUI afterwards if a display exists.")
        ] = True,
        no_cache: NoCacheOpt = False,
    ) -> None:
        """Create a small demo workspace with the bundled apps and run the whole pipeline offline."""
        import os

        from studio.pipeline.demo import add_bundled_tasks, demo_outcome, prepare_demo_workspace

        path = prepare_demo_workspace(workspace)
        typer.secho(f"demo workspace: {path}", fg=typer.colors.CYAN)
        with _stop_on_ctrl_c() as stop:
            run_stages(path, ["docs", "tasks", "verify"], no_cache=no_cache, stop=stop)
            if not stop.is_set():  # stopped while the model wrote tasks: it did not fail to write them
                for note in add_bundled_tasks(path):
                    typer.secho(note, fg=typer.colors.YELLOW)
                run_stages(path, ["rollouts", "backward", "committee"], no_cache=no_cache, stop=stop)
        outcome = demo_outcome(path)
        typer.echo("\n" + "\n".join(outcome.lines()))
        if stop.is_set():
            typer.secho(
                f"\nStopped early. Run `studio demo {path}` again to continue where it stopped "
                "(finished model calls come from the cache).",
                fg=typer.colors.YELLOW,
            )
            raise typer.Exit(130)
        done = outcome.complete()
        typer.secho(
            f"\n{'Done' if done else 'Finished, but incomplete'}. Workspace: {path.resolve()}",
            fg=typer.colors.GREEN if done else typer.colors.YELLOW,
        )
        typer.echo(f"  browse it:   studio gui {path}")
        typer.echo(f"  inspect it:  studio info {path}   |   studio costs {path}")
        if gui and os.environ.get("DISPLAY") and not os.environ.get("CI"):
            from studio.commands import gui as gui_cmd

            gui_cmd.open_gui(path)
