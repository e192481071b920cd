"""Trim and make on the Trajectories view's filmstrip; every task with its check status and "Run it" into the
Live view; judges' accuracy and advisory marks on the verdicts; stage progress on the Overview; the screens
before and after a step with the change boxed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.qt.conftest import FakeFrameSource, build_workspace


def _open(qtbot: Any, path: Any) -> Any:
    from studio.gui.qt_main_window import MainWindow

    w = MainWindow(path, poll_ms=200)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.data is not None, timeout=20000)
    return w


def _close(w: Any) -> None:
    w.timer.stop()
    live = w.views["live"]
    live.shutdown()
    w.pool.wait(10000)


def _trajectory(qtbot: Any, w: Any, row: int = 0) -> Any:
    view = w.show_view("trajectories")
    qtbot.waitUntil(lambda: view.model.loaded == 2, timeout=10000)
    view.table.selectRow(row)
    qtbot.waitUntil(lambda: view.panel.filmstrip.count() >= 4, timeout=10000)
    return view


def test_trim_a_span_and_make_an_example(qtbot: Any, tmp_path: Any) -> None:
    from studio.workspace import Example, Workspace

    build_workspace(tmp_path / "ws")
    w = _open(qtbot, tmp_path / "ws")
    view = _trajectory(qtbot, w, 1)  # run 1 has the final screen after its last action
    trim = view.trim
    assert not trim.make_button.isEnabled() or trim.span is not None
    strip = view.panel.filmstrip
    # click the first step of the span, shift-click the last
    QTest.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=strip.visualItemRect(strip.item(1)).center())
    QTest.mouseClick(
        strip.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ShiftModifier,
        strip.visualItemRect(strip.item(2)).center(),
    )
    qtbot.waitUntil(lambda: trim.span == (1, 3), timeout=5000)
    assert trim.span_label.text() == "steps 1–2 (2 steps)" and trim.make_button.isEnabled()
    trim.author.setText("ada")
    trim.instruction.setFocus()
    QTest.keyClicks(trim.instruction, "Press the plus and minus keys")
    QTest.keyClick(trim.instruction, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: trim.status.text().startswith("made h-"), timeout=20000)
    with Workspace.open(tmp_path / "ws", readonly=True) as ws:
        made = [e for e in ws.list(Example, limit=None) if e.origin == "human"]
        assert [(e.start, e.end, e.author, e.instruction) for e in made] == [
            (1, 3, "ada", "Press the plus and minus keys")
        ]
        assert [r.who for r in ws.reviews_of(made[0].id)] == ["ada"]
    assert strip.span() == (1, 2)  # the made span is highlighted
    # the final screen alone is not a span; an empty instruction is refused with the fix in the error bar
    trim.select_span(strip.count() - 1, strip.count() - 1)
    assert trim.span is None and not trim.make_button.isEnabled()
    trim.select_span(0, 0)
    trim.instruction.clear()
    trim.make()
    qtbot.waitUntil(lambda: w.notifications.isVisible(), timeout=10000)
    assert "needs an instruction" in w.notifications.label.text()
    # the Examples view lists it as made by ada, accepted
    examples = w.show_view("examples")
    examples.status_box.setCurrentIndex(examples.status_box.findData(""))
    qtbot.waitUntil(lambda: examples.model.loaded == 5, timeout=10000)
    rows = [examples.model.row(r) for r in range(5)]
    mine = [r for r in rows if r.origin == "human"]
    assert len(mine) == 1 and mine[0].by == "made by ada" and mine[0].status == "accepted"
    _close(w)


def test_suggestion_arrives_without_blocking_and_stale_ones_are_dropped(qtbot: Any, pool: Any) -> None:
    import threading

    from studio.gui.data import MemoryData, StepRow, TrajectoryRow
    from studio.gui.qt_trajectories import TrajectoriesView

    data = MemoryData()
    data.trajectory_rows.append(TrajectoryRow("t", "", "add", "galculator", "explorer", "done", None, 3))
    data.step_rows["t"] = [StepRow("t", i, "", f"pyautogui.click({i}, 1)", [], "", "", "", 64, 48) for i in range(3)]
    gate = threading.Event()
    asked: list[tuple[Any, ...]] = []

    def slow_suggest(tid: str, start: int, end: int, kind: str = "instruction") -> str:
        asked.append((tid, start, end, kind))
        gate.wait(10)
        return f"Do steps {start} to {end - 1}"

    data.suggest_instruction = slow_suggest  # type: ignore[method-assign]
    view = TrajectoriesView(pool, data)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.model.loaded == 1, timeout=10000)
    view.table.selectRow(0)
    qtbot.waitUntil(lambda: view.panel.filmstrip.count() == 3, timeout=10000)
    view.trim.select_span(0, 1)
    view.trim.suggest_button.click()
    qtbot.waitUntil(lambda: bool(asked), timeout=10000)
    assert view.trim.status.text() == "asking the backward writer…" and not view.trim.suggest_button.isEnabled()
    view.trim.select_span(1, 2)  # the UI stays live while the model thinks; the span changes
    gate.set()
    qtbot.waitUntil(lambda: "dropped" in view.trim.status.text(), timeout=10000)
    assert view.trim.instruction.text() == ""
    qtbot.waitUntil(lambda: view.trim.suggest_button.isEnabled(), timeout=10000)
    view.trim.suggest_button.click()
    qtbot.waitUntil(lambda: view.trim.instruction.text() == "Do steps 1 to 2", timeout=10000)
    assert asked[-1] == ("t", 1, 3, "instruction")


def test_before_and_after_a_step_with_the_change_boxed(qtbot: Any, tmp_path: Any) -> None:
    build_workspace(tmp_path / "ws")
    w = _open(qtbot, tmp_path / "ws")
    view = _trajectory(qtbot, w, 1)  # run 1: its last step is followed by the (white) final screen
    panel = view.panel
    panel.show_compare(True)
    cmp = panel.compare
    panel.filmstrip.setCurrentRow(3)
    qtbot.waitUntil(lambda: not cmp.after.image.isNull() and bool(cmp.boxes), timeout=20000)
    assert cmp.before.caption == "before step 3" and not cmp.before.image.isNull()
    assert cmp.before.step_actions and cmp.before.step_actions[0]["kind"] == "click"
    assert cmp.boxes == [(0, 0, 320, 200)]  # the whole screen turned white
    assert cmp.changes.text().startswith("What changed")
    cmp.grab()
    # between steps 0 and 1 only the blue-green tint moved a little: nothing is boxed
    panel.filmstrip.setCurrentRow(0)
    qtbot.waitUntil(lambda: cmp.before.caption == "before step 0" and cmp.boxes == [], timeout=20000)
    # back to the single screen with the action drawn
    panel.show_compare(False)
    qtbot.waitUntil(lambda: not panel.screen_view.image.isNull(), timeout=20000)
    # the Examples view opens on the comparison for the example's span
    examples = w.show_view("examples")
    assert examples.panel.views.currentWidget() is examples.panel.compare
    _close(w)


def test_all_tasks_with_check_status_and_run_it_live(qtbot: Any, tmp_path: Any, slow_replay_env_factory: Any) -> None:
    from studio.gui.live_run import ThreadExecutor
    from studio.workspace import Task, Trajectory, Workspace

    build_workspace(tmp_path / "ws")
    with Workspace.open(tmp_path / "ws") as ws:
        ws.add_tasks(
            [
                Task(
                    id="imported-1",
                    instruction="Type 42 in the calculator",
                    app="galculator",
                    origin="imported",
                    check_status="unverified",
                    check_reason="the no-op run scored 1.0",
                )
            ]
        )
    w = _open(qtbot, tmp_path / "ws")
    live = w.views["live"]
    live.executor_factory = lambda: ThreadExecutor(env_factory=slow_replay_env_factory, source_factory=FakeFrameSource)
    view = w.show_view("docs")
    view.tabs.setCurrentWidget(view.all_tasks)
    panel = view.all_tasks
    qtbot.waitUntil(lambda: panel.model.loaded == 4, timeout=10000)
    rows = {panel.model.row(r).id: r for r in range(4)}
    imported = panel.model.row(rows["imported-1"])
    assert (imported.origin, imported.check_text) == ("imported", "unverified: the no-op run scored 1.0")
    assert panel.model.data(panel.model.index(rows["imported-1"], 5)) == "the no-op run scored 1.0"
    proven = next(panel.model.row(r) for r in range(4) if panel.model.row(r).instruction == "Multiply 6 by 7")
    assert proven.check_status == "proven"
    panel.table.setFocus()
    panel.table.selectRow(rows["imported-1"])
    assert panel.run_button.isEnabled()
    live.policy_box.setCurrentText("explorer")
    live.steps_box.setValue(3)
    panel.run_button.click()
    qtbot.waitUntil(lambda: w.stack.currentWidget() is live and live.running, timeout=20000)
    assert len(live.tiles) == 1
    tile = next(iter(live.tiles.values()))
    qtbot.waitUntil(lambda: tile.frames > 0, timeout=10000)  # shown live
    qtbot.waitUntil(lambda: not live.running, timeout=30000)
    with Workspace.open(tmp_path / "ws", readonly=True) as ws:
        runs = ws.list(Trajectory, task_id="imported-1", limit=None)
        assert len(runs) == 1 and runs[0].policy == "explorer" and runs[0].n_steps >= 1
    # the task list shows the run
    w.show_view("docs")
    qtbot.waitUntil(
        lambda: (
            panel.model.loaded == 4
            and any(
                panel.model.row(r).id == "imported-1" and panel.model.row(r).runs == 1
                for r in range(panel.model.loaded)
            )
        ),
        timeout=20000,
    )
    _close(w)


def test_verdicts_show_judge_accuracy_and_advisory(qtbot: Any, tmp_path: Any) -> None:
    build_workspace(tmp_path / "ws")
    toml = tmp_path / "ws" / "studio.toml"
    text = toml.read_text()
    start, end = text.index("\n[[roles.judges]]") + 1, text.index("\n[roles.query_writer]") + 1  # the committee
    toml.write_text(
        text[:start]
        + '[[roles.judges]]\nmodel = "judge-a"\naccuracy = 0.9\n\n'
        + '[[roles.judges]]\nmodel = "judge-b"\naccuracy = 0.4\n\n'
        + text[end:]
    )
    w = _open(qtbot, tmp_path / "ws")
    view = w.show_view("examples")
    view.status_box.setCurrentIndex(view.status_box.findData(""))
    qtbot.waitUntil(lambda: view.model.loaded == 4 and bool(view.judge_info), timeout=10000)
    view.table.selectRow(0)
    qtbot.waitUntil(lambda: view.verdicts.rowCount() == 8, timeout=10000)
    marks = {view.verdicts.item(r, 0).text(): view.verdicts.item(r, 4).text() for r in range(8)}
    assert marks == {"judge-a": "acc 0.90", "judge-b": "acc 0.40 · advisory"}
    advisory = next(r for r in range(8) if view.verdicts.item(r, 0).text() == "judge-b")
    assert view.verdicts.item(advisory, 0).font().italic()
    assert view.verdicts.horizontalHeader().visualIndex(4) == 1  # shown next to the judge
    _close(w)


def test_overview_follows_a_running_pipelines_stages(qtbot: Any, tmp_path: Any) -> None:
    from types import SimpleNamespace

    from studio.pipeline.progress import ProgressFile

    build_workspace(tmp_path / "ws")
    w = _open(qtbot, tmp_path / "ws")
    view = w.show_view("overview")
    qtbot.waitUntil(lambda: "No pipeline run" in view.run_label.text(), timeout=10000)
    pf = ProgressFile(tmp_path / "ws")  # as `studio run` writes it, from this (live) process
    pf.stage_started("backward", 4)
    pf.stage_finished(SimpleNamespace(stage="backward", done=4, skipped=0, failed=0))
    pf.stage_started("committee", 10)
    for _ in range(3):
        pf.advanced("committee", detail="accepted")
    pf.flush()
    qtbot.waitUntil(lambda: len(view.stage_progress.rows) == 2, timeout=10000)
    qtbot.waitUntil(lambda: view.stage_progress.rows[1][2].startswith("3 / 10 · running"), timeout=10000)
    assert view.stage_progress.rows[0][:2] == ("backward", 1.0)
    assert "Pipeline running" in view.run_label.text() and "stage committee" in view.run_label.text()
    assert "last model call" in view.run_label.text()  # the ledger rows of the fixture
    # costs follow the ledger between count changes: a new call shows up within a poll
    from studio.workspace import Workspace

    with Workspace.open(tmp_path / "ws") as ws:
        ws.add_ledger_records(
            [
                {
                    "stage": "committee",
                    "role": "judge",
                    "model": "openai/gpt-4o-mini",
                    "prompt_tokens": 10,
                    "completion_tokens": 2,
                    "cost": 0.5,
                }
            ]
        )
    qtbot.waitUntil(lambda: view.tiles["cost"].value.text() == "$0.5012", timeout=10000)
    pf.close()
    qtbot.waitUntil(lambda: "ended" in view.run_label.text(), timeout=10000)
    view.grab()
    _close(w)
