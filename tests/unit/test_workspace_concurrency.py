"""Workspace concurrency: one writer at a time (clear error naming the holder), readers in other processes see
live appends, crash recovery (interrupted trajectories, partial files), migration from the v0 fixture and from
schema 1 (trajectories without the final screen)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.errors import WorkspaceLockedError
from studio.workspace import Example, Review, Step, Trajectory, Workspace
from studio.workspace.migrate import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_V0 = ROOT / "tests" / "fixtures" / "workspace_v0"

WRITER = """
import sys, time
from studio.workspace import Step, Trajectory, Workspace
ws = Workspace.open(sys.argv[1])
t = Trajectory(instruction="live")
ws.start_trajectory(t)
print("LOCKED", flush=True)
sys.stdin.readline()  # parent says go
for i in range(int(sys.argv[2])):
    ws.add_step(Step(trajectory_id=t.id, index=i, observation_text=f"step {i}"))
    print("STEP", i, flush=True)
    time.sleep(0.2)
sys.stdin.readline()  # parent says finish
ws.finish_trajectory(t.id, status="done")
ws.close()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_second_writer_in_same_process_is_refused(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    try:
        with pytest.raises(WorkspaceLockedError, match=f"pid {os.getpid()}"):
            Workspace.open(tmp_path / "ws")
        Workspace.open(tmp_path / "ws", readonly=True).close()  # readers need no lock
    finally:
        ws.close()
    Workspace.open(tmp_path / "ws").close()  # released on close


def test_reader_in_this_process_sees_writer_in_another(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    reader = Workspace.open(path, readonly=True)
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "5"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "LOCKED"
        with pytest.raises(WorkspaceLockedError, match=f"pid {child.pid}"):
            Workspace.open(path)
        traj = reader.list(Trajectory)  # sees the trajectory the child started
        assert [t.status for t in traj] == ["running"]
        child.stdin.write("go\n")
        child.stdin.flush()
        seen: list[int] = []
        deadline = time.monotonic() + 60
        while (not seen or seen[-1] < 5) and time.monotonic() < deadline:
            n = reader.count(Step, trajectory_id=traj[0].id)
            if not seen or n != seen[-1]:
                seen.append(n)
            time.sleep(0.05)
        assert seen[-1] == 5, f"reader saw step counts {seen}"
        assert len(set(seen)) > 2  # appends became visible one by one while the child was writing
        child.stdin.write("done\n")
        child.stdin.flush()
        assert child.wait(timeout=60) == 0
        assert reader.get(Trajectory, traj[0].id).status == "done"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.close()


def test_killed_writer_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "3"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "LOCKED"
        child.stdin.write("go\n")
        child.stdin.flush()
        for _ in range(3):
            assert child.stdout.readline().startswith("STEP")
    finally:
        child.kill()  # SIGKILL while it waits: the lock dies with it, the trajectory stays "running"
        child.wait()
    # a partial file as a killed LanceDB append leaves it, and a half-written blob
    tmp_data = path / "db" / "steps.lance" / "data" / ".tmpAbC123"
    tmp_data.write_bytes(b"partial")
    (path / "blobs" / "ab").mkdir(parents=True, exist_ok=True)
    tmp_blob = path / "blobs" / "ab" / ".tmp-123-ab.webp"
    tmp_blob.write_bytes(b"partial")
    with Workspace.open(path, readonly=True) as r:  # a reader changes nothing
        assert r.list(Trajectory)[0].status == "running"
        assert tmp_data.exists()
    with Workspace.open(path) as ws:
        assert ws.recovered["interrupted"] == 1 and ws.recovered["tmp_files"] == 2
        (traj,) = ws.list(Trajectory)
        assert traj.status == "interrupted" and traj.finished is not None
        assert [s.index for s in ws.steps_of(traj.id)] == [0, 1, 2]
    assert not tmp_data.exists() and not tmp_blob.exists()
    with Workspace.open(path) as ws:  # clean close: no recovery work
        assert ws.recovered == {"interrupted": 0}


def test_migrates_v0_fixture(tmp_path: Path) -> None:
    path = tmp_path / "old"
    shutil.copytree(FIXTURE_V0, path)
    assert json.loads((path / "workspace.json").read_text())["schema_version"] == 0
    with Workspace.open(path, readonly=True) as r:  # a reader migrates first when no writer holds it
        assert r.meta["schema_version"] == SCHEMA_VERSION
        assert r.get(Trajectory, "traj0").final_observation is None  # never recorded before schema 2
        (ex,) = r.list(Example)
        assert (ex.id, ex.prompt_version, ex.step_indices) == ("ex0", "unknown", [0, 1])
        assert r.get(Trajectory, "traj1").status == "interrupted"  # left running by schema 0
        assert [s.action_code for s in r.steps_of("traj0")] == [
            "pyautogui.click(0, 0)",
            "pyautogui.click(1, 1)",
        ]
        assert r.example_status("ex0") == "accepted"
    with Workspace.open(path) as ws:
        ws.add_review(Review(example_id="ex0", decision="reject", who="ann"))
        ws.add(Example(trajectory_id="traj0", start=0, end=1, instruction="Press 2", prompt_version="v1"))
        assert ws.example_status("ex0") == "overridden-reject"
        assert ws.search_examples_text("three", k=1)[0][0].id == "ex0"
    meta = json.loads((path / "workspace.json").read_text())
    assert meta["schema_version"] == SCHEMA_VERSION and meta["migrations"][0]["from"] == 0
    assert meta["migrations"][0]["to"] == SCHEMA_VERSION


def _make_v1_workspace(path: Path) -> None:
    """A workspace as schema 1 wrote it: trajectories without the final-screen columns."""
    with Workspace.init(path) as ws:
        ws.start_trajectory(Trajectory(id="old", instruction="Type hello", app="mousepad"))
        ws.add_step(Step(trajectory_id="old", index=0, observation_text="1\ttext\t\t", action_code="x"))
        ws.finish_trajectory("old", status="failed", outcome="max_steps")
        ws.table("trajectories").drop_columns(["final_observation", "final_screenshot"])
    meta = json.loads((path / "workspace.json").read_text())
    meta["schema_version"] = 1
    (path / "workspace.json").write_text(json.dumps(meta))


def test_migrates_v1_trajectories_without_a_final_screen(tmp_path: Path) -> None:
    path = tmp_path / "v1"
    _make_v1_workspace(path)
    with Workspace.open(path, readonly=True) as r:  # migrated by a writer first, then read
        assert r.meta["schema_version"] == SCHEMA_VERSION
        old = r.get(Trajectory, "old")
        # schema 3: an episode that ended on its step limit is "done" (outcome max_steps), no longer "failed"
        assert (old.status, old.n_steps, old.final_observation, old.final_screenshot) == ("done", 1, None, None)
    with Workspace.open(path) as ws:  # new rows get the columns; old ones stay None
        ws.start_trajectory(Trajectory(id="new", instruction="Type bye", app="mousepad"))
        ws.finish_trajectory("new", status="done", outcome="max_steps", final_observation="after")
        assert ws.get(Trajectory, "new").final_observation == "after"
        assert ws.get(Trajectory, "old").final_observation is None
        assert {t.id for t in ws.list(Trajectory, limit=None)} == {"old", "new"}
    meta = json.loads((path / "workspace.json").read_text())
    assert meta["migrations"] == [{"from": 1, "to": SCHEMA_VERSION, "time": meta["migrations"][0]["time"]}]


def test_migrates_v3_steps_without_state_changes(tmp_path: Path) -> None:
    """Schema 4 adds steps.changes: old steps read None, new ones keep what the recorder computed."""
    path = tmp_path / "v3"
    head = "id\trole\tname\ttext\tposition\tsize\n"
    with Workspace.init(path) as ws:
        ws.start_trajectory(Trajectory(id="old", instruction="Add 1 and 2", app="galculator"))
        ws.add_step(
            Step(
                trajectory_id="old",
                index=0,
                observation_text=head + "0\ttext\t\t0\t(0, 0)\t(9, 9)",
                action_code="pyautogui.write('1+2=')",
            )
        )
        ws.finish_trajectory(
            "old", status="done", outcome="done", final_observation=head + "0\ttext\t\t3\t(0, 0)\t(9, 9)"
        )
        ws.table("steps").drop_columns(["changes"])
    meta = json.loads((path / "workspace.json").read_text())
    meta["schema_version"] = 3
    (path / "workspace.json").write_text(json.dumps(meta))
    with Workspace.open(path) as ws:
        assert ws.meta["schema_version"] == SCHEMA_VERSION
        (old,) = ws.steps_of("old")
        assert old.changes is None
        ws.add_step(
            Step(
                trajectory_id="old",
                index=1,
                observation_text=head + "0\ttext\t\t3\t(0, 0)\t(9, 9)",
                action_code="x",
                changes=[{"kind": "focus", "role": "window", "after": "Save As"}],
            )
        )
        assert ws.steps_of("old")[1].changes == [{"kind": "focus", "role": "window", "after": "Save As"}]
    from studio.gui.data_workspace import WorkspaceData

    data = WorkspaceData(path)
    rows = data.steps("old")
    data.ws.close()
    assert rows[0].changes == ["text: '0' -> '3'"]  # computed from the next screen for the old step
    assert rows[1].changes == ["focus moved to window 'Save As'"]
