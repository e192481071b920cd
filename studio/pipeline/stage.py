"""Pipeline stages, declared: what a stage reads and writes, which of its items are done, how it does one.

A stage (:class:`Stage`) declares its ``inputs`` and ``outputs`` (workspace tables), lists the items it works
on (``items``: tasks, trajectories, examples, ...), says which are already done (``done_keys``: their outputs
are in the workspace, by deterministic ids) and processes the rest (``process``). :func:`run_stage` is the one
place that skips done items, stops after the item in flight, reports progress and times the stage, so every
stage is idempotent (a second run does nothing and calls no model) and resumable (a stop or a kill loses at
most the item in flight) in the same way. An item may also be partly done (a trajectory with some of its spans
stored): the stage then reports what it kept in :attr:`ItemResult.skipped`.

The shape follows distilabel's steps (``inputs`` / ``outputs`` / ``process`` yielding results, the pipeline
doing the rest); the stages themselves are in :mod:`studio.pipeline.run`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from studio.config import StudioConfig

if TYPE_CHECKING:
    from studio.workspace import Workspace

T = TypeVar("T")


@dataclass
class StageSummary:
    """What one run of a stage did: items produced, already there, failed; notes for the user; seconds."""

    stage: str
    done: int = 0  # items produced this run
    skipped: int = 0  # already in the workspace
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


class RunObserver:
    """Progress callbacks; override what you need. Called from the thread running the pipeline."""

    def stage_started(self, stage: str, total: int) -> None:
        """A stage starts with ``total`` items to do."""

    def advanced(self, stage: str, n: int = 1, *, detail: str = "") -> None:
        """``n`` more items of the stage are finished."""

    def stage_finished(self, summary: StageSummary) -> None:
        """The stage ended (done, stopped or out of work)."""

    def event(self, event: Any) -> None:
        """Rollout events (EpisodeStart / StepEvent / EpisodeResult) as they happen."""


@dataclass
class RunContext:
    """What every stage gets: the workspace, the config, the model client, the observer and the stop flag."""

    ws: Workspace
    cfg: StudioConfig
    client: Any  # studio.llm.ModelClient
    observer: RunObserver = field(default_factory=RunObserver)
    stop: threading.Event = field(default_factory=threading.Event)
    sources: Sequence[str] = ()  # extra documentation sources for the docs stage

    @property
    def path(self) -> Path:
        """The workspace directory."""
        return Path(self.ws.path)


@dataclass
class ItemResult:
    """What processing one item (or, for a batch stage, all of them) gave.

    Attributes:
        done: Records produced.
        skipped: Outputs of this item that were already stored (a partly done item).
        failed: Records that failed (with a note saying why, where useful).
        notes: Lines for the user.
        detail: Short progress text (the observer's ``advanced(detail=)``).
        advance: Report one item of progress; False where the stage reports progress itself (rollouts report
            each episode as it ends) or where the result is a note, not an item.
    """

    done: int = 0
    skipped: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    detail: str = ""
    advance: bool = True


class Stage(ABC, Generic[T]):
    """One pipeline stage: declared inputs and outputs, its items, which are done, how to do the rest.

    Subclasses set :attr:`name`, :attr:`inputs` and :attr:`outputs` and implement :meth:`items` and either
    :meth:`process_item` (one item at a time) or :meth:`process` (a generator over the items still to do: the
    stage's own setup first, or a batch). :func:`run_stage` runs it.
    """

    #: The stage's name (``studio run --stages``).
    name: ClassVar[str]
    #: Workspace tables (or other sources) the stage reads.
    inputs: ClassVar[tuple[str, ...]]
    #: Workspace tables the stage writes.
    outputs: ClassVar[tuple[str, ...]]

    @abstractmethod
    def items(self, ctx: RunContext) -> Sequence[T]:
        """Every item the stage would work on, in order (done ones included: they are counted as skipped)."""

    def key(self, item: T) -> str:
        """The item's key in :meth:`done_keys` (default: its ``id``)."""
        return str(getattr(item, "id"))  # noqa: B009 - items are records or objects with an id

    def done_keys(self, ctx: RunContext) -> set[str]:
        """Keys of the items whose outputs are already in the workspace (default: none; an item may still
        skip part of its work and say so in :attr:`ItemResult.skipped`)."""
        return set()

    def process(self, ctx: RunContext, todo: Sequence[T]) -> Iterable[ItemResult]:
        """Process the items still to do, yielding one result per item (lazily: :func:`run_stage` asks for the
        next one only while no stop is requested)."""
        for item in todo:
            yield self.process_item(ctx, item)

    def process_item(self, ctx: RunContext, item: T) -> ItemResult:
        """Process one item (stages that override :meth:`process` need not implement it)."""
        raise NotImplementedError(f"stage {self.name!r} implements neither process nor process_item")

    def finish(self, ctx: RunContext, summary: StageSummary) -> None:
        """After the last item (or a stop): add closing notes to ``summary``."""


def pending(items: Iterable[T], key: Any, done: set[str]) -> tuple[list[T], int]:
    """The items whose ``key(item)`` is not in ``done``, and how many were.

    The one skip rule of the pipeline, used by :func:`run_stage` and by code that skips inside an item.
    """
    todo: list[T] = []
    skipped = 0
    for item in items:
        if key(item) in done:
            skipped += 1
        else:
            todo.append(item)
    return todo, skipped


def run_stage(stage: Stage[T], ctx: RunContext) -> StageSummary:
    """Run one stage: skip its done items, process the rest until done or stopped, report and time it.

    A stop request (``ctx.stop``) ends the stage after the item in flight; the items not reached stay to do,
    and the next run picks them up (resume). Items already done are never processed again (idempotence).
    """
    t0 = time.perf_counter()
    todo, skipped = pending(stage.items(ctx), stage.key, stage.done_keys(ctx))
    summary = StageSummary(stage.name, skipped=skipped)
    ctx.observer.stage_started(stage.name, len(todo))
    results: Iterator[ItemResult] = iter(stage.process(ctx, todo))
    try:
        while not ctx.stop.is_set():
            result = next(results, None)
            if result is None:
                break
            summary.done += result.done
            summary.skipped += result.skipped
            summary.failed += result.failed
            summary.notes.extend(result.notes)
            if result.advance:
                ctx.observer.advanced(stage.name, detail=result.detail)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # a generator stopped early runs its cleanup now
    stage.finish(ctx, summary)
    summary.elapsed_s = time.perf_counter() - t0
    ctx.observer.stage_finished(summary)
    return summary
