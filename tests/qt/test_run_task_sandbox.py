"""Run it, on a real sandbox: a workspace task with a validated check, started from the All tasks list, runs in
an isolated sandbox (Xvfb + openbox + galculator) shown live in the Live view, is recorded in the workspace
under its task id and scored by its check. The fast test of the same path uses a replay env
(tests/qt/test_trim_and_signals.py)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration

CHECK = {
    "config": [{"type": "launch_app", "parameters": {"name": "galculator"}}],
    "evaluator": {
        "func": "a11y_contains",
        "result": {"type": "accessibility_tree"},
        "expected": {"type": "rule", "rules": {"include": [{"text": "4242"}]}},
    },
}


@pytest.mark.timeout(600)
def test_run_it_opens_a_real_sandbox_on_the_task(qtbot: Any, tmp_path: Any) -> None:
    from studio.gui.qt_main_window import MainWindow
    from studio.workspace import Task, Trajectory, Workspace

    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_tasks(
            [
                Task(
                    id="calc-4242",
                    instruction="Type 4242 in the calculator",
                    app="galculator",
                    origin="imported",
                    check=CHECK,
                    check_status="verified",
                    check_reason="",
                )
            ]
        )
    w = MainWindow(tmp_path / "ws", poll_ms=500)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.data is not None, timeout=30000)
    docs = w.show_view("docs")
    docs.tabs.setCurrentWidget(docs.all_tasks)
    panel = docs.all_tasks
    qtbot.waitUntil(lambda: panel.model.loaded == 1, timeout=20000)
    live = w.views["live"]
    live.policy_box.setCurrentText("explorer")
    live.steps_box.setValue(3)
    panel.table.selectRow(0)
    panel.run_button.click()
    qtbot.waitUntil(lambda: live.running and len(live.tiles) == 1, timeout=30000)
    tile = next(iter(live.tiles.values()))
    qtbot.waitUntil(lambda: tile.frames >= 3, timeout=120000)  # the sandbox's screen, live
    assert not tile.image.isNull()
    qtbot.waitUntil(lambda: not live.running, timeout=300000)
    with Workspace.open(tmp_path / "ws", readonly=True) as ws:
        runs = ws.list(Trajectory, task_id="calc-4242", limit=None)
        assert len(runs) == 1 and runs[0].status in ("done", "failed"), runs
        assert runs[0].n_steps >= 1 and runs[0].score is not None  # scored by the task's check
    w.timer.stop()
    w.pool.wait(10000)
