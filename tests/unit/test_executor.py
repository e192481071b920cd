"""The process-pool executor: events arrive in order per trajectory, and workers die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

CHILD = """
import sys
from studio.pipeline.rollout.episode import LocalProcessExecutor, RolloutJob
import _rollout_workers as w
jobs = [RolloutJob(f"t{i}", {"pid_dir": sys.argv[1], "id": f"task{i}"}, "app",
                   {"lines": ["pyautogui.click(1, 1)"] * 200}, 200) for i in range(4)]
print("started", flush=True)
LocalProcessExecutor(2, w.make_env, w.make_policy).run(jobs, lambda e: None)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_workers_run_jobs_and_stream_events(tmp_path: Path) -> None:
    sys.path.insert(0, str(HERE))
    try:
        import _rollout_workers as w

        from studio.pipeline.rollout.episode import EpisodeResult, LocalProcessExecutor, RolloutJob, StepEvent

        jobs = [
            RolloutJob(
                f"t{i}",
                {"pid_dir": str(tmp_path), "id": f"k{i}"},
                "app",
                {"lines": ["pyautogui.click(1, 1)", "pyautogui.press('a')"]},
                5,
            )
            for i in range(3)
        ]
        events: list[object] = []
        env = dict(os.environ, PYTHONPATH=f"{HERE}:{ROOT}")
        old = os.environ.copy()
        os.environ.update(env)
        try:
            results = LocalProcessExecutor(2, w.make_env, w.make_policy).run(jobs, events.append)
        finally:
            os.environ.clear()
            os.environ.update(old)
    finally:
        sys.path.remove(str(HERE))
    assert sorted(r.trajectory_id for r in results) == ["t0", "t1", "t2"]
    assert all(r.status == "done" for r in results)
    for tid in ("t0", "t1", "t2"):
        idx = [e.step.index for e in events if isinstance(e, StepEvent) and e.trajectory_id == tid]
        assert idx == [0, 1, 2]
    assert sum(isinstance(e, EpisodeResult) for e in events) == 3


def test_workers_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=f"{HERE}:{ROOT}")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert len(pids) == 2, "workers did not start"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in pids), "worker processes outlived their killed parent"
    finally:
        if child.poll() is None:
            child.kill()
