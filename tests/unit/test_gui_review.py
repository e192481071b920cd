"""The review workbench's Qt-free side: queue filter, bulk reviews, undo, progress (MemoryData and the real
workspace through WorkspaceData), the undo stack and the shortcut table."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.errors import WorkspaceError
from studio.gui.data import ExampleFilter, ExampleRow, MemoryData
from studio.gui.review import SHORTCUTS, UndoStack, legend


def _memory() -> MemoryData:
    data = MemoryData()
    for i, status in enumerate(("accepted", "rejected", "disputed", "pending", "disputed")):
        data.example_rows.append(ExampleRow(f"e{i}", f"do {i}", "instruction", "t", 0, 1, "galculator", status))
    return data


def test_memory_queue_bulk_undo_and_progress() -> None:
    data = _memory()
    queue = ExampleFilter(queue=True)
    assert data.example_ids(queue) == ["e2", "e4"]
    assert data.review_progress(ExampleFilter()) == (0, 5)
    ids = data.add_reviews(["e2", "e4"], "reject", reviewer="ada")
    assert len(ids) == 2 and data.example_ids(queue) == []
    assert [e.status for e in data.example_rows] == ["accepted", "rejected", "rejected", "pending", "rejected"]
    assert data.reviews("e2")[0].reviewer == "ada" and data.reviews("e2")[0].time > 0
    assert data.review_progress(queue) == (2, 5)  # the counter ignores the queue flag
    assert data.remove_reviews(ids) == 2
    assert data.example_ids(queue) == ["e2", "e4"]
    assert [e.status for e in data.example_rows][2] == "disputed"
    with pytest.raises(WorkspaceError, match="one at a time"):
        data.add_reviews(["e1"], "edit")


def test_workspace_reviews_bulk_and_undo(tmp_path: Path) -> None:
    from studio.gui.data_workspace import WorkspaceData
    from studio.workspace import Example, Trajectory, Verdict, Workspace

    ws = Workspace.init(tmp_path / "ws")
    t = Trajectory(instruction="x", app="galculator", policy="explorer")
    ws.start_trajectory(t)
    exs = [Example(trajectory_id=t.id, start=0, end=1, instruction=f"do {i}", app="galculator") for i in range(3)]
    ws.add_examples(exs)
    ws.add_verdicts(
        [
            Verdict(example_id=e.id, judge=j, criterion=c, vote=(j == "a" or i == 0))
            for i, e in enumerate(exs)
            for j in ("a", "b")
            for c in ("aligned", "coherent", "natural", "reasonable")
        ]
    )
    ws.close()
    data = WorkspaceData(tmp_path / "ws")
    try:
        queue = ExampleFilter(queue=True)
        assert data.example_ids(queue) == [exs[1].id, exs[2].id]  # the judges disagree on these
        ids = data.add_reviews([exs[1].id, exs[2].id], "accept", reviewer="ada")
        assert data.example_ids(queue) == []
        assert data.review_progress(ExampleFilter()) == (2, 3)
        assert {r.reviewer for r in data.reviews(exs[1].id)} == {"ada"}
        assert data.remove_reviews(ids) == 2
        assert data.example_ids(queue) == [exs[1].id, exs[2].id]
        assert [e.status for e in data.examples(ExampleFilter(), 0, 10)] == ["accepted", "disputed", "disputed"]
        with Workspace.open(tmp_path / "ws", readonly=True) as ro:
            assert ro.count("reviews") == 0 and ro.count("verdicts") == 24  # verdicts are never touched
    finally:
        data.close()


def test_undo_stack_is_bounded_and_ignores_empty_actions() -> None:
    stack = UndoStack(limit=2)
    stack.push([], "nothing")
    for i in range(3):
        stack.push([f"r{i}"], f"accept {i}")
    assert len(stack) == 2
    top = stack.pop()
    assert top is not None and top.review_ids == ["r2"]
    assert stack.pop() is not None and stack.pop() is None


def test_every_shortcut_is_in_the_legend_and_keys_are_unique() -> None:
    keys = [k for ks, _what in SHORTCUTS for k in ks]
    assert len(keys) == len(set(keys))
    text = legend()
    assert all(what in text for _ks, what in SHORTCUTS)
