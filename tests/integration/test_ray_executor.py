"""Rollouts and evaluations through a real Ray cluster (started here on loopback), in real sandboxes.

The same jobs run through the built-in executor and through :class:`RayExecutor` and must give the same results;
a Ray worker process killed in the middle of an episode is retried and the episode recorded once; a stop ends
every episode before its next step.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from studio.config import load_config
from studio.pipeline.agent.factory import make_env, make_policy
from studio.pipeline.eval.runner import EVAL_SUITE_DIR, run_suite
from studio.pipeline.rollout import cluster
from studio.pipeline.rollout.episode import EpisodeResult, EpisodeStart, RolloutJob, StepEvent
from studio.pipeline.rollout.ray_executor import RayExecutor
from studio.pipeline.rollout.recorder import Recorder
from studio.pipeline.run import RunContext, stage_rollouts
from studio.workspace import Step, Task, Trajectory, Workspace

assert os.environ.get(cluster.LOOPBACK_ENV) == "0", "tests/conftest.py keeps the test's Ray on 127.0.0.1"
ray = pytest.importorskip("ray")

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None:  # pragma: no cover - setup problem
    pytest.skip("needs Xvfb and nsenter (util-linux) (run `make test` to install them)", allow_module_level=True)

# the helpers below run on Ray workers, which cannot import this test module: ship them by value
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def ray_cluster() -> Any:
    """A one-node Ray on 127.0.0.1 declaring two sandboxes (200 MB object store, no dashboard)."""
    started = cluster.connect("", sandboxes=2)
    assert started, "another test left Ray running in this process"
    nodes = ray.nodes()
    assert all(n["NodeManagerAddress"] == "127.0.0.1" for n in nodes), nodes
    yield nodes
    cluster.disconnect()


def pid_noting_policy(spec: dict[str, Any]) -> Any:
    """The explorer policy; first writes this worker's pid where the test can find it (and kill it)."""
    Path(spec["pid_dir"], spec["tid"]).write_text(str(os.getpid()))
    return make_policy(spec)


# ------------------------------------------------------------------------------------------------ rollouts


def _rollout_workspace(path: Path) -> None:
    ws = Workspace.init(path)
    ws.add_tasks(
        [
            Task(id="calc", instruction="Compute 12*7 with the calculator.", app="galculator", origin="file"),
            Task(id="edit", instruction="Type a note in the editor.", app="mousepad", origin="file"),
            Task(id="term", instruction="List the files in the terminal.", app="xterm", origin="file"),
        ]
    )
    ws.close()


def _run_rollouts(path: Path, kind: str) -> dict[str, tuple[str, list[str]]]:
    with Workspace.open(path) as ws:
        cfg = load_config(path / "studio.toml")
        cfg.pipeline.policy = "explorer"
        cfg.pipeline.max_steps = 3
        cfg.executor.kind = kind  # type: ignore[assignment]
        summary = stage_rollouts(RunContext(ws=ws, cfg=cfg, client=None), parallel=2)
        assert summary.failed == 0, summary.notes
        out = {}
        for traj in ws.list(Trajectory, limit=None):
            steps = ws.steps_of(traj.id)
            assert [s.index for s in steps] == list(range(len(steps)))
            out[traj.task_id] = (traj.outcome, [s.reason for s in steps])
        return out


@pytest.mark.timeout(900)
def test_rollouts_through_ray_match_the_local_executor(tmp_path: Path, ray_cluster: Any) -> None:
    for name in ("local", "ray"):
        _rollout_workspace(tmp_path / name)
    local = _run_rollouts(tmp_path / "local", "local")
    through_ray = _run_rollouts(tmp_path / "ray", "ray")
    assert set(local) == {"calc", "edit", "term"}
    assert through_ray == local


@pytest.mark.timeout(900)
def test_an_eval_suite_through_ray_matches_the_local_executor(tmp_path: Path, ray_cluster: Any) -> None:
    suite = EVAL_SUITE_DIR / "galculator"

    def rows(run: Any) -> list[tuple[str, str, float, str, int, str]]:
        return [(r.agent, r.task_id, r.score, r.status, r.steps, r.error) for r in run.results]

    local = run_suite(suite, ["solution", "noop"], tmp_path / "local", limit=2, parallel=2, report=False)
    executor = RayExecutor(make_env, make_policy, sandboxes=2)
    through_ray = run_suite(suite, ["solution", "noop"], tmp_path / "ray", limit=2, executor=executor, report=False)
    assert [r[2] for r in rows(local)] == [1.0, 1.0, 0.0, 0.0]
    assert rows(through_ray) == rows(local)
    assert executor.notes == [] and executor.retries == 0


# ------------------------------------------------------------------------------------------------- faults


def _explore_jobs(n: int, steps: int, pid_dir: Path) -> list[RolloutJob]:
    from envs.tasks import parse_task

    jobs = []
    for i in range(n):
        task = parse_task(
            {
                "id": f"explore-{i}",
                "instruction": "Explore the calculator.",
                "related_apps": ["galculator"],
                "config": [],
                "evaluator": {"func": "infeasible"},
            },
            source="test",
        )
        tid = f"traj-{i}"
        jobs.append(
            RolloutJob(
                tid,
                task,
                "galculator",
                {"kind": "explorer", "seed": i, "pid_dir": str(pid_dir), "tid": tid},
                steps,
                800,
                600,
            )
        )
    return jobs


@pytest.mark.timeout(900)
def test_a_worker_killed_mid_episode_is_retried_and_recorded_once(tmp_path: Path, ray_cluster: Any) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    ws = Workspace.init(tmp_path / "ws")
    writer = Recorder(ws)
    events: list[Any] = []
    killed: list[int] = []

    def on_event(event: Any) -> None:
        events.append(event)
        writer(event)
        if isinstance(event, StepEvent) and event.trajectory_id == "traj-0" and event.step.index == 1 and not killed:
            pid = int((pid_dir / "traj-0").read_text())
            os.kill(pid, signal.SIGKILL)  # the Ray worker process that runs traj-0's sandbox and policy
            killed.append(pid)

    executor = RayExecutor(make_env, pid_noting_policy, sandboxes=2, max_retries=2)
    results = executor.run(_explore_jobs(2, 5, pid_dir), on_event)
    ws.close()

    assert killed, "the episode ended before its worker could be killed"
    assert executor.retries == 1, executor.notes
    assert any("died" in note and "retry 1 of 2" in note for note in executor.notes), executor.notes
    assert int((pid_dir / "traj-0").read_text()) != killed[0]  # the retry ran in another worker process
    starts = [e.attempt for e in events if isinstance(e, EpisodeStart) and e.trajectory_id == "traj-0"]
    assert starts == [0, 1]
    assert sorted(r.trajectory_id for r in results) == ["traj-0", "traj-1"]
    assert all(r.status in ("max_steps", "loop", "done") for r in results), results

    with Workspace.open(tmp_path / "ws", readonly=True) as ro:
        assert ro.count(Trajectory, id="traj-0") == 1  # recorded once ...
        traj = ro.get(Trajectory, "traj-0")
        steps = ro.steps_of("traj-0")
        assert [s.index for s in steps] == list(range(traj.n_steps))  # ... with the retry's steps only
        assert traj.status in ("done", "failed") and traj.n_steps == results[0].n_steps
        assert ro.count(Step, trajectory_id="traj-1") == results[1].n_steps


@pytest.mark.timeout(600)
def test_stop_ends_every_episode_before_its_next_step(tmp_path: Path, ray_cluster: Any) -> None:
    stop = threading.Event()
    steps_after_stop: dict[str, int] = {}
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()

    def on_event(event: Any) -> None:
        if isinstance(event, StepEvent):
            if stop.is_set():
                steps_after_stop[event.trajectory_id] = steps_after_stop.get(event.trajectory_id, 0) + 1
            elif event.step.index == 1:
                stop.set()  # like Ctrl-C / the GUI's Stop while both sandboxes are busy

    jobs = _explore_jobs(3, 40, pid_dir)
    results = RayExecutor(make_env, pid_noting_policy, sandboxes=2).run(jobs, on_event, stop)
    assert stop.is_set()
    assert results, "no episode reported back"
    assert {r.status for r in results} == {"stopped"}, results
    assert len(results) == 2  # the third job never started
    assert all(n <= 1 for n in steps_after_stop.values()), steps_after_stop  # at most the step in flight
    assert all(r.n_steps < 10 for r in results)


def test_results_stream_as_events_in_order(ray_cluster: Any, tmp_path: Path) -> None:
    """Every episode's events arrive in order: start, steps 0..n-1, result (real sandbox, two at once)."""
    seen: dict[str, list[Any]] = {}
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()

    def on_event(event: Any) -> None:
        seen.setdefault(event.trajectory_id, []).append(event)

    RayExecutor(make_env, pid_noting_policy, sandboxes=2).run(_explore_jobs(2, 3, pid_dir), on_event)
    for tid, evs in seen.items():
        assert isinstance(evs[0], EpisodeStart) and isinstance(evs[-1], EpisodeResult), tid
        steps = [e for e in evs if isinstance(e, StepEvent)]
        assert [s.step.index for s in steps] == list(range(len(steps)))
        assert all(s.screenshot_png.startswith(b"\x89PNG") for s in steps)
