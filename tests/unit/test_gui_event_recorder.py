"""The one recorder (studio.pipeline.rollout.recorder): GUI- and CLI-started rollouts are written the same way,
as their events arrive, final screen, model and sandbox included; the status migration of schema 3."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from studio.errors import WorkspaceError
from studio.gui.data_workspace import event_recorder
from studio.pipeline.rollout.episode import EpisodeResult, EpisodeStart, StepEvent
from studio.pipeline.rollout.recorder import OUTCOME_STATUS, Recorder, TrajectoryMeta, trajectory_status
from studio.records import Step
from studio.workspace import Trajectory, Workspace
from studio.workspace.migrate import SCHEMA_VERSION


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 40), color).save(buf, format="PNG")
    return buf.getvalue()


def _step(tid: str, i: int) -> StepEvent:
    step = Step(
        trajectory_id=tid,
        index=i,
        reason=f"click {i}",
        action_code=f"pyautogui.click({i}, 1)",
        observation_text=f"screen {i}",
        width=64,
        height=40,
        timings={"step_total": 0.1},
        usage={"prompt_tokens": 10, "completion_tokens": 2, "cost": 0.25},
    )
    return StepEvent(step, _png((i, 0, 0)))


def test_events_become_a_trajectory_with_its_final_screen_model_and_sandbox(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    meta = {"g-1": TrajectoryMeta(model="local/qwen", sandbox={"w": 64, "h": 40, "apps": ["galculator"]})}
    record, close = event_recorder(tmp_path / "ws", meta)
    record(EpisodeStart("g-1", "task-1", "Add 2 and 3", "galculator", "explorer"))
    for i in range(2):
        record(_step("g-1", i))
    record(
        EpisodeResult(
            "g-1", "task-1", "max_steps", 2, final_observation="screen after", final_screenshot_png=_png((9, 9, 9))
        )
    )
    close()
    with Workspace.open(tmp_path / "ws", readonly=True) as ws:
        traj = ws.get(Trajectory, "g-1")
        assert traj.status == "done" and traj.outcome == "max_steps" and traj.n_steps == 2
        assert traj.model == "local/qwen" and traj.sandbox == {"w": 64, "h": 40, "apps": ["galculator"]}
        assert traj.final_observation == "screen after"
        assert traj.final_screenshot and ws.screenshot(traj.final_screenshot)
        assert [s.observation_text for s in ws.steps_of("g-1")] == ["screen 0", "screen 1"]


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("done", "done"),
        ("fail", "done"),
        ("max_steps", "done"),
        ("loop", "done"),
        ("stopped", "interrupted"),
        ("error", "failed"),
        ("something new", "failed"),
    ],
)
def test_outcome_to_lifecycle_status(outcome: str, status: str) -> None:
    assert trajectory_status(outcome) == status


def test_an_env_that_never_started_is_still_recorded(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        rec = Recorder(
            ws,
            {"t-9": TrajectoryMeta(task_id="task-9", instruction="Open it", app="mousepad", policy="model", model="m")},
        )
        rec(EpisodeResult("t-9", "task-9", "error", 0, error="SandboxError: no display"))
        traj = ws.get(Trajectory, "t-9")
        assert (traj.status, traj.outcome, traj.task_id, traj.model) == ("failed", "error", "task-9", "m")
        assert "no display" in traj.error and traj.app == "mousepad"
        assert rec.steps == 0


def test_recorder_counts_usage(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        rec = Recorder(ws)
        rec(EpisodeStart("t", "task", "x", "app", "model"))
        rec(_step("t", 0))
        rec(_step("t", 1))
        assert (rec.steps, rec.tokens, rec.cost) == (2, 24, 0.5)


def test_no_update_of_a_trajectory_that_does_not_exist(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws, pytest.raises(WorkspaceError, match="no trajectory"):
        ws.finish_trajectory("nope", status="done", outcome="done")


def test_schema_3_migration_makes_ended_episodes_done(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    with Workspace.init(path) as ws:
        for tid, status, outcome in [
            ("a", "failed", "max_steps"),
            ("b", "failed", "fail"),
            ("c", "failed", "loop"),
            ("d", "failed", "error"),
            ("e", "interrupted", "stopped"),
            ("f", "done", "done"),
        ]:
            ws.start_trajectory(Trajectory(id=tid))
            ws.finish_trajectory(tid, status=status, outcome=outcome)
    meta = json.loads((path / "workspace.json").read_text())
    meta["schema_version"] = 2  # as written by the CLI before the one recorder
    (path / "workspace.json").write_text(json.dumps(meta))
    with Workspace.open(path) as ws:
        got = {t.id: t.status for t in ws.list(Trajectory, limit=None)}
        assert ws.meta["schema_version"] == SCHEMA_VERSION >= 3
    assert got == {"a": "done", "b": "done", "c": "done", "d": "failed", "e": "interrupted", "f": "done"}
    assert set(OUTCOME_STATUS.values()) <= {"done", "failed", "interrupted"}
