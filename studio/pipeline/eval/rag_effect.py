"""The paper's comparison, offline: the baseline actor against the retrieval-augmented one, per retrieval mode.

Three steps, each usable alone (``benchmarks/bench_rag_effect.py`` runs them in order and times them):

1. :func:`synthesize`: a workspace made by the default offline pipeline (docs -> tasks -> verify -> rollouts ->
   backward -> committee) for the given apps, sized by :func:`synthesis_toml` (the demo's sizes, other apps).
2. :func:`eval_overlap` / :func:`require_no_overlap`: nothing the pipeline made may come from the evaluation
   suite: no task or example instruction equal to an evaluation task's (case, spacing and punctuation aside),
   and no recorded step typing an evaluation solution's text (the ``typewrite`` strings of its ``.actions``
   file, 4 characters or more).
3. :func:`compare`: ``run_suite`` with ``baseline`` and ``rag:<mode>`` for each mode on the held-out tasks,
   in the synthesis workspace (its actor, its index, its cache and ledger), writing ``report.md`` in the
   shapes of the paper's Table 2 (success), Table 4 (modes) and Figure 2 (model calls and tokens per task).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envs.tasks import Task, solution_path
from studio.errors import PipelineError

if TYPE_CHECKING:
    from studio.pipeline.eval.runner import SuiteRun
    from studio.pipeline.rollout.episode import Executor
    from studio.pipeline.run import RunObserver, StageSummary

#: The agents of the comparison: the paper's baseline and its retrieval ablation (Table 4).
RAG_AGENTS: tuple[str, ...] = ("baseline", "rag:instruction", "rag:observation", "rag:model", "rag:both")
MIN_SOLUTION_TEXT = 4  # shorter typed strings ("12", "ls") say nothing about a leak


def synthesis_toml(
    apps: Sequence[str], *, max_tasks: int = 4, max_steps: int = 5, extra: dict[str, str] | None = None
) -> str:
    """The demo configuration (the offline defaults, small) for ``apps``; ``extra`` replaces further lines.

    Raises:
        PipelineError: an edit no longer matches the default configuration's text.
    """
    from studio.config import parse_config
    from studio.pipeline.demo import demo_toml

    edits = {
        'apps = ["galculator", "mousepad"]': "apps = " + "[" + ", ".join(f'"{a}"' for a in apps) + "]",
        "max_tasks = 2": f"max_tasks = {max_tasks}",
        "max_steps = 4": f"max_steps = {max_steps}",
        **(extra or {}),
    }
    text = demo_toml()
    for old, new in edits.items():
        if old not in text:
            raise PipelineError(f"synthesis config edit no longer matches the demo configuration: {old!r}")
        text = text.replace(old, new, 1)
    parse_config(text, "synthesis configuration")
    return text


def synthesize(
    path: Path,
    apps: Sequence[str],
    *,
    max_tasks: int = 4,
    max_steps: int = 5,
    extra: dict[str, str] | None = None,
    observer: RunObserver | None = None,
    stages: Sequence[str] | None = None,
) -> list[StageSummary]:
    """Run the offline pipeline into the workspace at ``path`` (created; an existing one is continued)."""
    from studio.config import load_config
    from studio.llm import ModelClient
    from studio.pipeline.run import STAGES, RunContext, RunObserver, run_pipeline
    from studio.workspace import Workspace

    path = Path(path)
    if not (path / "studio.toml").exists():
        with Workspace.init(path, exist_ok=True):
            pass
        (path / "studio.toml").write_text(
            synthesis_toml(apps, max_tasks=max_tasks, max_steps=max_steps, extra=extra), encoding="utf-8"
        )
    with Workspace.open(path) as ws:
        cfg = load_config(path / "studio.toml")
        ctx = RunContext(ws=ws, cfg=cfg, client=ModelClient.for_workspace(path), observer=observer or RunObserver())
        return run_pipeline(ctx, stages or STAGES)


# ------------------------------------------------------------------------------------------- overlap


@dataclass(frozen=True)
class Overlap:
    """Something the pipeline made that matches the evaluation suite."""

    kind: str  # task | example | step
    item: str  # the workspace row's id
    eval_task: str
    what: str


def normalized(text: str) -> str:
    """Lower case, words only: "Use the calculator to add 123 and 456." == "use the calculator to add 123 and 456"."""
    return " ".join(re.findall(r"[a-z0-9.]+", text.lower().replace("'", ""))).strip(". ")


def solution_texts(task: Task) -> list[str]:
    """The strings an evaluation task's solution types (``typewrite``/``write`` arguments)."""
    path = solution_path(task)
    if path is None:
        return []
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("typewrite", "write")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            text = node.args[0].value.strip()
            if len(text) >= MIN_SOLUTION_TEXT:
                out.append(text)
    return out


def eval_overlap(workspace: Path | str, tasks: Sequence[Task]) -> list[Overlap]:
    """Every task, example and recorded step of the workspace that matches an evaluation task (see module doc)."""
    from studio.workspace import Example, Step, Workspace
    from studio.workspace import Task as TaskRecord

    by_instruction = {normalized(t.instruction): t.id for t in tasks}
    typed = [(text, t.id) for t in tasks for text in solution_texts(t)]
    found: list[Overlap] = []
    with Workspace.open(workspace, readonly=True) as ws:
        for rec in ws.list(TaskRecord, limit=None):
            hit = by_instruction.get(normalized(rec.instruction))
            if hit:
                found.append(Overlap("task", rec.id, hit, rec.instruction))
            for text, tid in typed:
                if text in str((rec.check or {}).get("solution", "")):
                    found.append(Overlap("task", rec.id, tid, f"its solution types {text!r}"))
        for ex in ws.list(Example, limit=None):
            hit = by_instruction.get(normalized(ex.instruction))
            if hit:
                found.append(Overlap("example", ex.id, hit, ex.instruction))
        for step in ws.list(Step, limit=None):
            for text, tid in typed:
                if text in step.action_code:
                    found.append(Overlap("step", step.id, tid, f"types {text!r}"))
    return found


def require_no_overlap(workspace: Path | str, tasks: Sequence[Task]) -> None:
    """Raise if the workspace holds anything from the evaluation suite.

    Raises:
        PipelineError: lists the overlaps (up to 10) and says to synthesize without them.
    """
    found = eval_overlap(workspace, tasks)
    if found:
        shown = "; ".join(f"{o.kind} {o.item[:12]} ~ {o.eval_task} ({o.what[:60]})" for o in found[:10])
        raise PipelineError(
            f"{len(found)} item(s) of {workspace} overlap the evaluation tasks: {shown}. "
            "Examples must not come from the evaluation suite: synthesize a new workspace "
            "(or delete those tasks and their trajectories) before comparing."
        )


# ------------------------------------------------------------------------------------------- compare


def compare(
    workspace: Path | str,
    tasks: Sequence[Task],
    out_dir: Path | str,
    *,
    agents: Sequence[str] = RAG_AGENTS,
    max_steps: int = 6,
    parallel: int = 1,
    executor: Executor | None = None,
    use_cache: bool = True,
    on_result: Callable[[Any], None] | None = None,
) -> SuiteRun:
    """Check there is no overlap, build the index, then run ``agents`` on ``tasks`` (results resume).

    Raises:
        PipelineError: overlap with the evaluation tasks, unknown agent, empty task list.
    """
    from studio.pipeline.eval.runner import run_suite
    from studio.pipeline.retrieval.retriever import ensure_index

    tasks = list(tasks)
    require_no_overlap(workspace, tasks)
    if any(a.startswith("rag") for a in agents):
        ensure_index(workspace)
    return run_suite(
        tasks,
        list(agents),
        out_dir,
        workspace=workspace,
        parallel=parallel,
        max_steps=max_steps,
        executor=executor,
        use_cache=use_cache,
        on_result=on_result,
    )
