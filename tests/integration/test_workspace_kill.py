"""SIGKILL during a rollout-shaped write loop loses nothing that was reported written.

A child process opens the workspace, starts a trajectory and appends steps with 1280x800 screenshots one by
one, printing each step id after its commit. The parent kills it with SIGKILL at a random moment (several
rounds on the same workspace), reopens it and checks every reported step is there with a readable screenshot,
the trajectory is marked interrupted and no partial files are left.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.workspace import Step, Trajectory, Workspace

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import io, sys
from PIL import Image, ImageDraw
from studio.workspace import Step, Trajectory, Workspace

ws = Workspace.open(sys.argv[1])
t = Trajectory(instruction="kill me", app="mousepad", sandbox={"w": 1280, "h": 800, "apps": ["mousepad"]})
ws.start_trajectory(t)
print("TRAJ", t.id, flush=True)
for i in range(10_000):
    img = Image.new("RGB", (1280, 800), (235, 235, 235))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1280, 30), fill=(40, 40, 60))
    for row in range(i % 30):
        d.text((20, 50 + row * 22), f"line {row} typed at step {i}", fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    obs = "\\n".join(f"{k}\\tpush button\\tButton {k}\\t\\t({k}, {k})\\t(40, 20)" for k in range(40))
    step = Step(trajectory_id=t.id, index=i, observation_text=obs, width=1280, height=800,
                action_code=f"pyautogui.click({i}, {i})", actions=[{"kind": "click", "x": i, "y": i}])
    ws.add_step(step, screenshot=buf.getvalue())
    print("STEP", step.id, flush=True)
"""


def _run_and_kill(path: Path, rng: random.Random) -> tuple[str, list[str]]:
    """Run the child, kill it at a random moment; returns its trajectory id and every step id it reported."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    reported: list[str] = []
    try:
        first = child.stdout.readline().split()
        assert first[0] == "TRAJ", first
        # let it write a few steps, then kill at a random moment (mid-encode, mid-commit or between steps)
        for _ in range(rng.randint(2, 6)):
            line = child.stdout.readline().split()
            assert line[0] == "STEP", line
            reported.append(line[1])
        time.sleep(rng.uniform(0.0, 0.4))
    finally:
        child.kill()
        child.wait()
    reported += [line.split()[1] for line in child.stdout.read().splitlines() if line.startswith("STEP")]
    return first[1], reported


def test_sigkill_loses_only_the_step_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    rng = random.Random()
    for _ in range(3):
        traj_id, reported = _run_and_kill(path, rng)
        with Workspace.open(path) as ws:
            assert ws.recovered["interrupted"] == 1
            assert not list((path / "db").rglob(".tmp*")) and not list((path / "blobs").rglob(".tmp-*"))
            steps = ws.steps_of(traj_id)
            stored = {s.id for s in steps}
            missing = set(reported) - stored
            assert not missing, f"steps reported written but lost: {missing}"
            assert len(stored) - len(reported) <= 1  # at most the step in flight (committed, not yet printed)
            assert [s.index for s in steps] == list(range(len(steps)))
            for s in steps:
                assert ws.blobs.image(s.screenshot).size == (1280, 800)
            traj = ws.get(Trajectory, traj_id)
            assert traj.status == "interrupted" and traj.finished is not None
            assert ws.count(Step) >= len(reported)
