"""Pipeline measurements.

1. Rollout steps/s with the model-free explorer policy for K = 1, 2, 4 sandboxes at once (real sandboxes, real
   galculator, real workspace writes): this is our own overhead per step (observe, act, settle, record), which
   should be a small share of a step when a model decides.
2. ``--demo``: wall time per stage of the demo configuration (`studio demo`) with the offline model.

    .venv/bin/python benchmarks/bench_pipeline.py [--ks 1,2,4] [--tasks 4] [--steps 10] [--demo]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bench_explorer(k: int, n_tasks: int, steps: int) -> dict[str, float]:
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
            t0 = time.perf_counter()
            summary = stage_rollouts(RunContext(ws=ws, cfg=cfg, client=None))
            wall = time.perf_counter() - t0
            n_steps = ws.count(Step)
            step_rows = ws.list(Step, limit=None)
        finally:
            ws.close()
    settle = [s.timings.get("settle", 0.0) for s in step_rows if s.timings]
    total = [s.timings.get("step_total", 0.0) for s in step_rows if s.timings]
    return {
        "k": k,
        "episodes": summary.done,
        "steps": n_steps,
        "wall_s": round(wall, 1),
        "steps_per_s": round(n_steps / wall, 2),
        "mean_step_s": round(sum(total) / max(1, len(total)), 3),
        "mean_settle_s": round(sum(settle) / max(1, len(settle)), 3),
    }


def bench_demo() -> list[tuple[str, float, int]]:
    from studio.config import load_config
    from studio.llm import ModelClient
    from studio.pipeline.demo import prepare_demo_workspace
    from studio.pipeline.run import STAGE_FUNCS, STAGES, RunContext
    from studio.workspace import Workspace

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = prepare_demo_workspace(Path(tmp) / "demo")
        with Workspace.open(path) as ws:
            cfg = load_config(path / "studio.toml")
            ctx = RunContext(ws=ws, cfg=cfg, client=ModelClient.for_workspace(path))
            for stage in STAGES:
                t0 = time.perf_counter()
                s = STAGE_FUNCS[stage](ctx)
                out.append((stage, round(time.perf_counter() - t0, 1), s.done))
                print(f"  {stage:<10} {out[-1][1]:>7.1f} s  {s.done} new  {'; '.join(s.notes[:2])[:80]}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ks", default="1,2,4")
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--demo", action="store_true", help="also time every stage of the demo configuration")
    args = ap.parse_args()
    print(f"# {platform.node()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d')}")
    print("| K | episodes | steps | wall s | steps/s | mean step s (act+settle+observe) | mean settle s |")
    print("|---|---|---|---|---|---|---|")
    for k in (int(x) for x in args.ks.split(",")):
        r = bench_explorer(k, args.tasks, args.steps)
        print(
            f"| {r['k']} | {r['episodes']} | {r['steps']} | {r['wall_s']} | {r['steps_per_s']} | "
            f"{r['mean_step_s']} | {r['mean_settle_s']} |",
            flush=True,
        )
    if args.demo:
        print("demo configuration, per stage:")
        bench_demo()


if __name__ == "__main__":
    main()
