"""Live view: frames from a fake frame source, step events drawn, stop halts the agent, pause, enlarge."""

from __future__ import annotations

from typing import Any

import pytest

from tests.qt.conftest import FakeFrameSource


def _jobs(n: int, max_steps: int) -> list[Any]:
    from studio.gui.live_run import explore_task
    from studio.pipeline.rollout.episode import RolloutJob

    task = explore_task("galculator")
    return [
        RolloutJob(f"t{i}", task, "galculator", {"kind": "explorer", "seed": i}, max_steps) for i in range(n)
    ]


@pytest.fixture
def live(qtbot: Any, pool: Any, slow_replay_env_factory: Any) -> Any:
    from studio.gui.live_run import ThreadExecutor
    from studio.gui.qt_live import LiveView

    view = LiveView(
        pool,
        None,
        executor_factory=lambda: ThreadExecutor(
            slow_replay_env_factory, source_factory=FakeFrameSource
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
    assert tile.drawn_actions and tile.drawn_actions[0]["kind"] == "click"  # element click resolved to coordinates
    assert tile.frames > 0  # live frames from the frame source arrived
    assert not tile.image.isNull()
    assert not live.running and live.start_button.isEnabled()


def test_stop_button_halts_the_agents(qtbot: Any, live: Any) -> None:
    live.start(_jobs(2, 10_000))
    qtbot.waitUntil(lambda: all(t.step >= 2 for t in live.tiles.values()), timeout=10000)
    assert live.stop_button.isEnabled()
    with qtbot.waitSignal(live.run_finished, timeout=10000) as blocker:
        qtbot.mouseClick(
            live.stop_button, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton
        )
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


def test_click_enlarges_a_tile(qtbot: Any, live: Any) -> None:
    from PySide6.QtCore import Qt

    live.start(_jobs(2, 3))
    with qtbot.waitSignal(live.run_finished, timeout=20000):
        pass
    qtbot.mouseClick(live.tiles["t1"], Qt.MouseButton.LeftButton)
    assert live.enlarged == "t1"
    assert live.tiles["t1"].isVisible() and not live.tiles["t0"].isVisible()
    qtbot.mouseClick(live.tiles["t1"], Qt.MouseButton.LeftButton)
    assert live.enlarged is None and live.tiles["t0"].isVisible()


def test_poll_frames_emits_scaled_images() -> None:
    import threading

    from studio.gui.qt_live import poll_frames

    class Exec:
        def frame_sources(self) -> dict[str, Any]:
            return {"a": FakeFrameSource(w=1280, h=800)}

    got: list[Any] = []
    stop = threading.Event()

    def progress(item: Any) -> None:
        got.append(item)
        if len(got) >= 3:
            stop.set()

    assert poll_frames(Exec(), stop, progress, fps=100, max_w=640) >= 3
    tid, img, screen_w = got[0]
    assert tid == "a" and img.width() == 640 and screen_w == 1280
