"""Can an offline actor act? Success per model and action space on simple held-out tasks (no retrieval).

For every model: a workspace whose ``roles.actor`` is the model, then ``studio eval``'s agents
``baseline:elements`` and ``baseline:pyautogui`` (one per action space) on the chosen ``assets/eval`` tasks in
real sandboxes. Prints and writes (``<out>/actor.json``, ``<out>/actor.md``) success, steps, model calls,
tokens and seconds per task, with the load average before and after each pair.

    /work/wt/py-wt benchmarks/bench_actor.py --out /tmp/bench-actor \\
        --models local/qwen2.5-coder-0.5b,local/qwen2.5-coder-1.5b --spaces elements,pyautogui \\
        --tasks galculator-add,galculator-subtract-one,xterm-touch-empty,xterm-make-executable --max-steps 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def variant_toml(model: str) -> str:
    from studio.config import DEFAULT_TOML, parse_config

    text = DEFAULT_TOML.replace(
        '[roles.actor]\nmodel = "local/qwen2.5-coder-1.5b"', f'[roles.actor]\nmodel = "{model}"'
    )
    assert parse_config(text, "bench_actor").roles.actor.model == model
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-actor"))
    ap.add_argument("--models", default="local/qwen2.5-coder-0.5b,local/qwen2.5-coder-1.5b")
    ap.add_argument("--spaces", default="elements,pyautogui")
    ap.add_argument("--tasks", default="galculator-add,galculator-subtract-one,xterm-touch-empty,xterm-make-executable")
    ap.add_argument("--max-steps", type=int, default=5)
    args = ap.parse_args()

    from envs.tasks import load_task
    from studio.pipeline.eval.report import summarize_results
    from studio.pipeline.eval.runner import EVAL_SUITE_DIR, run_suite
    from studio.workspace import Workspace

    tasks = [load_task(EVAL_SUITE_DIR / t.split("-")[0] / f"{t}.json") for t in args.tasks.split(",") if t]
    rows = []
    for model in args.models.split(","):
        ws = args.out / model.split("/")[-1]
        if not (ws / "studio.toml").exists():
            with Workspace.init(ws, exist_ok=True):
                pass
            (ws / "studio.toml").write_text(variant_toml(model), encoding="utf-8")
        for space in args.spaces.split(","):
            agent = f"baseline:{space}"
            l0, t0 = load(), time.perf_counter()

            def show(r, model=model, space=space):  # type: ignore[no-untyped-def]
                print(
                    f"[{time.strftime('%H:%M:%S')}] {model} {space:<9} {r.task_id:<24} score {r.score:g} "
                    f"{r.status:<9} steps {r.steps} calls {r.model_calls} tok {r.prompt_tokens}+"
                    f"{r.completion_tokens} {r.elapsed_s:.0f} s load {load()} {r.error[:60]}",
                    flush=True,
                )

            run = run_suite(
                tasks, [agent], ws / f"eval-{space}", workspace=ws, max_steps=args.max_steps, on_result=show
            )
            s = summarize_results(run.results)[agent]
            rows.append(
                {
                    "model": model,
                    "space": space,
                    "solved": s.solved,
                    "tasks": s.tasks,
                    "steps": round(s.mean_steps, 2),
                    "calls": round(s.calls_per_task, 2),
                    "prompt_tok": round(s.prompt_tokens_per_task),
                    "completion_tok": round(s.completion_tokens_per_task),
                    "s_per_task": round(s.seconds_per_task, 1),
                    "wall_s": round(time.perf_counter() - t0, 1),
                    "load_before": l0,
                    "load_after": load(),
                    "per_task": {r.task_id: [r.score, r.status, r.steps] for r in run.results},
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    (args.out / "actor.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    lines = [
        "| model | action space | solved | steps/task | calls/task | prompt tok/task | completion tok/task "
        "| s/task | load before -> after |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['model']} | {r['space']} | {r['solved']}/{r['tasks']} | {r['steps']} | {r['calls']} | "
        f"{r['prompt_tok']} | {r['completion_tok']} | {r['s_per_task']} | {r['load_before']} -> "
        f"{r['load_after']} |"
        for r in rows
    ]
    (args.out / "actor.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
