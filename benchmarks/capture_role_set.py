"""Record the labelled set bench_roles.py measures the models on: real screens of bundled eval tasks.

For each chosen task of ``assets/eval`` (galculator and mousepad), the task's solution actions run in a real
sandbox (scripted policy, no model) and every step's a11y table, action and the final screen are written to
``benchmarks/data/role_set.json`` together with the task's instruction (the right answer for backward
construction) and the app's documentation sections (for self-instruct). Run once; the benchmark itself then
needs no sandbox::

    python benchmarks/capture_role_set.py
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "data" / "role_set.json"
TASKS = [
    "galculator/galculator-add-decimals",
    "galculator/galculator-big-product",
    "galculator/galculator-subtract-one",
    "galculator/galculator-square-root",
    "mousepad/mousepad-two-line-poem",
    "mousepad/mousepad-python-hello",
]
DOCS = {"galculator": "man:galculator", "mousepad": "man:mousepad"}


def capture(task_rel: str) -> dict:
    from envs.tasks import ASSETS_DIR, load_task, solution_path
    from studio.pipeline.agent.factory import make_env
    from studio.pipeline.agent.policies import ScriptedPolicy
    from studio.pipeline.rollout.episode import RolloutJob, StepEvent, run_episode

    task = load_task(ASSETS_DIR / "eval" / f"{task_rel}.json")
    lines = solution_path(task).read_text(encoding="utf-8").splitlines()  # type: ignore[union-attr]
    app = task_rel.split("/")[0]
    job = RolloutJob(trajectory_id=task.id, task=task, app=app, policy={}, max_steps=len(lines) + 1)
    steps: list[dict] = []

    def emit(ev: object) -> None:
        st = ev.step if isinstance(ev, StepEvent) else None
        if st is not None and st.action_code not in ("", "DONE") and "sleep" not in st.action_code:
            steps.append({"index": st.index, "observation_text": st.observation_text,
                          "action_code": st.action_code, "reason": ""})  # fmt: skip

    env = make_env(job)
    try:
        res = run_episode(env, task, ScriptedPolicy(lines), trajectory_id=task.id, max_steps=job.max_steps,
                          emit=emit, stop=threading.Event(), evaluate=True, app=app)  # fmt: skip
    finally:
        env.close()
    return {"task_id": task.id, "app": app, "instruction": task.instruction, "score": res.score,
            "steps": steps, "final_observation": res.final_observation}  # fmt: skip


def docs(app: str, source: str, n: int = 3) -> list[dict]:
    from studio.pipeline.stages.docs import load_sources

    sections = [s for s in load_sources([source]).sections if len((s.text or "").strip()) >= 200]
    return [{"id": s.id, "title": s.title, "section": s.section, "source": s.source, "text": s.text[:4000]}
            for s in sections[:n]]  # fmt: skip


def main() -> None:
    t0 = time.monotonic()
    out = {"tasks": [], "docs": {}}
    for rel in TASKS:
        rec = capture(rel)
        print(f"{rec['task_id']}: {len(rec['steps'])} steps, score {rec['score']}", flush=True)
        out["tasks"].append(rec)
    for app, source in DOCS.items():
        out["docs"][app] = docs(app, source)
        print(f"{app}: {len(out['docs'][app])} documentation sections", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {OUT} in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
