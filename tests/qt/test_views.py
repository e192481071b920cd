"""Every view populated from a fixture workspace written through the workspace API; filters; reviews persisted;
errors shown in the notification bar; settings written to studio.toml without keys; live updates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.qt.conftest import build_workspace, png_bytes, shown_text


def test_overview_counts_costs_and_charts(qtbot: Any, window: Any) -> None:
    view = window.show_view("overview")
    qtbot.waitUntil(lambda: view.cost_table.rowCount() == 2, timeout=10000)
    qtbot.waitUntil(lambda: view.tiles["trajectories"].value.text() == "2", timeout=10000)
    assert view.tiles["trajectories"].value.text() == "2"
    assert view.tiles["examples"].value.text() == "4"
    assert view.tiles["accepted"].value.text() == "1"
    assert view.tiles["success"].value.text() == "50%"
    assert view.tiles["cost"].value.text() == "$0.0012"
    assert dict((k, v) for k, v, _ in view.outcome_chart.items) == {"done": 1, "max_steps": 1}
    models = {view.cost_table.item(r, 1).text() for r in range(2)}
    assert models == {"local/smollm2", "openai/gpt-4o-mini"}
    view.grab()  # charts paint without errors


def test_documents_and_tasks(qtbot: Any, window: Any) -> None:
    view = window.show_view("docs")
    qtbot.waitUntil(lambda: view.model.loaded == 2, timeout=10000)
    row = next(r for r in range(2) if view.model.row(r).section == "BASIC USAGE")
    view.table.selectRow(row)
    qtbot.waitUntil(lambda: view.tasks.rowCount() == 2, timeout=10000)
    rows = {view.tasks.item(r, 4).text(): r for r in range(2)}
    assert set(rows) == {"Add 2 and 3", "Multiply 6 by 7"}
    assert view.tasks.item(0, 2).text() == "BASIC USAGE"  # provenance: section
    # the check status, and why a task is not verified in the tooltip
    assert view.tasks.item(rows["Multiply 6 by 7"], 3).text() == "proven"
    unchecked = view.tasks.item(rows["Add 2 and 3"], 3)
    assert (unchecked.text(), shown_text(unchecked.toolTip())) == ("unverified", "no check")
    assert "digits" in view.text.toPlainText()
    # layout: the tables take the height (the count label once took half of it) and the last column the width
    assert view.table.height() > view.height() * 0.8
    header, last = view.tasks.horizontalHeader(), view.tasks.columnCount() - 1
    right_edge = header.sectionViewportPosition(last) + header.sectionSize(last)
    assert right_edge >= view.tasks.viewport().width() - 2


def test_trajectories_filmstrip_screenshot_a11y(qtbot: Any, window: Any) -> None:
    from PySide6.QtCore import Qt

    view = window.show_view("trajectories")
    qtbot.waitUntil(lambda: view.model.loaded == 2, timeout=10000)
    view.table.setFocus()
    view.table.selectRow(0)
    panel = view.panel
    qtbot.waitUntil(lambda: panel.filmstrip.count() == 4, timeout=10000)
    qtbot.waitUntil(lambda: not panel.screen_view.image.isNull(), timeout=10000)
    assert panel.screen_view.drawn_actions[0]["kind"] == "click"
    assert panel.a11y.rowCount() == 1 and panel.a11y.item(0, 1).text() == "push button"
    assert "click button 0" in panel.reason.toPlainText()
    assert "a11y" in panel.timings.toPlainText()
    assert "done" in panel.header.text()
    qtbot.waitUntil(lambda: not panel.filmstrip.item(3).icon().isNull(), timeout=10000)  # thumbnails
    panel.filmstrip.setCurrentRow(2)
    qtbot.waitUntil(lambda: "click button 2" in panel.reason.toPlainText(), timeout=5000)
    qtbot.keyClick(view.table, Qt.Key.Key_Down)  # keyboard navigation in the list
    assert view.table.currentIndex().row() == 1


def test_trajectory_shows_the_screen_after_its_last_action(qtbot: Any, window: Any, fixture_workspace: Any) -> None:
    _path, ids = fixture_workspace
    view = window.show_view("trajectories")
    qtbot.waitUntil(lambda: view.model.loaded == 2, timeout=10000)
    view.table.selectRow(next(r for r in range(2) if view.model.row(r).id == ids["trajectories"][1]))
    panel = view.panel
    qtbot.waitUntil(lambda: panel.filmstrip.count() == 5, timeout=10000)  # 4 steps + the final screen
    assert panel.filmstrip.item(4).text() == "end: final screen"
    panel.filmstrip.setCurrentRow(4)
    qtbot.waitUntil(lambda: "screen after the last action" in panel.reason.toPlainText(), timeout=5000)
    # the final screen's image lands with no action drawn on it (the steps before had a click)
    view = panel.screen_view
    qtbot.waitUntil(lambda: view.drawn_actions == [] and not view.image.isNull(), timeout=10000)
    assert panel.a11y.rowCount() == 1


def show_all(qtbot: Any, view: Any, n: int = 4) -> None:
    """The Examples view opens on the review queue; switch it to every example."""
    view.status_box.setCurrentIndex(view.status_box.findData(""))
    qtbot.waitUntil(lambda: view.model.loaded == n, timeout=10000)


def test_examples_filters_verdicts_and_span(qtbot: Any, window: Any) -> None:
    view = window.show_view("examples")
    # the review queue comes first: the one disputed example
    qtbot.waitUntil(lambda: view.model.total == 1 and view.model.loaded == 1, timeout=10000)
    assert view.model.row(0).status == "disputed"
    show_all(qtbot, view)
    qtbot.waitUntil(lambda: view.judge_box.count() == 3, timeout=10000)
    view.status_box.setCurrentIndex(view.status_box.findData("disputed"))
    qtbot.waitUntil(lambda: view.model.total == 1 and view.model.loaded == 1, timeout=10000)
    assert view.model.row(0).instruction == "Press the times button"
    view.status_box.setCurrentIndex(view.status_box.findData(""))
    view.kind_box.setCurrentIndex(view.kind_box.findData("replicate"))
    qtbot.waitUntil(lambda: view.model.total == 1 and view.model.loaded == 1, timeout=10000)
    assert view.model.row(0).kind == "replicate"
    view.kind_box.setCurrentIndex(0)
    view.judge_box.setCurrentIndex(view.judge_box.findData("judge-b"))
    qtbot.waitUntil(lambda: view.model.total == 3, timeout=10000)
    view.judge_box.setCurrentIndex(0)
    view.search.setText("times")
    qtbot.waitUntil(lambda: view.model.total == 1 and view.model.loaded == 1, timeout=10000)
    view.table.selectRow(0)
    # the example's trajectory scored 1.0 on its task's check: shown in the list and the detail
    assert view.model.data(view.model.index(0, 1)) == "passed"
    assert "check passed" in view.instruction.text()
    qtbot.waitUntil(lambda: view.verdicts.rowCount() == 8, timeout=10000)
    votes = {(view.verdicts.item(r, 0).text(), view.verdicts.item(r, 2).text()) for r in range(8)}
    assert votes == {("judge-a", "yes"), ("judge-b", "no")}
    assert "judge-a says yes" in view.verdicts.item(0, 3).text()
    qtbot.waitUntil(lambda: view.panel.filmstrip.count() == 4, timeout=10000)
    strip = view.panel.filmstrip
    assert strip.span() == (1, 2)  # Example.end is exclusive: steps 1..2
    assert [strip.in_span(r) for r in range(4)] == [False, True, True, False]
    assert strip.currentRow() == 1


def test_review_is_stored_and_verdicts_kept(qtbot: Any, tmp_path: Any) -> None:
    from studio.gui.qt_main_window import MainWindow
    from studio.workspace import Workspace

    ids = build_workspace(tmp_path / "ws")
    w = MainWindow(tmp_path / "ws", poll_ms=200)
    qtbot.addWidget(w)
    view = w.show_view("examples")
    qtbot.waitUntil(lambda: view.model.loaded >= 1, timeout=20000)
    show_all(qtbot, view)
    row = next(r for r in range(4) if view.model.row(r).id == ids["examples"][1])  # the rejected one
    view.table.selectRow(row)
    qtbot.waitUntil(lambda: view.verdicts.rowCount() == 8, timeout=10000)
    view.edit_line.setText("Press the minus key")
    view.edit_button.click()
    qtbot.waitUntil(lambda: "edit by" in view.reviews_label.text(), timeout=10000)
    assert view.model.row(row).status == "accepted"
    w.timer.stop()
    w.pool.wait(5000)
    with Workspace.open(tmp_path / "ws", readonly=True) as ws:
        reviews = ws.reviews_of(ids["examples"][1])
        assert [(r.decision, r.edited_instruction) for r in reviews] == [("edit", "Press the minus key")]
        assert {v.vote for v in ws.verdicts_of(ids["examples"][1])} == {False}  # the judges' votes are untouched


def test_retrieval_playground_query_and_step(qtbot: Any, window: Any) -> None:
    view = window.show_view("retrieval")
    view.query.setText("plus button")
    view.run_query()
    qtbot.waitUntil(lambda: view.results.rowCount() > 0, timeout=20000)
    assert view.results.item(0, 3).text() == "Press the plus button"
    assert float(view.results.item(0, 1).text()) > 0
    qtbot.waitUntil(lambda: view.step_box.count() == 4, timeout=10000)
    view.use_step.click()
    assert "push button" in view.observation.toPlainText()


def test_settings_written_without_keys(qtbot: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from studio.config import load_config
    from studio.gui.qt_settings import SettingsView
    from studio.gui.qt_worker import WorkerPool
    from studio.workspace import Workspace

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    Workspace.init(tmp_path / "ws").close()
    pool = WorkerPool()
    view = SettingsView(pool, None)
    qtbot.addWidget(view)
    view.workspace_path = tmp_path / "ws"
    view.activate()
    qtbot.waitUntil(lambda: view.cfg is not None, timeout=10000)
    box = view.role_boxes["actor"]
    box.model.setText("openai/gpt-4o-mini")
    assert "OPENAI_API_KEY is set" in box.key_status.text()
    view.role_boxes["task_writer"].model.setText("anthropic/claude-3-5-sonnet-20241022")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    view.role_boxes["task_writer"].update_key_status()
    assert "ANTHROPIC_API_KEY is not set" in view.role_boxes["task_writer"].key_status.text()
    view.width_box.setValue(1024)
    view.save()
    qtbot.waitUntil(lambda: view.status.text().startswith("saved"), timeout=10000)
    text = (tmp_path / "ws" / "studio.toml").read_text()
    assert "sk-test-secret" not in text
    cfg = load_config(tmp_path / "ws" / "studio.toml")
    assert cfg.roles.actor.model == "openai/gpt-4o-mini" and cfg.sandbox.width == 1024
    pool.wait(5000)


def test_worker_error_reaches_the_notification_bar(qtbot: Any, window: Any) -> None:
    from studio.errors import WorkspaceError

    def broken() -> None:
        raise WorkspaceError("the table is gone; reopen the workspace")

    window.pool.submit(broken, name="loading something")
    qtbot.waitUntil(window.notifications.isVisible, timeout=5000)
    assert "loading something failed: the table is gone" in window.notifications.label.text()
    assert "WorkspaceError" in window.notifications.messages[-1][1]  # traceback in the details
    window.show_view("overview")  # the app keeps running
    assert window.isVisible()


def test_gui_follows_a_writer(qtbot: Any, tmp_path: Any) -> None:
    """Rows appended by a writer (another handle, as another process would) show up without reopening."""
    from studio.gui.qt_main_window import MainWindow
    from studio.workspace import Step, Trajectory, Workspace

    build_workspace(tmp_path / "ws")
    w = MainWindow(tmp_path / "ws", poll_ms=200)
    qtbot.addWidget(w)
    view = w.show_view("trajectories")
    qtbot.waitUntil(lambda: view.model.loaded == 2, timeout=20000)
    with Workspace.open(tmp_path / "ws") as ws:
        t = Trajectory(instruction="a new run", app="mousepad", policy="explorer")
        ws.start_trajectory(t)
        ws.add_step(Step(trajectory_id=t.id, index=0, reason="first"), screenshot=png_bytes())
    qtbot.waitUntil(lambda: view.model.loaded == 3, timeout=10000)
    assert view.model.row(2).instruction == "a new run"
    qtbot.waitUntil(lambda: w.counts is not None and w.counts.steps == 9, timeout=10000)
    w.timer.stop()
    w.pool.wait(5000)


@pytest.mark.parametrize("n", [1000])
def test_lazy_model_fetches_pages(qtbot: Any, pool: Any, n: int) -> None:
    from PySide6.QtWidgets import QTableView

    from studio.gui.qt_models import Column, LazyTableModel

    rows = list(range(n))
    model = LazyTableModel(
        pool, [Column("n", str)], count=lambda: len(rows), fetch=lambda o, k: rows[o : o + k], page=100
    )
    view = QTableView()
    view.setModel(model)
    qtbot.addWidget(view)
    model.reset()
    qtbot.waitUntil(lambda: model.loaded == 100, timeout=5000)
    assert model.total == n and model.canFetchMore()
    model.fetchMore()
    qtbot.waitUntil(lambda: model.loaded == 200, timeout=5000)
    rows.extend(range(n, n + 5))
    model.refresh()
    qtbot.waitUntil(lambda: model.total == n + 5, timeout=5000)
    assert model.loaded == 200  # not at the end: new rows wait for scrolling
