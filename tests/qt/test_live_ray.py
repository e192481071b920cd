"""Live view with ``[executor] kind = "ray"``: a real sandbox on a Ray actor, watched live, paused, stopped.

The view starts Ray itself (on 127.0.0.1) from its rollout worker, as it does for a user whose workspace says so.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration
pytest.importorskip("ray")


@pytest.mark.timeout(600)
def test_live_view_watches_a_sandbox_on_ray_and_stops_it(qtbot: Any, pool: Any, tmp_path: Any) -> None:
    from studio.gui.live_run import explore_task
    from studio.gui.qt_live import LiveView
    from studio.pipeline.rollout.episode import RolloutJob
    from studio.pipeline.rollout.ray_executor import RayExecutor
    from studio.workspace import Trajectory, Workspace

    Workspace.init(tmp_path / "ws").close()
    toml = tmp_path / "ws" / "studio.toml"
    toml.write_text(toml.read_text().replace('kind = "local"', 'kind = "ray"'))
    view = LiveView(pool, None)
    view.workspace_path = tmp_path / "ws"
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    job = RolloutJob(
        "ray-1", explore_task("galculator"), "galculator", {"kind": "explorer", "seed": 3}, 500, width=800, height=600
    )
    view.start([job])
    assert isinstance(view.executor, RayExecutor)
    tile = view.tiles["ray-1"]
    qtbot.waitUntil(lambda: tile.frames >= 3, timeout=180000)  # live frames from the actor's sandbox (JPEG)
    assert tile.screen_w == 800 and not tile.image.isNull()
    qtbot.waitUntil(lambda: tile.step >= 2, timeout=120000)
    view.set_paused(True)  # reaches the actor: no step while paused
    qtbot.wait(1500)
    held = tile.step
    qtbot.wait(2500)
    assert tile.step <= held + 1  # at most the step that was in flight
    view.set_paused(False)
    qtbot.waitUntil(lambda: tile.step > held, timeout=60000)
    with qtbot.waitSignal(view.run_finished, timeout=60000) as blocker:
        view.stop()
    assert [r.status for r in blocker.args[0]] == ["stopped"]
    with Workspace.open(tmp_path / "ws", readonly=True) as ws:
        steps = ws.steps_of("ray-1")
        assert len(steps) >= 2 and steps[0].screenshot
        assert ws.get(Trajectory, "ray-1").outcome == "stopped"
