"""GUI-started rollouts are written to the workspace as their events arrive, final screen included."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from studio.gui.data_workspace import event_recorder
from studio.pipeline.rollout.episode import EpisodeResult, EpisodeStart, StepEvent
from studio.workspace import Trajectory, Workspace


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 40), color).save(buf, format="PNG")
    return buf.getvalue()


def test_events_become_a_trajectory_with_its_final_screen(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    record, close = event_recorder(tmp_path / "ws")
    record(EpisodeStart("g-1", "task-1", "Add 2 and 3", "galculator", "explorer"))
    for i in range(2):
        record(
            StepEvent("g-1", i, f"click {i}", f"pyautogui.click({i}, 1)", [], "", f"screen {i}", _png((i, 0, 0)),
                      64, 40, {"step_total": 0.1})
        )
    record(
        EpisodeResult("g-1", "task-1", "max_steps", 2, final_observation="screen after",
                      final_screenshot_png=_png((9, 9, 9)))
    )
    close()
    with Workspace.open(tmp_path / "ws", readonly=True) as ws:
        traj = ws.get(Trajectory, "g-1")
        assert traj.status == "done" and traj.outcome == "max_steps" and traj.n_steps == 2
        assert traj.final_observation == "screen after"
        assert traj.final_screenshot and ws.screenshot(traj.final_screenshot)
        assert [s.observation_text for s in ws.steps_of("g-1")] == ["screen 0", "screen 1"]
