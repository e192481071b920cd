"""``studio eval``: run agents on a task suite in fresh sandboxes and write results + a report.

    studio eval --suite assets/eval --agent noop --agent solution --agent baseline --parallel 2 \\
        --workspace WS --out WS/eval/run1

Writes ``results.jsonl`` (one line per agent x task, as each finishes), ``report.md`` and PNG plots to --out,
and prints the success rate per agent. Re-running with the same --out resumes (finished pairs are kept);
``--fresh`` starts over. Exit code 0 whenever the suite ran, whatever the scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands.pipeline import RayOpt
from studio.commands.plain import terminal_safe


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to the ``studio`` CLI."""

    @app.command("eval")
    def eval_cmd(
        agent: Annotated[
            list[str],
            typer.Option(
                "--agent",
                "-a",
                help="Agent to evaluate (repeatable): noop, solution, baseline, explorer, "
                "or NAME:MODE (e.g. rag:observation).",
            ),
        ],
        suite: Annotated[
            Path | None,
            typer.Option(help="Directory of OSWorld-format task JSON files (default: bundled assets/eval)."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option(help="Output directory (default: WORKSPACE/eval/<suite name>).")
        ] = None,
        workspace: Annotated[
            Path | None,
            typer.Option(help="Workspace for model agents: studio.toml, LLM cache and ledger (default: --out)."),
        ] = None,
        parallel: Annotated[int, typer.Option(min=1, max=32, help="Sandboxes at once.")] = 1,
        limit: Annotated[int | None, typer.Option(min=1, help="Only the first N tasks of the suite.")] = None,
        max_steps: Annotated[int, typer.Option(min=1, max=200, help="Steps of model/explorer agents.")] = 15,
        fresh: Annotated[bool, typer.Option("--fresh", help="Ignore results already in --out.")] = False,
        ray: RayOpt = None,
        no_cache: Annotated[
            bool, typer.Option("--no-cache", help="Ignore cached model answers (calls the models again).")
        ] = False,
    ) -> None:
        """Evaluate agents on a task suite; write results.jsonl, report.md and plots."""
        from studio.pipeline.agent.factory import make_env, make_policy, workspace_config
        from studio.pipeline.eval.report import summarize_results
        from studio.pipeline.eval.runner import EVAL_SUITE_DIR, TaskResult, run_suite
        from studio.pipeline.rollout.executors import apply_ray_option, make_executor

        suite_dir = suite or EVAL_SUITE_DIR
        out_dir = out or (workspace or Path(".")) / "eval" / suite_dir.resolve().name

        def progress(r: TaskResult) -> None:
            note = f"  ({r.error[:120]})" if r.error else ""
            typer.echo(
                terminal_safe(
                    f"{r.agent:>12}  {r.task_id:<36} score {r.score:g}  steps {r.steps}  {r.elapsed_s:.1f}s{note}"
                ),
                err=True,
            )

        config = workspace_config(workspace).executor
        apply_ray_option(config, ray, parallel=parallel if parallel > 1 else None)
        executor = make_executor(make_env, make_policy, parallel=parallel, config=config)
        run = run_suite(
            suite_dir,
            agent,
            out_dir,
            workspace=workspace,
            parallel=parallel,
            limit=limit,
            max_steps=max_steps,
            resume=not fresh,
            on_result=progress,
            executor=executor,
            use_cache=not no_cache,
        )
        for note in getattr(executor, "notes", []):
            typer.secho(terminal_safe(f"cluster: {note}"), fg=typer.colors.YELLOW, err=True)
        for s in summarize_results(run.results).values():
            typer.echo(
                f"{s.agent}: success {s.success_rate:.1f}% ({s.solved}/{s.tasks} solved), "
                f"{s.mean_steps:.1f} steps/task, {s.calls_per_task:.1f} model calls/task, "
                f"{s.prompt_tokens_per_task + s.completion_tokens_per_task:,.0f} tokens/task, "
                f"{s.errors} errors"
            )
        typer.echo(f"results: {run.out_dir / 'results.jsonl'}")
        if run.report_path is not None:
            typer.echo(f"report:  {run.report_path}")
        typer.echo(f"wall time {run.elapsed_s:.0f} s")
