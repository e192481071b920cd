"""Rollouts through Ray vs the built-in executor, on the same machine, in the same run.

For K = 1, 2, 4 sandboxes at once: explorer steps/s through :class:`RayExecutor` (a one-node Ray on 127.0.0.1
declaring 4 sandboxes, started once) and through the built-in executor (K = 1 in-process, K > 1 worker
processes), both writing a real workspace via ``stage_rollouts``; the two alternate, so machine load hits both.
Also the driver's CPU per step (everything the studio process does per step: Ray's streaming, the workspace
writer's WebP + LanceDB commit), the same with a writer that drops events (Ray's own share), and the stop
latency (stop request -> every episode reported stopped).

    .venv/bin/python benchmarks/bench_ray.py [--ks 1,2,4] [--tasks 4] [--steps 8] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the Ray started here listens on 127.0.0.1


def rollouts(kind: str, k: int, n_tasks: int, steps: int) -> dict[str, float]:
    """One stage_rollouts run of ``n_tasks`` explorer episodes on galculator; wall, steps, driver CPU."""
    from studio.config import default_config
    from studio.pipeline.run import RunContext, stage_rollouts
    from studio.workspace import Step, Task, Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        try:
            ws.add_tasks([Task(instruction=f"explore galculator {i}", app="galculator") for i in range(n_tasks)])
            cfg = default_config()
            cfg.sandbox.apps = ["galculator"]
            cfg.pipeline.policy = "explorer"
            cfg.pipeline.max_steps = steps
            cfg.pipeline.parallel = k
            cfg.executor.kind = kind  # type: ignore[assignment]
            cfg.executor.sandboxes = k if kind == "ray" else 0
            cpu0, t0 = time.process_time(), time.perf_counter()
            summary = stage_rollouts(RunContext(ws=ws, cfg=cfg, client=None))
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            n_steps = ws.count(Step)
        finally:
            ws.close()
    assert summary.failed == 0, summary.notes
    return {"wall": wall, "steps": n_steps, "cpu": cpu}


def ray_only_driver_cost(k: int, n_tasks: int, steps: int) -> dict[str, float]:
    """Driver CPU per step of RayExecutor alone: events are received and dropped (no workspace writer)."""
    from envs.tasks import parse_task
    from studio.pipeline.agent.factory import make_env, make_policy
    from studio.pipeline.rollout.episode import RolloutJob, StepEvent
    from studio.pipeline.rollout.ray_executor import RayExecutor

    task = parse_task(
        {
            "id": "explore",
            "instruction": "Explore.",
            "related_apps": ["galculator"],
            "config": [],
            "evaluator": {"func": "infeasible"},
        },
        source="bench",
    )
    jobs = [RolloutJob(f"t{i}", task, "galculator", {"kind": "explorer", "seed": i}, steps) for i in range(n_tasks)]
    n = [0]

    def count(event: Any) -> None:
        n[0] += isinstance(event, StepEvent)

    cpu0, t0 = time.process_time(), time.perf_counter()
    RayExecutor(make_env, make_policy, sandboxes=k).run(jobs, count)
    return {"wall": time.perf_counter() - t0, "steps": n[0], "cpu": time.process_time() - cpu0}


def stop_latency(k: int) -> float:
    """Seconds from a stop request (while k episodes act) until every episode reported ``stopped``."""
    from envs.tasks import parse_task
    from studio.pipeline.agent.factory import make_env, make_policy
    from studio.pipeline.rollout.episode import EpisodeResult, RolloutJob, StepEvent
    from studio.pipeline.rollout.ray_executor import RayExecutor

    task = parse_task(
        {
            "id": "explore",
            "instruction": "Explore.",
            "related_apps": ["galculator"],
            "config": [],
            "evaluator": {"func": "infeasible"},
        },
        source="bench",
    )
    jobs = [RolloutJob(f"t{i}", task, "galculator", {"kind": "explorer", "seed": i}, 200) for i in range(k)]
    stop = threading.Event()
    started: set[str] = set()
    t_stop: list[float] = []
    t_last: list[float] = []

    def on_event(event: Any) -> None:
        if isinstance(event, StepEvent):
            started.add(event.trajectory_id)
            if len(started) == k and not stop.is_set():
                t_stop.append(time.perf_counter())
                stop.set()
        elif isinstance(event, EpisodeResult):
            t_last.append(time.perf_counter())

    RayExecutor(make_env, make_policy, sandboxes=k).run(jobs, on_event, stop)
    return max(t_last) - t_stop[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ks", default="1,2,4")
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    ks = [int(x) for x in args.ks.split(",")]

    from studio.pipeline.rollout import cluster

    t0 = time.perf_counter()
    cluster.connect("", sandboxes=max(ks))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}; Ray started on 127.0.0.1 in {time.perf_counter() - t0:.1f} s"
    )
    print(f"{args.tasks} tasks x {args.steps} steps, explorer on galculator, {args.repeats} repeat(s)\n")
    print(
        "| K | built-in steps/s | Ray steps/s | overhead (built-in / Ray) | driver CPU/step built-in | "
        "driver CPU/step Ray | Ray alone (no writer) CPU/step |"
    )
    print("|---|---|---|---|---|---|---|")
    for k in ks:
        local_runs, ray_runs = [], []
        for r in range(args.repeats):
            order = ("local", "ray") if r % 2 == 0 else ("ray", "local")
            for kind in order:
                (local_runs if kind == "local" else ray_runs).append(rollouts(kind, k, args.tasks, args.steps))
        bare = ray_only_driver_cost(k, args.tasks, args.steps)

        def rate(runs: list[dict[str, float]]) -> float:
            return statistics.median(x["steps"] / x["wall"] for x in runs)

        def cpu(runs: list[dict[str, float]]) -> float:
            return statistics.median(x["cpu"] / max(1, x["steps"]) for x in runs) * 1000

        lr, rr = rate(local_runs), rate(ray_runs)
        print(
            f"| {k} | {lr:.2f} | {rr:.2f} | {lr / rr:.2f} | {cpu(local_runs):.0f} ms | {cpu(ray_runs):.0f} ms | "
            f"{bare['cpu'] / max(1, bare['steps']) * 1000:.1f} ms |",
            flush=True,
        )
    for k in ks:
        print(f"stop latency, {k} sandboxes acting: {stop_latency(k):.2f} s (stop request -> all reported)")
    cluster.disconnect()


if __name__ == "__main__":
    main()
