"""The review workbench: keyboard review, the needs-review queue, bulk actions, undo, reviewer and progress."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.qt.conftest import build_workspace


def _open(qtbot: Any, path: Any) -> tuple[Any, Any]:
    from studio.gui.qt_main_window import MainWindow

    w = MainWindow(path, poll_ms=200)
    qtbot.addWidget(w)
    w.show()
    view = w.show_view("examples")
    return w, view


def _stored(path: Any, example_id: str) -> list[tuple[str, str]]:
    from studio.workspace import Workspace

    with Workspace.open(path, readonly=True) as ws:
        return [(r.decision, r.who) for r in ws.reviews_of(example_id)]


def _close(w: Any) -> None:
    w.timer.stop()
    w.pool.wait(5000)


def test_queue_first_then_keyboard_accept_moves_on_and_undo_restores(qtbot: Any, tmp_path: Any) -> None:
    ids = build_workspace(tmp_path / "ws")
    w, view = _open(qtbot, tmp_path / "ws")
    # the queue holds the one example the judges disagree on
    qtbot.waitUntil(lambda: view.filter.queue and view.model.loaded == 1, timeout=20000)
    assert view.model.row(0).id == ids["examples"][2]
    qtbot.waitUntil(lambda: "1 in the queue" in view.bar.progress.text(), timeout=10000)
    assert view.bar.legend.text().startswith("J/Down next example")
    view.bar.reviewer.setText("ada")
    view.table.setFocus()
    QTest.keyClick(view.table, Qt.Key.Key_J)  # select the first example
    qtbot.waitUntil(lambda: view.current is not None, timeout=10000)
    QTest.keyClick(view.table, Qt.Key.Key_A)
    assert view.model.row(0).status == "accepted"  # at once, before the worker saved it
    qtbot.waitUntil(lambda: len(view.undo_stack) == 1, timeout=10000)
    assert _stored(tmp_path / "ws", ids["examples"][2]) == [("accept", "ada")]
    qtbot.waitUntil(lambda: "0 in the queue" in view.bar.progress.text(), timeout=10000)
    # undo: the review is gone from the workspace, the example is back in the queue
    QTest.keyClick(view.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _stored(tmp_path / "ws", ids["examples"][2]) == [], timeout=10000)
    qtbot.waitUntil(lambda: view.model.loaded == 1 and view.model.row(0).status == "disputed", timeout=10000)
    qtbot.waitUntil(lambda: "1 in the queue" in view.bar.progress.text(), timeout=10000)
    _close(w)


def test_bulk_reject_of_a_selection_and_progress(qtbot: Any, tmp_path: Any) -> None:
    ids = build_workspace(tmp_path / "ws")
    w, view = _open(qtbot, tmp_path / "ws")
    qtbot.waitUntil(lambda: view.filter.queue and view.model.loaded == 1, timeout=20000)
    view.table.setFocus()
    QTest.keyClick(view.table, Qt.Key.Key_Q)  # toggle the queue off: every example
    qtbot.waitUntil(lambda: not view.filter.queue and view.model.loaded == 4, timeout=10000)
    qtbot.waitUntil(lambda: "reviewed 0 of 4" in view.bar.progress.text(), timeout=10000)
    view.table.setFocus()
    QTest.keyClick(view.table, Qt.Key.Key_J)
    QTest.keyClick(view.table, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(view.table, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
    assert view.selected_rows() == [0, 1, 2]
    chosen = [view.model.row(r).id for r in range(3)]
    QTest.keyClick(view.table, Qt.Key.Key_R)
    assert [view.model.row(r).status for r in range(3)] == ["rejected"] * 3
    qtbot.waitUntil(lambda: "reviewed 3 of 4" in view.bar.progress.text(), timeout=10000)
    for eid in chosen:
        assert [d for d, _who in _stored(tmp_path / "ws", eid)] == ["reject"]
    assert set(chosen) <= set(ids["examples"])
    # one undo takes the whole bulk action back
    view.undo()
    qtbot.waitUntil(lambda: "reviewed 0 of 4" in view.bar.progress.text(), timeout=10000)
    assert all(_stored(tmp_path / "ws", eid) == [] for eid in chosen)
    _close(w)


def test_letters_typed_in_the_search_box_are_not_shortcuts(qtbot: Any, tmp_path: Any) -> None:
    build_workspace(tmp_path / "ws")
    w, view = _open(qtbot, tmp_path / "ws")
    qtbot.waitUntil(lambda: view.model.loaded == 1, timeout=20000)
    view.table.selectRow(0)
    view.search.setFocus()
    QTest.keyClicks(view.search, "ar")
    assert view.search.text() == "ar"
    assert view.model.row(0).status == "disputed"  # "a" and "r" did not review anything
    assert len(view.undo_stack) == 0
    _close(w)


def test_filmstrip_keys_step_through_the_span(qtbot: Any, tmp_path: Any) -> None:
    build_workspace(tmp_path / "ws")
    w, view = _open(qtbot, tmp_path / "ws")
    qtbot.waitUntil(lambda: view.model.loaded == 1, timeout=20000)
    view.table.selectRow(0)
    qtbot.waitUntil(lambda: view.panel.filmstrip.count() == 4, timeout=10000)
    start = view.panel.filmstrip.currentRow()
    view.table.setFocus()
    QTest.keyClick(view.table, Qt.Key.Key_L)
    assert view.panel.filmstrip.currentRow() == start + 1
    QTest.keyClick(view.table, Qt.Key.Key_H)
    assert view.panel.filmstrip.currentRow() == start
    _close(w)
