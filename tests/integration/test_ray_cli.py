"""``studio rollout --ray``: the CLI starts a Ray on 127.0.0.1, runs real sandboxes on it, writes the workspace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envs.tasks import REPO_ROOT
from studio.workspace import Task, Trajectory, Workspace

pytestmark = pytest.mark.integration
pytest.importorskip("ray")


@pytest.mark.timeout(600)
def test_cli_rollout_with_bare_ray_flag(tmp_path: Path) -> None:
    ws_dir = tmp_path / "ws"
    with Workspace.init(ws_dir) as ws:
        ws.add_tasks(
            [Task(id=f"t{i}", instruction="Explore the calculator.", app="galculator", origin="file") for i in range(2)]
        )
    toml = ws_dir / "studio.toml"
    toml.write_text(toml.read_text().replace("max_steps = 8", "max_steps = 2"))
    proc = subprocess.run(
        [sys.executable, "-m", "studio.cli", "rollout", "-w", str(ws_dir), "--policy", "explorer", "--parallel", "2",
         "--ray"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=540, env=dict(os.environ, COLUMNS="200"),
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    with Workspace.open(ws_dir, readonly=True) as ws:
        trajs = ws.list(Trajectory, limit=None)
        assert sorted(t.task_id for t in trajs) == ["t0", "t1"]
        assert all(t.status == "done" and t.outcome == "max_steps" and t.n_steps == 2 for t in trajs), trajs
