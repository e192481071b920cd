"""Choosing Ray (config / --ray), judging cluster nodes, and recording a retried episode once (no Ray needed).

The real cluster behaviour is tested in tests/integration/test_ray_executor.py and test_ray_nodes.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.config import ExecutorConfig, default_config, parse_config
from studio.errors import ClusterError, ConfigError
from studio.pipeline.rollout import cluster
from studio.pipeline.rollout.episode import InlineExecutor, LocalProcessExecutor
from studio.pipeline.rollout.executors import RAY_FROM_CONFIG, apply_ray_option, make_executor
from studio.pipeline.rollout.ray_executor import RayExecutor
from studio.workspace import Step, Trajectory, Workspace


def _env(job: object) -> object:
    raise AssertionError("not called")


def _policy(spec: dict) -> object:
    raise AssertionError("not called")


def test_the_default_config_runs_locally_and_executor_keys_are_validated() -> None:
    cfg = default_config()
    assert cfg.executor.kind == "local" and cfg.executor.sandbox_resource == "sandbox"
    ray_cfg = parse_config('[executor]\nkind = "ray"\naddress = "127.0.0.1:6379"\nmax_retries = 1\n')
    assert (ray_cfg.executor.kind, ray_cfg.executor.address, ray_cfg.executor.max_retries) == (
        "ray",
        "127.0.0.1:6379",
        1,
    )
    with pytest.raises(ConfigError, match="unknown key 'executor.adress'"):
        parse_config('[executor]\nadress = "x"\n')


def test_ray_option_and_config_choose_the_executor() -> None:
    cfg = ExecutorConfig()
    assert isinstance(make_executor(_env, _policy, parallel=1, config=cfg), InlineExecutor)
    assert isinstance(make_executor(_env, _policy, parallel=3, config=cfg), LocalProcessExecutor)
    apply_ray_option(cfg, None, parallel=3)
    assert cfg.kind == "local" and cfg.sandboxes == 0  # no --ray: nothing changes

    apply_ray_option(cfg, RAY_FROM_CONFIG, parallel=None)  # --ray alone: the config's address ("" = local Ray)
    ex = make_executor(_env, _policy, parallel=2, config=cfg)
    assert isinstance(ex, RayExecutor) and ex.address == "" and ex.sandboxes == 2

    cfg = ExecutorConfig()
    apply_ray_option(cfg, "10.0.0.1:6379", parallel=None)  # a cluster: every sandbox it declares
    ex = make_executor(_env, _policy, parallel=1, config=cfg)
    assert isinstance(ex, RayExecutor) and (ex.address, ex.sandboxes) == ("10.0.0.1:6379", 0)
    apply_ray_option(cfg, "10.0.0.1:6379", parallel=4)  # ... unless --parallel caps it
    assert make_executor(_env, _policy, parallel=4, config=cfg).sandboxes == 4  # type: ignore[attr-defined]


def _report(**found: object) -> cluster.NodeReport:
    report = cluster.NodeReport(node_id="1a2b3c4d5e6f", ip="10.0.0.7", sandboxes=2, host="gpu-7")
    return cluster.judge_node(
        report,
        {"host": "gpu-7", "version": "0.1.0", "fingerprint": "abc", "missing": [], **found},
        version="0.1.0",
        fingerprint="abc",
    )


def test_nodes_are_judged_against_the_driver() -> None:
    assert _report().ok
    old = _report(version="0.0.9")
    assert not old.ok and "studio 0.0.9 there, 0.1.0 here" in old.problems[0]
    other_code = _report(fingerprint="zzz")
    assert "fingerprint zzz there, abc here" in other_code.problems[0]
    bare = _report(missing=["Xvfb (apt-get install xvfb)"])
    assert bare.problems == ["missing Xvfb (apt-get install xvfb)"]
    message = cluster.refusal_message([bare])
    assert message == "node gpu-7 (10.0.0.7, node 1a2b3c4d) refused: missing Xvfb (apt-get install xvfb)"
    assert cluster.fit_nodes([_report(), bare]) == [_report()]
    with pytest.raises(ClusterError, match=r"gpu-7 \(10.0.0.7, node 1a2b3c4d\) refused: studio 0.0.9"):
        cluster.fit_nodes([old])


def test_the_code_fingerprint_is_stable() -> None:
    assert cluster.code_fingerprint() == cluster.code_fingerprint() and len(cluster.code_fingerprint()) == 16


def test_a_retried_episode_is_recorded_once(tmp_path: Path) -> None:
    """A second start of the same trajectory id (its worker died) replaces the first attempt's row and steps."""
    with Workspace.init(tmp_path / "ws") as ws:
        ws.start_trajectory(Trajectory(id="t1", task_id="a", instruction="x"))
        for i in range(3):
            ws.add_step(Step(trajectory_id="t1", index=i, reason=f"first attempt {i}"))
        ws.start_trajectory(Trajectory(id="t2", task_id="b"))
        ws.add_step(Step(trajectory_id="t2", index=0))

        ws.start_trajectory(Trajectory(id="t1", task_id="a", instruction="x"))  # the retry
        ws.add_step(Step(trajectory_id="t1", index=0, reason="retry 0"))
        ws.finish_trajectory("t1", status="done", outcome="done")

        assert ws.count(Trajectory, id="t1") == 1
        assert [s.reason for s in ws.steps_of("t1")] == ["retry 0"]
        assert ws.get(Trajectory, "t1").n_steps == 1
        assert ws.count(Step, trajectory_id="t2") == 1  # other trajectories are untouched


def test_a_retry_prefers_an_idle_sandbox_on_another_node() -> None:
    from studio.pipeline.rollout.ray_executor import _Slot

    a = cluster.NodeReport(node_id="aaaa", ip="10.0.0.1", sandboxes=1)
    b = cluster.NodeReport(node_id="bbbb", ip="10.0.0.2", sandboxes=1)
    ex = RayExecutor(_env, _policy)
    on_a, on_b = _Slot(actor=None, node=a), _Slot(actor=None, node=b)
    ex._slots = [on_a, on_b]
    assert ex._idle_slot([a, b], 2, avoid="aaaa") is on_b
    assert ex._idle_slot([a, b], 2, avoid="bbbb") is on_a
    on_b.job = object()  # type: ignore[assignment]  # busy: the retry may go back to the node it died on
    assert ex._idle_slot([a, b], 2, avoid="aaaa") is on_a
    assert ex._idle_slot([b], 2, avoid="") is None  # node a left the cluster: its idle actor gets no work


def test_a_cluster_address_that_nobody_answers_fails_at_once() -> None:
    import socket

    assert cluster._host_port("10.0.0.1:6379") == ("10.0.0.1", 6379)
    assert cluster._host_port("ray://head:10001") == ("head", 10001)
    assert cluster._host_port("auto") == ("", None) and cluster._host_port("") == ("", None)
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert not cluster._listening("127.0.0.1", port)
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():  # (a process already in a cluster keeps it: connect() then does nothing)
        with pytest.raises(ClusterError, match=f"nothing answers at 127.0.0.1:{port}"):
            cluster.connect(f"127.0.0.1:{port}")
