"""The generic stage runner (studio.pipeline.stage): skip done items, stop after the item in flight, resume,
idempotent re-runs, partial items, batch stages; and that every pipeline stage declares itself."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.config import default_config
from studio.pipeline.stage import ItemResult, RunContext, RunObserver, Stage, StageSummary, pending, run_stage


@dataclass
class Item:
    id: str


@dataclass
class Recording(RunObserver):
    started: list[tuple[str, int]] = field(default_factory=list)
    advanced_details: list[str] = field(default_factory=list)
    finished: list[StageSummary] = field(default_factory=list)
    stop_after: int | None = None
    ctx: RunContext | None = None

    def stage_started(self, stage: str, total: int) -> None:
        self.started.append((stage, total))

    def advanced(self, stage: str, n: int = 1, *, detail: str = "") -> None:
        self.advanced_details.append(detail)
        if self.stop_after is not None and len(self.advanced_details) >= self.stop_after and self.ctx is not None:
            self.ctx.stop.set()

    def stage_finished(self, summary: StageSummary) -> None:
        self.finished.append(summary)


class Store:
    """Stands in for the workspace: the outputs written so far, by item id."""

    def __init__(self) -> None:
        self.outputs: dict[str, str] = {}
        self.calls: list[str] = []


class Doubler(Stage[Item]):
    """Writes one output per item; an item is done when its output is stored."""

    name = "double"
    inputs = ("numbers",)
    outputs = ("doubles",)

    def __init__(self, store: Store, ids: Sequence[str]) -> None:
        self.store = store
        self.ids = ids
        self.setup_runs = 0
        self.closed = False
        self.finished = False

    def items(self, ctx: RunContext) -> list[Item]:
        return [Item(i) for i in self.ids]

    def done_keys(self, ctx: RunContext) -> set[str]:
        return set(self.store.outputs)

    def process(self, ctx: RunContext, todo: Sequence[Item]) -> Iterable[ItemResult]:
        self.setup_runs += 1  # e.g. binding a model: only when the stage runs
        try:
            for item in todo:
                self.store.calls.append(item.id)
                self.store.outputs[item.id] = item.id * 2
                yield ItemResult(done=1, detail=item.id)
        finally:
            self.closed = True

    def finish(self, ctx: RunContext, summary: StageSummary) -> None:
        self.finished = True
        summary.notes.append(f"{len(self.store.outputs)} stored")


def _ctx(observer: RunObserver | None = None) -> RunContext:
    ctx = RunContext(ws=None, cfg=default_config(), client=None)  # type: ignore[arg-type]
    if observer is not None:
        ctx.observer = observer
        if isinstance(observer, Recording):
            observer.ctx = ctx
    return ctx


def test_pending_splits_done_items_off() -> None:
    todo, skipped = pending(["a", "b", "c", "b"], str.upper, {"B"})
    assert todo == ["a", "c"] and skipped == 2


def test_done_items_are_skipped_and_counted() -> None:
    store = Store()
    store.outputs["b"] = "bb"
    obs = Recording()
    summary = run_stage(Doubler(store, ["a", "b", "c"]), _ctx(obs))
    assert store.calls == ["a", "c"]
    assert (summary.stage, summary.done, summary.skipped, summary.failed) == ("double", 2, 1, 0)
    assert obs.started == [("double", 2)]  # progress counts the work to do
    assert obs.advanced_details == ["a", "c"]
    assert obs.finished == [summary] and summary.notes == ["3 stored"] and summary.elapsed_s >= 0


def test_a_second_run_is_idempotent() -> None:
    store = Store()
    run_stage(Doubler(store, ["a", "b"]), _ctx())
    again = run_stage(Doubler(store, ["a", "b"]), _ctx())
    assert store.calls == ["a", "b"]  # nothing processed twice
    assert again.done == 0 and again.skipped == 2


def test_stop_ends_after_the_item_in_flight_and_the_next_run_resumes() -> None:
    store = Store()
    stage = Doubler(store, ["a", "b", "c", "d"])
    obs = Recording(stop_after=2)
    first = run_stage(stage, _ctx(obs))
    assert store.calls == ["a", "b"] and first.done == 2
    assert stage.closed and stage.finished  # the generator's cleanup and the closing notes still ran
    second = run_stage(Doubler(store, ["a", "b", "c", "d"]), _ctx())
    assert store.calls == ["a", "b", "c", "d"]  # resumed where it stopped, nothing repeated
    assert (second.done, second.skipped) == (2, 2)


def test_a_stop_before_the_stage_starts_processes_nothing() -> None:
    store = Store()
    stage = Doubler(store, ["a"])
    ctx = _ctx()
    ctx.stop.set()
    summary = run_stage(stage, ctx)
    assert store.calls == [] and stage.setup_runs == 0 and summary.done == 0
    assert stage.finished  # the summary is still finished and reported


class PartlyDone(Stage[Item]):
    """Items skip part of their work themselves (a trajectory whose first spans are stored)."""

    name = "partial"
    inputs = ()
    outputs = ("parts",)

    def items(self, ctx: RunContext) -> list[Item]:
        return [Item("x"), Item("y")]

    def process_item(self, ctx: RunContext, item: Item) -> ItemResult:
        return ItemResult(done=1, skipped=2, failed=1, notes=[f"{item.id}: one part failed"])


def test_partly_done_items_add_their_own_skips() -> None:
    summary = run_stage(PartlyDone(), _ctx())
    assert (summary.done, summary.skipped, summary.failed) == (2, 4, 2)
    assert summary.notes == ["x: one part failed", "y: one part failed"]


class Batch(Stage[Item]):
    """All items at once (the rollouts stage: an executor runs them in parallel and reports progress itself)."""

    name = "batch"
    inputs = ()
    outputs = ("runs",)

    def __init__(self) -> None:
        self.seen: list[str] = []

    def items(self, ctx: RunContext) -> list[Item]:
        return [Item("1"), Item("2"), Item("3")]

    def done_keys(self, ctx: RunContext) -> set[str]:
        return {"2"}

    def process(self, ctx: RunContext, todo: Sequence[Item]) -> Iterable[ItemResult]:
        self.seen = [i.id for i in todo]
        ctx.stop.set()  # a stop during the batch: its result is still counted
        yield ItemResult(done=len(todo), notes=["batch done"], advance=False)


def test_a_batch_result_is_counted_even_when_a_stop_came_during_it() -> None:
    obs = Recording()
    stage = Batch()
    summary = run_stage(stage, _ctx(obs))
    assert stage.seen == ["1", "3"]
    assert (summary.done, summary.skipped, summary.notes) == (2, 1, ["batch done"])
    assert obs.advanced_details == []  # advance=False: the stage reported progress itself


def test_a_stage_with_neither_process_nor_process_item_says_so() -> None:
    class Empty(Stage[Item]):
        name = "empty"
        inputs = ()
        outputs = ()

        def items(self, ctx: RunContext) -> list[Item]:
            return [Item("a")]

    try:
        run_stage(Empty(), _ctx())
    except NotImplementedError as exc:
        assert "empty" in str(exc)
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("a stage that cannot process its items must not pass silently")


def test_every_pipeline_stage_is_declared() -> None:
    from studio.pipeline.run import STAGE_FUNCS, STAGE_TYPES, STAGES
    from studio.workspace.schema import TABLES

    assert list(STAGE_TYPES) == list(STAGES) == list(STAGE_FUNCS)
    for name, cls in STAGE_TYPES.items():
        assert cls.name == name
        assert set(cls.inputs) <= set(TABLES), (name, cls.inputs)
        assert cls.outputs and set(cls.outputs) <= set(TABLES), (name, cls.outputs)
        assert cls.__doc__


def test_stages_run_in_an_order_that_produces_their_inputs() -> None:
    """Each stage reads only tables an earlier stage writes (docs reads files), so `studio run` in order works
    from an empty workspace."""
    from studio.pipeline.run import STAGE_TYPES

    written: set[str] = set()
    for cls in STAGE_TYPES.values():
        missing: set[Any] = set(cls.inputs) - written
        assert not missing, f"{cls.name} reads {missing} before any stage writes them"
        written |= set(cls.outputs)
