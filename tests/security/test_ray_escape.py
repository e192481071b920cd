"""A sandbox run by a Ray actor cannot reach the Ray cluster it runs on.

Ray's GCS and raylet accept work (code to run) from whoever connects; they listen on the node (here on
127.0.0.1). The hostile model drives apps inside the sandbox, whose network namespace has no route to the
host's loopback, so from inside the sandbox every Ray port must be shut while from the host it is open.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from envs.tasks import parse_task
from studio.pipeline.agent.factory import make_env, make_policy
from studio.pipeline.eval.runner import AgentRequest, agent_spec
from studio.pipeline.rollout import cluster
from studio.pipeline.rollout.episode import RolloutJob
from studio.pipeline.rollout.ray_executor import RayExecutor

pytestmark = pytest.mark.integration
ray = pytest.importorskip("ray")

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None:  # pragma: no cover - setup problem
    pytest.skip("needs Xvfb and nsenter (util-linux) (run `make test` to install them)", allow_module_level=True)


def _probe(ports: list[int]) -> str:
    return " ".join(
        f'(exec 3<>/dev/tcp/127.0.0.1/{p}) 2>/dev/null && echo "OPEN:{p}" || echo "shut:{p}";' for p in ports
    )


@pytest.mark.timeout(600)
def test_a_sandbox_on_a_ray_actor_cannot_reach_the_ray_ports() -> None:
    started = cluster.connect("", sandboxes=1)
    try:
        node = ray.nodes()[0]
        gcs_port = int(ray.get_runtime_context().gcs_address.rsplit(":", 1)[1])
        ports = [gcs_port, int(node["NodeManagerPort"]), int(node["ObjectManagerPort"])]
        host = subprocess.run(["bash", "-c", _probe(ports)], capture_output=True, text=True, timeout=30).stdout
        assert f"OPEN:{gcs_port}" in host, host  # the probe does see an open port where there is one

        task = parse_task(
            {
                "id": "reach-ray",
                "instruction": "nothing",
                "config": [],
                "evaluator": {
                    "func": "check_include_exclude",
                    "result": {"type": "vm_command_line", "command": _probe(ports), "shell": True},
                    "expected": {"type": "rule", "rules": {"include": [f"shut:{p}" for p in ports],
                                                           "exclude": ["OPEN"]}},
                },
            },
            source="test",
        )  # fmt: skip
        req = AgentRequest(agent="noop", mode="", task_id="reach-ray", task_path=None, workspace=None, max_steps=1)
        job = RolloutJob("escape", task, "", agent_spec(req), 1, 640, 480, evaluate=True)
        events: list[Any] = []
        (result,) = RayExecutor(make_env, make_policy, sandboxes=1).run([job], events.append)
        assert result.status == "done" and result.error == "", result
        assert result.score == 1.0, "a Ray port is reachable from inside the sandbox"
    finally:
        if started:
            cluster.disconnect()
