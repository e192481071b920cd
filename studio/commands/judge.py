"""``studio judge-eval DIR``: measure judges on a labelled set; ``studio judge-set build``: make such a set.

``judge-eval`` prints one row per judge and one for the committee: balanced accuracy, TPR, TNR, candidates,
abstentions, model calls, cost (USD) and seconds (``--json``: one JSON object per row). The judges come from
``--config`` (a ``studio.toml``: ``roles.judges``, ``pipeline.quorum``, ``pipeline.judge_accuracy_floor``) or
from ``--judge`` options, which replace the configured ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from studio.commands.plain import terminal_safe

if TYPE_CHECKING:
    from studio.config import JudgeSpec, StudioConfig


def parse_judge_option(text: str, base: JudgeSpec | None = None) -> JudgeSpec:
    """``values``, ``forced_choice:overlap``, ``ask:MODEL`` or ``forced_choice:MODEL[:likelihood|yes]``.

    Raises:
        ConfigError: Another method name, or a model missing.
    """
    from studio.config import JudgeSpec
    from studio.errors import ConfigError

    method, _, model = text.partition(":")
    if method == "values" and not model:
        return JudgeSpec(method="values")
    if text == "forced_choice:overlap":
        return JudgeSpec(method="forced_choice", score="overlap")
    score = "likelihood"
    for suffix in (":likelihood", ":yes"):
        if method == "forced_choice" and model.endswith(suffix):
            model, score = model[: -len(suffix)], suffix[1:]
    if method not in ("ask", "forced_choice") or not model:
        raise ConfigError(
            f"--judge {text!r}: write 'values', 'forced_choice:overlap', 'ask:MODEL' or "
            "'forced_choice:MODEL[:likelihood|yes]' (e.g. forced_choice:local/qwen2.5-coder-0.5b)"
        )
    data = base.model_dump() if base is not None else {}
    data.update(method=method, model=model, score=score, accuracy=None)
    return JudgeSpec.model_validate(data)


def spread_over_apps(items: list[Any]) -> list[Any]:
    """Items reordered round-robin over their apps (first of each app, then the second of each, ...)."""
    by_app: dict[str, list[Any]] = {}
    for item in items:
        by_app.setdefault(item.app, []).append(item)
    out: list[Any] = []
    for k in range(max((len(v) for v in by_app.values()), default=0)):
        out.extend(group[k] for group in by_app.values() if k < len(group))
    return out


def eval_config(config: Path | None, judges: list[str], quorum: str | None, floor: float | None) -> StudioConfig:
    """The configuration judge-eval runs: ``config`` (or the defaults) with the command-line overrides."""
    from studio.config import default_config, load_config

    cfg = load_config(config) if config is not None else default_config()
    if judges:
        cfg.roles.judges = [parse_judge_option(j, cfg.roles.judges[0] if cfg.roles.judges else None) for j in judges]
    if quorum is not None:
        cfg.pipeline.quorum = int(quorum) if quorum.isdigit() else quorum  # type: ignore[assignment]
    if floor is not None:
        cfg.pipeline.judge_accuracy_floor = floor
    return cfg


def judge_eval_cmd(
    directory: Annotated[Path, typer.Argument(help="Judge set directory (one <id>.json per item).")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="studio.toml whose roles.judges and quorum to measure.")
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option(
            "--judge",
            "-j",
            help="values | ask:MODEL | forced_choice:MODEL (repeatable; replaces the configured judges).",
        ),
    ] = None,
    quorum: Annotated[str | None, typer.Option(help="all | majority | N (default: the config's).")] = None,
    floor: Annotated[
        float | None, typer.Option(help="Accuracy floor below which a judge is advisory (default: config's).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N items.")] = None,
    sample: Annotated[
        int | None, typer.Option(min=1, help="Only N items, taken in turn from each app (a spread over apps).")
    ] = None,
    app: Annotated[list[str] | None, typer.Option("--app", help="Only items of this app (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per row.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the models again (ask judges).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines on stderr.")] = False,
    votes: Annotated[
        Path | None, typer.Option("--votes", help="Write every judge's vote on every candidate here (JSON lines).")
    ] = None,
) -> None:
    """Run judges on a labelled judge set; print balanced accuracy, TPR, TNR, calls and cost."""
    from studio.llm.client import ModelClient
    from studio.llm.ledger import MemoryLedger
    from studio.pipeline.eval.judge_eval import format_report, run_judge_eval
    from studio.pipeline.eval.judge_set import load_set

    cfg = eval_config(config, judge or [], quorum, floor)
    items = load_set(directory)
    if app:
        items = [i for i in items if i.app in app]
    if sample:
        items = spread_over_apps(items)[:sample]
    items = items[:limit] if limit else items
    client = ModelClient(None, MemoryLedger(), use_cache=not no_cache)
    progress = None if quiet else (lambda line: typer.echo(terminal_safe(line), err=True))
    report = run_judge_eval(items, cfg, client, on_progress=progress)
    if votes is not None:
        votes.write_text("".join(json.dumps(row) + "\n" for row in report.votes), encoding="utf-8")
    if as_json:
        for row in report.rows():
            print(json.dumps(row), flush=True)
    else:
        typer.echo(terminal_safe(format_report(report)))


judge_set_app = typer.Typer(help="Build labelled judge sets from runnable tasks.", no_args_is_help=True)


@judge_set_app.command("build")
def build_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Task files or directories (tasks with <id>.actions).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write <id>.json items into.")],
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Record again items that already exist.")] = False,
) -> None:
    """Run every task's solution in a fresh sandbox and write labelled items (true / other / changed values)."""
    from studio.pipeline.eval.judge_build import build_set

    written = build_set(
        paths,
        out,
        skip_existing=not rebuild,
        on_item=lambda f, msg: typer.echo(terminal_safe(f"{f.stem}: {msg}"), err=True),
    )
    typer.echo(f"{len(written)} items in {out}")
    if not written:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``judge-eval`` and the ``judge-set`` group to the studio CLI."""
    app.command("judge-eval")(judge_eval_cmd)
    app.add_typer(judge_set_app, name="judge-set")
