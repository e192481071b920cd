"""Verified tasks with the offline writer model: how many written tasks validate, how many are proven, how many
scored rollouts succeed, per app; model calls and sandbox seconds per verified task.

Run: ``.venv/bin/python benchmarks/bench_verified.py [--apps xterm,mousepad] [--sections 2] [--per-section 2]
[--gguf PATH] [--rollouts explorer|solution|none]``. The writer is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) run
in-process by llama-cpp-python with the writer's JSON schema as a grammar (the same translation the local
provider makes). Prints one line per app and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_GGUF = Path.home() / ".cache/studio/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


class LlamaWriter:
    """A StructuredModel over llama_cpp directly: the reply schema becomes a grammar; calls and tokens counted."""

    def __init__(self, gguf: Path, max_tokens: int) -> None:
        import llama_cpp

        from studio.llm.local_provider import default_threads

        self.llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=8192, n_threads=default_threads(), verbose=False)
        self.max_tokens = max_tokens
        self.calls = 0
        self.seconds = 0.0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def __call__(self, messages: list[dict], schema: type) -> Any:
        from studio.llm.structured import StructuredResult, parse_structured, schema_instruction

        # the same system line the pipeline's ModelClient sends (the schema, for models without a grammar)
        messages = [{"role": "system", "content": schema_instruction(schema)}, *messages]
        t0 = time.perf_counter()
        out = self.llm.create_chat_completion(
            messages=messages,
            response_format={"type": "json_object", "schema": schema.model_json_schema()},
            max_tokens=self.max_tokens,
            temperature=0.2,
            seed=0,
        )
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        usage = out.get("usage") or {}
        self.prompt_tokens += int(usage.get("prompt_tokens", 0))
        self.completion_tokens += int(usage.get("completion_tokens", 0))
        text = out["choices"][0]["message"]["content"] or ""
        value, error = parse_structured(schema, text)
        return StructuredResult(value is not None, value, text, error)


def sections_for(app: str, limit: int) -> list[Any]:
    from envs.apps import load_profile
    from studio.pipeline.run import MIN_TASK_SECTION_CHARS
    from studio.pipeline.stages.docs import find_app_docs, load_sources

    sources = find_app_docs(load_profile(app).docs, notes=[])
    result = load_sources(list(sources), skip_errors=True, max_sections=200)
    return [s for s in result.sections if len(s.text.strip()) >= MIN_TASK_SECTION_CHARS][:limit]


def rollout(ws: Any, cfg: Any, kind: str) -> None:
    """Scored rollouts of the proven and verified tasks: the model-free explorer, or the written solution."""
    from studio.pipeline import run as run_mod
    from studio.pipeline.agent.policies import ScriptedPolicy
    from studio.pipeline.run import RunContext, stage_rollouts
    from studio.workspace import Task

    cfg.verify.rollout = ["proven", "verified"]
    cfg.pipeline.policy = "explorer"
    ids = [t.id for t in ws.list(Task, limit=None) if t.check_status in ("proven", "verified")]
    if kind == "solution":  # the writer's own solution, replayed by the rollout loop (one task at a time)
        for t in ws.list(Task, limit=None):
            if t.id in ids:
                lines = list(t.check.get("solution") or [])
                real = run_mod.make_policy
                run_mod.make_policy = lambda spec, lines=lines: ScriptedPolicy(lines)  # type: ignore[misc]
                try:
                    stage_rollouts(RunContext(ws=ws, cfg=cfg, client=None), task_ids=[t.id])
                finally:
                    run_mod.make_policy = real
        return
    stage_rollouts(RunContext(ws=ws, cfg=cfg, client=None), task_ids=ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--apps", default="xterm,mousepad,galculator,gnumeric")
    ap.add_argument("--sections", type=int, default=2, help="documentation sections per app")
    ap.add_argument("--per-section", type=int, default=2, help="tasks asked per section")
    ap.add_argument("--gguf", type=Path, default=DEFAULT_GGUF)
    ap.add_argument("--rollouts", choices=("explorer", "solution", "none"), default="explorer")
    ap.add_argument("--max-steps", type=int, default=6)
    ap.add_argument("--out", type=Path, default=None, help="keep the workspace here")
    args = ap.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    from studio.config import default_config
    from studio.pipeline.run import RunContext, stage_verify
    from studio.pipeline.stages.checked_tasks import write_checked_tasks
    from studio.workspace import Task, Trajectory, Workspace

    writer = LlamaWriter(args.gguf, max_tokens=360 * args.per_section)
    path = args.out or Path(tempfile.mkdtemp(prefix="bench-verified-")) / "ws"
    ws = Workspace.init(path)
    cfg = default_config()
    cfg.pipeline.max_steps = args.max_steps
    summary: dict[str, Any] = {"model": args.gguf.name, "apps": {}}
    for app in args.apps.split(","):
        calls0, secs0 = writer.calls, writer.seconds
        result = write_checked_tasks(sections_for(app, args.sections), writer, app=app, n=args.per_section)
        ws.add_tasks(
            [
                Task(
                    id=c.id,
                    instruction=c.instruction,
                    app=app,
                    document_id=c.doc_id,
                    section=c.section,
                    check=c.check,
                    check_status="unverified" if c.problem else "pending",
                    check_reason=c.problem or "not validated yet",
                )
                for c in result.tasks
            ]
        )
        t0 = time.perf_counter()
        stage_verify(RunContext(ws=ws, cfg=cfg, client=None))
        verify_s = time.perf_counter() - t0
        tasks = ws.list(Task, limit=None, app=app)
        if args.rollouts != "none":
            rollout(ws, cfg, args.rollouts)
        trajs = [t for t in ws.list(Trajectory, limit=None) if t.app == app and t.score is not None]
        statuses = [t.check_status for t in tasks]
        reasons: dict[str, int] = {}
        for t in tasks:
            if t.check_status == "unverified":
                key = t.check_reason.split(":")[0]
                reasons[key] = reasons.get(key, 0) + 1
        sandbox_s = sum(float(t.check_info.get("sandbox_s") or 0.0) for t in tasks)
        good = statuses.count("proven") + statuses.count("verified")
        row = {
            "written": len(tasks),
            "failures": len(result.failures),
            "dropped": len(result.dropped),
            "static_ok": sum(1 for c in result.tasks if not c.problem),
            "verified_or_proven": good,
            "proven": statuses.count("proven"),
            "unverified_reasons": reasons,
            "rollouts_scored": len(trajs),
            "rollouts_passed": sum(1 for t in trajs if t.score == 1.0),
            "model_calls": writer.calls - calls0,
            "model_s": round(writer.seconds - secs0, 1),
            "sandbox_s": round(sandbox_s, 1),
            "verify_wall_s": round(verify_s, 1),
        }
        summary["apps"][app] = row
        print(
            f"{app:<11} written {row['written']:>2}  static-ok {row['static_ok']:>2}  validated {good:>2}  "
            f"proven {row['proven']:>2}  rollouts passed {row['rollouts_passed']}/{row['rollouts_scored']}  "
            f"calls {row['model_calls']}  model {row['model_s']} s  sandbox {row['sandbox_s']} s  {reasons}",
            flush=True,
        )
    summary["tokens"] = {"prompt": writer.prompt_tokens, "completion": writer.completion_tokens}
    ws.close()
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
