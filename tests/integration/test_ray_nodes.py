"""A real two-node Ray cluster on loopback: the node that misses the system packages is refused by name.

Both nodes run on this machine (``ray.cluster_utils.Cluster`` starts a real raylet per node); the second one's
processes get a PATH without the sandbox's binaries, so its probe finds none of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from envs.tasks import REPO_ROOT
from studio.pipeline.agent.factory import make_env, make_policy
from studio.pipeline.rollout import cluster
from studio.pipeline.rollout.episode import EpisodeStart, RolloutJob, StepEvent
from studio.pipeline.rollout.ray_executor import RayExecutor

assert os.environ.get(cluster.LOOPBACK_ENV) == "0", "tests/conftest.py keeps the test's Ray on 127.0.0.1"
ray = pytest.importorskip("ray")

pytestmark = pytest.mark.integration
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def node_noting_policy(spec: dict[str, Any]) -> Any:
    """The explorer policy; first notes which node built it."""
    Path(spec["out"], spec["tid"]).write_text(ray.get_runtime_context().get_node_id())
    return make_policy(spec)


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from ray.cluster_utils import Cluster

    empty = tmp_path_factory.mktemp("no-binaries")
    c = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "resources": {"sandbox": 1},
            "include_dashboard": False,
            "object_store_memory": 100 * 1024 * 1024,
        },
    )
    bare = c.add_node(
        num_cpus=1, resources={"sandbox": 1}, object_store_memory=100 * 1024 * 1024, env_vars={"PATH": str(empty)}
    )
    c.wait_for_nodes()
    ray.init(address=c.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield c, bare.node_id
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.mark.timeout(600)
def test_the_node_without_system_packages_is_refused_and_gets_no_work(two_nodes: Any, tmp_path: Path) -> None:
    from envs.tasks import parse_task

    c, bare_id = two_nodes
    reports = {n.node_id: n for n in cluster.check_nodes()}
    assert len(reports) == 2
    bare = reports[bare_id]
    assert not bare.ok and any("Xvfb (apt-get install xvfb)" in p for p in bare.problems), bare.problems
    (fit,) = [n for n in reports.values() if n.node_id != bare_id]
    assert fit.ok, fit.problems
    assert bare.node_id[:8] in cluster.refusal_message([bare]) and bare.ip in cluster.refusal_message([bare])

    task = parse_task(
        {
            "id": "explore",
            "instruction": "Explore.",
            "related_apps": ["galculator"],
            "config": [],
            "evaluator": {"func": "infeasible"},
        },
        source="test",
    )
    jobs = [
        RolloutJob(
            f"t{i}",
            task,
            "galculator",
            {"kind": "explorer", "seed": i, "out": str(tmp_path), "tid": f"t{i}"},
            2,
            800,
            600,
        )
        for i in range(2)
    ]
    executor = RayExecutor(make_env, node_noting_policy)
    results = executor.run(jobs, lambda e: None)
    assert len(results) == 2 and all(r.status != "error" for r in results), results
    assert {(tmp_path / f"t{i}").read_text() for i in range(2)} == {fit.node_id}
    assert any(bare.node_id[:8] in note and "refused" in note for note in executor.notes), executor.notes


@pytest.mark.timeout(300)
def test_doctor_checks_a_cluster_and_names_the_refused_node(two_nodes: Any) -> None:
    c, bare_id = two_nodes
    proc = subprocess.run(
        [sys.executable, "-m", "studio.cli", "doctor", "--ray", c.address],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ, COLUMNS="250"),
    )
    out = proc.stdout + proc.stderr
    assert f"node {bare_id[:8]}" in out, out[-3000:]
    assert "missing Xvfb" in out, out[-3000:]
    assert proc.returncode == 1


@pytest.mark.timeout(600)
def test_an_episode_whose_node_dies_is_retried_on_another_node(two_nodes: Any, tmp_path: Path) -> None:
    from envs.tasks import parse_task

    c, _bare_id = two_nodes
    doomed = c.add_node(num_cpus=1, resources={"sandbox": 2}, object_store_memory=100 * 1024 * 1024)
    c.wait_for_nodes()
    task = parse_task({"id": "explore", "instruction": "Explore.", "related_apps": ["galculator"], "config": [],
                       "evaluator": {"func": "infeasible"}}, source="test")  # fmt: skip
    spec = {"kind": "explorer", "seed": 1, "out": str(tmp_path), "tid": "t-doomed"}
    job = RolloutJob("t-doomed", task, "galculator", spec, 30, 800, 600)
    events: list[Any] = []
    removed: list[str] = []

    def on_event(event: Any) -> None:
        events.append(event)
        if isinstance(event, StepEvent) and event.step.index == 1 and not removed:
            removed.append((tmp_path / "t-doomed").read_text())
            c.remove_node(doomed, allow_graceful=False)  # the node dies mid-episode (raylet and workers killed)

    executor = RayExecutor(make_env, node_noting_policy, max_retries=1)
    (result,) = executor.run([job], on_event)
    assert removed == [doomed.node_id], "the episode did not start on the node with the most free sandboxes"
    assert result.status != "error", result
    assert (tmp_path / "t-doomed").read_text() != doomed.node_id  # the retry ran elsewhere (the head)
    assert [e.attempt for e in events if isinstance(e, EpisodeStart)] == [0, 1]
    assert executor.retries == 1, executor.notes
