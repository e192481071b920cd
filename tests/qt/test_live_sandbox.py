"""Live view against a real sandbox (Xvfb + openbox + galculator in the sandbox), explorer policy."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_live_view_shows_a_real_sandbox_and_stops(qtbot: Any, pool: Any, tmp_path: Any) -> None:
    from studio.gui.live_run import ThreadExecutor, explore_task
    from studio.gui.qt_live import LiveView
    from studio.pipeline.rollout.episode import RolloutJob
    from studio.workspace import Trajectory, Workspace

    Workspace.init(tmp_path / "ws").close()
    view = LiveView(pool, None, executor_factory=ThreadExecutor)
    view.workspace_path = tmp_path / "ws"  # GUI-started runs are written to the workspace
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    job = RolloutJob(
        "real-1", explore_task("galculator"), "galculator", {"kind": "explorer", "seed": 3}, 500, width=800, height=600
    )
    view.start([job])
    tile = view.tiles["real-1"]
    qtbot.waitUntil(lambda: tile.frames >= 5, timeout=60000)  # live frames polled from the sandbox display
    assert tile.screen_w == 800 and not tile.image.isNull()
    # the app fills its sandbox's screen (maximized by the sandbox's window manager), not a dot on black
    qtbot.waitUntil(lambda: _dark_share(tile.image) < 0.2, timeout=30000)
    qtbot.waitUntil(lambda: tile.step >= 2, timeout=60000)
    assert tile.reason and tile.step_actions and tile.last_action
    with qtbot.waitSignal(view.run_finished, timeout=30000) as blocker:
        view.stop()
    assert [r.status for r in blocker.args[0]] == ["stopped"]
    with Workspace.open(tmp_path / "ws", readonly=True) as ws:
        steps = ws.steps_of("real-1")
        assert len(steps) >= 2 and steps[0].screenshot
        assert ws.get(Trajectory, "real-1").outcome == "stopped"


def _dark_share(image: Any) -> float:
    """Share of near-black pixels, on a coarse grid of the frame."""
    w, h = image.width(), image.height()
    points = [(x, y) for x in range(0, w, max(1, w // 40)) for y in range(0, h, max(1, h // 30))]
    dark = sum(1 for x, y in points if image.pixelColor(x, y).lightness() < 30)
    return dark / max(1, len(points))
