"""Live view: frames from a fake frame source, step events drawn, stop halts the agent, pause, enlarge."""

from __future__ import annotations

from typing import Any

import pytest

from tests.qt.conftest import FakeFrameSource, shown_text


def _jobs(n: int, max_steps: int) -> list[Any]:
    from studio.gui.live_run import explore_task
    from studio.pipeline.rollout.episode import RolloutJob

    task = explore_task("galculator")
    return [RolloutJob(f"t{i}", task, "galculator", {"kind": "explorer", "seed": i}, max_steps) for i in range(n)]


@pytest.fixture
def live(qtbot: Any, pool: Any, slow_replay_env_factory: Any) -> Any:
    from studio.gui.live_run import ThreadExecutor
    from studio.gui.qt_live import LiveView

    view = LiveView(
        pool,
        None,
        executor_factory=lambda: ThreadExecutor(
            slow_replay_env_factory, source_factory=lambda env: FakeFrameSource(env, w=1280, h=800)
        ),
    )
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    yield view
    view.shutdown()
    pool.wait(5000)


def test_live_view_receives_frames_and_steps(qtbot: Any, live: Any) -> None:
    live.start(_jobs(2, 6))
    assert set(live.tiles) == {"t0", "t1"}
    with qtbot.waitSignal(live.run_finished, timeout=20000) as blocker:
        pass
    results = blocker.args[0]
    assert sorted(r.status for r in results) == ["max_steps", "max_steps"]
    tile = live.tiles["t0"]
    assert tile.step == 6
    assert tile.reason  # the explorer's REASON is shown
    assert tile.step_actions and tile.step_actions[0]["kind"] == "click"  # element click resolved to coordinates
    assert tile.frames > 0  # live frames from the frame source arrived
    assert not tile.image.isNull()
    assert not live.running and live.start_button.isEnabled()


def test_stop_button_halts_the_agents(qtbot: Any, live: Any) -> None:
    live.start(_jobs(2, 10_000))
    qtbot.waitUntil(lambda: all(t.step >= 2 for t in live.tiles.values()), timeout=10000)
    assert live.stop_button.isEnabled()
    with qtbot.waitSignal(live.run_finished, timeout=10000) as blocker:
        qtbot.mouseClick(live.stop_button, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
    assert [r.status for r in blocker.args[0]] == ["stopped", "stopped"]
    assert all(t.status == "stopped" for t in live.tiles.values())
    assert live.stop_event.is_set()


def test_escape_shortcut_stops(qtbot: Any, live: Any) -> None:
    from PySide6.QtCore import Qt

    live.start(_jobs(1, 10_000))
    qtbot.waitUntil(lambda: live.tiles["t0"].step >= 1, timeout=10000)
    live.activateWindow()
    qtbot.waitUntil(live.isActiveWindow, timeout=5000)
    live.start_button.setFocus()
    with qtbot.waitSignal(live.run_finished, timeout=10000) as blocker:
        qtbot.keyClick(live, Qt.Key.Key_Escape)
    assert [r.status for r in blocker.args[0]] == ["stopped"]


def test_pause_holds_steps(qtbot: Any, live: Any) -> None:
    live.start(_jobs(1, 10_000))
    qtbot.waitUntil(lambda: live.tiles["t0"].step >= 1, timeout=10000)
    live.pause_button.setChecked(True)
    qtbot.wait(300)
    held = live.tiles["t0"].step
    qtbot.wait(500)
    assert live.tiles["t0"].step <= held + 1  # at most the step that was in flight
    live.pause_button.setChecked(False)
    qtbot.waitUntil(lambda: live.tiles["t0"].step > held + 1, timeout=10000)
    with qtbot.waitSignal(live.run_finished, timeout=10000):
        live.stop()


def test_click_follows_a_tile_large_and_back_to_the_grid(qtbot: Any, live: Any) -> None:
    from PySide6.QtCore import Qt

    live.resize(1200, 800)
    live.start(_jobs(4, 10_000))
    qtbot.waitUntil(lambda: all(t.frames >= 2 for t in live.tiles.values()), timeout=10000)
    grid_w = live.tiles["t1"].width()
    assert live.tiles["t1"].image.width() <= grid_w  # thumbnails come scaled to their tile
    qtbot.mouseClick(live.tiles["t1"], Qt.MouseButton.LeftButton)
    assert live.followed == "t1" and live.tiles["t1"].followed
    assert all(t.isVisible() for t in live.tiles.values())  # the others stay live beside it
    qtbot.waitUntil(lambda: live.tiles["t1"].width() > 2 * live.tiles["t0"].width(), timeout=5000)
    assert live.tiles["t1"].width() > grid_w
    assert live.grid_button.isVisible()
    # the followed tile's frames arrive at its new, larger size (scaled on the pump's thread)
    qtbot.waitUntil(lambda: live.tiles["t1"].image.width() > grid_w, timeout=10000)
    qtbot.mouseClick(live.tiles["t0"], Qt.MouseButton.LeftButton)  # another tile: follow that one
    assert live.followed == "t0" and not live.tiles["t1"].followed
    qtbot.mouseClick(live.grid_button, Qt.MouseButton.LeftButton)
    assert live.followed is None and not live.grid_button.isVisible()
    qtbot.mouseClick(live.tiles["t2"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(live.tiles["t2"], Qt.MouseButton.LeftButton)  # a second click: back to the grid
    assert live.followed is None
    with qtbot.waitSignal(live.run_finished, timeout=10000):
        live.stop()


def test_grid_of_nine_sandboxes_shows_task_step_action_and_status(qtbot: Any, live: Any) -> None:
    live.resize(1400, 900)
    live.start(_jobs(9, 4))
    assert len(live.tiles) == 9
    positions = {live.grid.getItemPosition(live.grid.indexOf(t))[:2] for t in live.tiles.values()}
    assert positions == {(r, c) for r in range(3) for c in range(3)}  # 3 x 3
    with qtbot.waitSignal(live.run_finished, timeout=30000):
        pass
    for tid, tile in live.tiles.items():
        lines = tile.lines()
        # the replayed screens repeat: walk 5 (explorer seed 5) repeats an action on an unchanged table at its last
        # step, which the loop detector (a11y table, not screenshot) names; the others end on the step limit
        assert lines["status"] == ("loop · step 4/4" if tid == "t5" else "max_steps · step 4/4"), tid
        assert lines["task"] == "Explore galculator: try its main features."
        assert lines["action"].startswith("▸ ") and "no action" not in lines["action"]
        assert lines["reason"].startswith("REASON: ")
        described = tile.accessibleDescription().splitlines()  # screen readers and the tooltip say the same
        assert described[:4] == [lines["status"], lines["task"], lines["action"], lines["reason"]]
        assert shown_text(tile.toolTip()).startswith("\n".join(described[:4]))


def test_pause_marks_the_tiles(qtbot: Any, live: Any) -> None:
    live.start(_jobs(2, 10_000))
    qtbot.waitUntil(lambda: all(t.status == "running" for t in live.tiles.values()), timeout=10000)
    live.pause_button.setChecked(True)
    assert {t.lines()["status"].split(" ·")[0] for t in live.tiles.values()} == {"paused"}
    live.pause_button.setChecked(False)
    assert {t.status for t in live.tiles.values()} == {"running"}
    with qtbot.waitSignal(live.run_finished, timeout=10000):
        live.stop()


def test_grid_columns_and_frame_scaling() -> None:
    from studio.gui.qt_live import grid_columns, scale_frame
    from tests.qt.conftest import FakeFrame

    assert [grid_columns(n) for n in (1, 2, 3, 4, 5, 8, 9, 10, 16)] == [1, 2, 2, 2, 3, 3, 3, 4, 4]
    frame = FakeFrame(1280, 800, 1)
    assert scale_frame(frame, 400, 400).size().toTuple() == (400, 250)  # fits the width
    assert scale_frame(frame, 1000, 250).size().toTuple() == (400, 250)  # fits the height
    assert scale_frame(frame, 0, 0).size().toTuple() == (1280, 800)
    for image in (scale_frame(frame, 400, 400), scale_frame(frame, 0, 0)):
        pixel = image.pixelColor(10, 10)  # BGRA in memory: blue 1, green 80, red 160; no channel swapped
        assert (pixel.red(), pixel.green(), pixel.blue()) == (160, 80, 1)
