"""The stages that gather the pipeline's sources: documents (``docs``) and self-instructed tasks (``tasks``).

Declared as :class:`~studio.pipeline.stage.Stage` subclasses (inputs, outputs, items, done items); run them
with :func:`studio.pipeline.stage.run_stage` or through :mod:`studio.pipeline.run`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.pipeline.stage import ItemResult, RunContext, Stage, StageSummary, pending

if TYPE_CHECKING:
    from studio.records import Document, Task
    from studio.workspace import Workspace

MIN_TASK_SECTION_CHARS = 150  # sections shorter than this are not used for self-instruct


# ------------------------------------------------------------------------------------------------ docs


def add_documents(
    ws: Workspace, sources: Sequence[str], *, app: str = "", max_sections: int | None = None, skip_errors: bool = True
) -> StageSummary:
    """Load documentation sources into the workspace (``studio docs add``). Existing sections are skipped."""
    from studio.pipeline.stages.docs import dedupe_sections, load_sources
    from studio.workspace import Document

    summary = StageSummary("docs")
    result = load_sources(list(sources), skip_errors=skip_errors, max_sections=max_sections)
    for err in result.errors:
        summary.failed += 1
        summary.notes.append(f"{err.source}: {err.message}")
    sections = dedupe_sections(result.sections)
    todo, summary.skipped = pending(sections, lambda s: s.id, {d.id for d in ws.list(Document, limit=None)})
    new: dict[str, Document] = {}
    for s in todo:
        new.setdefault(
            s.id,
            Document(id=s.id, source=s.source, section=s.section, title=s.title, text=s.text, app=app, format=s.format),
        )
    summary.skipped += len(todo) - len(new)  # the same section twice in these sources
    if new:
        ws.add_documents(list(new.values()))
    summary.done = len(new)
    return summary


@dataclass(frozen=True)
class DocSources:
    """One item of the docs stage: an app's documentation (``sources`` None: from its profile) or extra paths."""

    app: str
    sources: Sequence[str] | None = None

    @property
    def id(self) -> str:
        return self.app


class DocsStage(Stage[DocSources]):
    """Documents of every configured app (from its profile) plus ``ctx.sources``; sections already stored are
    skipped inside each item (by section id)."""

    name = "docs"
    inputs = ()  # app profiles' docs and the paths given: files, not tables
    outputs = ("documents",)

    def items(self, ctx: RunContext) -> list[DocSources]:
        apps = [DocSources(app) for app in ctx.cfg.sandbox.apps]
        return apps + ([DocSources("", ctx.sources)] if ctx.sources else [])

    def process_item(self, ctx: RunContext, item: DocSources) -> ItemResult:
        notes: list[str] = []
        sources = item.sources
        if sources is None:
            from envs.apps import load_profile
            from studio.pipeline.stages.docs import find_app_docs

            sources = find_app_docs(load_profile(item.app).docs, notes=notes)
            if not sources:
                notes.append(f"{item.app}: no documentation found on this system")
                return ItemResult(notes=notes, detail=item.app)
        s = add_documents(ctx.ws, sources, app=item.app)
        return ItemResult(s.done, s.skipped, s.failed, notes + s.notes, item.app or "extra sources")


# ----------------------------------------------------------------------------------------------- tasks


class TasksStage(Stage["Document"]):
    """Self-instruct: tasks from each app's documents (the paper's "exemplify 3 tasks"), each with a check when
    ``[verify] write_checks`` is on (see ``studio.pipeline.stages.checked_tasks``).

    Items are the first substantive sections of each app (``[pipeline] max_sections_per_app``); a section that
    already gave tasks is done. ``[pipeline] max_tasks`` caps the tasks in the workspace, shared out between the
    apps in order.
    """

    name = "tasks"
    inputs = ("documents",)
    outputs = ("tasks",)

    def __init__(self) -> None:
        self.without_docs: list[str] = []

    def items(self, ctx: RunContext) -> list[Document]:
        from studio.workspace import Document

        out: list[Document] = []
        self.without_docs = []
        for app in ctx.cfg.sandbox.apps:
            # the first substantive sections (a man page's NAME and SYNOPSIS teach no task)
            docs = [
                d for d in ctx.ws.list(Document, limit=None, app=app) if len(d.text.strip()) >= MIN_TASK_SECTION_CHARS
            ]
            if not docs:
                self.without_docs.append(app)
            out.extend(docs[: ctx.cfg.pipeline.max_sections_per_app])
        return out

    def done_keys(self, ctx: RunContext) -> set[str]:
        return {r["document_id"] for r in ctx.ws.columns("tasks", ["document_id"]) if r["document_id"]}

    def process(self, ctx: RunContext, todo: Sequence[Document]) -> Iterable[ItemResult]:
        from studio.pipeline.prompts import bind_model
        from studio.workspace import Task

        cfg = ctx.cfg
        existing = ctx.ws.list(Task, limit=None)
        budget = cfg.pipeline.max_tasks - len(existing)
        spec = cfg.roles.task_writer
        if cfg.verify.write_checks:  # a task with its check is ~5x longer than a bare instruction
            spec = spec.model_copy(update={"max_tokens": max(spec.max_tokens, 320 * cfg.pipeline.tasks_per_section)})
        model = bind_model(ctx.client, "task_writer", spec, "tasks")
        apps = cfg.sandbox.apps
        for app in apps:
            if budget <= 0:
                return
            if app in self.without_docs:
                yield ItemResult(notes=[f"{app}: no documents; run the docs stage or `studio docs add`"], advance=False)
                continue
            per_app = max(1, budget // max(1, len(apps) - apps.index(app)))
            made = 0
            for doc in (d for d in todo if d.app == app):  # one section per call: a stop waits for one call at most
                if made >= per_app or budget <= 0:
                    break
                new, result = _write_tasks(ctx, model, doc, app, existing, min(per_app - made, budget))
                new = new[:budget]
                if new:
                    ctx.ws.add_tasks(new)
                    existing.extend(new)
                budget -= len(new)
                made += len(new)
                notes = [f"{app}: {f.error}" for f in result.failures[:2]]
                notes += [f"{app}: skipped section {doc.section!r}: {k.reason}" for k in result.skipped]
                yield ItemResult(len(new), 0, len(result.failures), notes, f"{app}: {len(new)} tasks")


def _write_tasks(
    ctx: RunContext, model: Any, doc: Any, app: str, existing: list[Any], limit: int
) -> tuple[list[Any], Any]:
    """New task records from one section (with checks when configured) and the writer's result."""
    from studio.pipeline.stages.self_instruct import generate_tasks

    cfg = ctx.cfg
    have = {t.id for t in existing}
    instructions = [t.instruction for t in existing]
    if not cfg.verify.write_checks:
        result = generate_tasks(
            [doc], model, app=app, n=cfg.pipeline.tasks_per_section, existing=instructions, max_tasks=limit
        )
        return [_task(g) for g in result.tasks if g.id not in have], result
    from studio.pipeline.stages.checked_tasks import write_checked_tasks
    from studio.pipeline.stages.task_check import seeds_for

    checked = write_checked_tasks(
        [doc],
        model,
        app=app,
        n=cfg.pipeline.tasks_per_section,
        existing=instructions,
        seeds=seeds_for(ctx.ws, app, cfg.verify.seed_examples),
        max_tasks=limit,
        solution=cfg.verify.solutions,
        max_examples=cfg.verify.seed_examples,
    )
    return [
        _task(
            c,
            check=c.check,
            check_status="unverified" if c.problem else "pending",
            check_reason=c.problem or "not validated yet",
        )
        for c in checked.tasks
        if c.id not in have
    ], checked


def _task(written: Any, **check: Any) -> Task:
    """The task record of a task the writer produced from a section (``check``: its check fields, if any)."""
    from studio.workspace import Task

    return Task(
        id=written.id,
        instruction=written.instruction,
        app=written.app,
        origin="self-instruct",
        document_id=written.doc_id,
        section=written.section,
        **check,
    )
