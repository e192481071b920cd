"""Verified tasks with the offline writer model: how many written tasks validate, how many are proven, how many
scored rollouts succeed, per app; model calls and sandbox seconds per verified task; the old prompt against the
new one.

Run: ``.venv/bin/python benchmarks/bench_verified.py [--apps xterm,mousepad] [--sections 1] [--per-section 2]
[--prompts old,new] [--gguf PATH] [--rollouts explorer|none] [--cache DIR]``. The writer is
Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) run in-process by llama-cpp-python with the writer's JSON schema as a
grammar (the same translation the local provider makes). ``old`` is ``self_instruct_checked.v1`` with the
generic example; ``new`` is the current prompt with the app's built-in examples and tips. Validation is the
current code (static checks incl. the sense checks, then a real sandbox) for both. Proven tasks also get a
replay of their written solution (``[verify] replay_solutions``), the other validated tasks an explorer rollout.

``--cache DIR`` keeps every writer reply (with its original time and the load average it ran under), so a
re-run measures validation again without model calls and still reports the original model seconds.
Prints one line per app and prompt, and a JSON summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_GGUF = Path.home() / ".cache/studio/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PROMPTS = {"old": ("self_instruct_checked.v1", False), "new": ("self_instruct_checked.v2", True)}


class LlamaWriter:
    """A StructuredModel over llama_cpp directly: the reply schema becomes a grammar; calls and tokens counted.
    Replies are kept in ``cache`` (a directory) when given; a cached reply costs no call but counts its seconds."""

    def __init__(self, gguf: Path, max_tokens: int, cache: Path | None = None) -> None:
        self.gguf = gguf
        self.llm: Any = None
        self.max_tokens = max_tokens
        self.cache = cache
        self.calls = 0
        self.cached = 0
        self.seconds = 0.0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.loads: list[float] = []

    def _generate(self, messages: list[dict], schema: type) -> dict[str, Any]:
        if self.llm is None:
            import llama_cpp

            from studio.llm.local_provider import default_threads

            self.llm = llama_cpp.Llama(
                model_path=str(self.gguf), n_ctx=8192, n_threads=default_threads(), verbose=False
            )
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        out = self.llm.create_chat_completion(
            messages=messages,
            response_format={"type": "json_object", "schema": schema.model_json_schema()},
            max_tokens=self.max_tokens,
            temperature=0.2,
            seed=0,
        )
        usage = out.get("usage") or {}
        return {
            "text": out["choices"][0]["message"]["content"] or "",
            "seconds": round(time.perf_counter() - t0, 1),
            "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
            "load": [round(load, 1), round(os.getloadavg()[0], 1)],
        }

    def __call__(self, messages: list[dict], schema: type) -> Any:
        from studio.llm.structured import StructuredResult, parse_structured, schema_instruction

        # the same system line the pipeline's ModelClient sends (the schema, for models without a grammar)
        messages = [{"role": "system", "content": schema_instruction(schema)}, *messages]
        key = hashlib.sha256(
            json.dumps([self.gguf.name, self.max_tokens, messages, schema.model_json_schema()]).encode()
        ).hexdigest()[:24]
        hit = self.cache / f"{key}.json" if self.cache else None
        if hit is not None and hit.exists():
            reply = json.loads(hit.read_text())
            self.cached += 1
        else:
            reply = self._generate(messages, schema)
            if hit is not None:
                hit.parent.mkdir(parents=True, exist_ok=True)
                hit.write_text(json.dumps(reply))
        self.calls += 1
        self.seconds += reply["seconds"]
        self.prompt_tokens += reply["prompt_tokens"]
        self.completion_tokens += reply["completion_tokens"]
        self.loads.extend(reply["load"])
        value, error = parse_structured(schema, reply["text"])
        return StructuredResult(value is not None, value, reply["text"], error)


def sections_for(app: str, limit: int) -> list[Any]:
    from envs.apps import load_profile
    from studio.pipeline.run import MIN_TASK_SECTION_CHARS
    from studio.pipeline.stages.docs import find_app_docs, load_sources

    sources = find_app_docs(load_profile(app).docs, notes=[])
    result = load_sources(list(sources), skip_errors=True, max_sections=200)
    return [s for s in result.sections if len(s.text.strip()) >= MIN_TASK_SECTION_CHARS][:limit]


def rollout(ws: Any, cfg: Any, kind: str, app: str) -> None:
    """Scored rollouts of the validated tasks of ``app``: proven ones replay their written solution
    (``[verify] replay_solutions``), proven and verified ones get an explorer rollout."""
    from studio.pipeline.run import RunContext, stage_rollouts
    from studio.workspace import Task

    if kind == "none":
        return
    cfg.verify.rollout = ["proven", "verified"]
    cfg.verify.replay_solutions = ["proven"]
    cfg.pipeline.policy = "explorer"
    ids = [t.id for t in ws.list(Task, limit=None, app=app) if t.check_status in ("proven", "verified")]
    if ids:
        stage_rollouts(RunContext(ws=ws, cfg=cfg, client=None), task_ids=ids)


def run_variant(name: str, args: argparse.Namespace, writer: LlamaWriter, root: Path) -> dict[str, Any]:
    """Write, validate and roll out tasks of every app with one prompt variant (its own workspace)."""
    from studio.config import default_config
    from studio.pipeline.run import RunContext, stage_verify
    from studio.pipeline.stages.checked_tasks import write_checked_tasks
    from studio.pipeline.stages.task_check import REPLAY_POLICY
    from studio.workspace import Task, Trajectory, Workspace

    prompt, builtin = PROMPTS[name]
    ws = Workspace.init(root / name)
    cfg = default_config()
    cfg.pipeline.max_steps = args.max_steps
    out: dict[str, Any] = {}
    for app in args.apps.split(","):
        calls0, secs0, load0 = writer.calls, writer.seconds, os.getloadavg()[0]
        result = write_checked_tasks(
            sections_for(app, args.sections),
            writer,
            app=app,
            n=args.per_section,
            prompt=prompt,
            builtin_examples=builtin,
        )
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
        rollout(ws, cfg, args.rollouts, app)
        tasks = ws.list(Task, limit=None, app=app)
        trajs = [t for t in ws.list(Trajectory, limit=None) if t.app == app and t.score is not None]
        replays = [t for t in trajs if t.policy == REPLAY_POLICY]
        explored = [t for t in trajs if t.policy != REPLAY_POLICY]
        statuses = [t.check_status for t in tasks]
        reasons: dict[str, int] = {}
        for t in tasks:
            if t.check_status != "proven":
                key = t.check_status + ": " + (t.check_reason.split(":")[0] or "-")
                reasons[key] = reasons.get(key, 0) + 1
        row = {
            "written": len(tasks),
            "failures": len(result.failures),
            "dropped": len(result.dropped),
            "static_ok": sum(1 for c in result.tasks if not c.problem),
            "validated": statuses.count("proven") + statuses.count("verified"),
            "proven": statuses.count("proven"),
            "reasons": reasons,
            "explorer_passed": f"{sum(1 for t in explored if t.score == 1.0)}/{len(explored)}",
            "replays_passed": f"{sum(1 for t in replays if t.score == 1.0)}/{len(replays)}",
            "model_calls": writer.calls - calls0,
            "model_s": round(writer.seconds - secs0, 1),
            "sandbox_s": round(sum(float(t.check_info.get("sandbox_s") or 0.0) for t in tasks), 1),
            "verify_wall_s": round(verify_s, 1),
            "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
            "instructions": [f"{t.check_status}: {t.instruction} [{t.check_reason[:90]}]" for t in tasks],
        }
        out[app] = row
        print(
            f"{name:<4} {app:<11} written {row['written']:>2}  static-ok {row['static_ok']:>2}  "
            f"validated {row['validated']:>2}  proven {row['proven']:>2}  explorer {row['explorer_passed']}  "
            f"replays {row['replays_passed']}  calls {row['model_calls']}  model {row['model_s']} s  "
            f"sandbox {row['sandbox_s']} s  load {row['load']}  {reasons}",
            flush=True,
        )
    ws.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--apps", default="xterm,mousepad,galculator,gnumeric")
    ap.add_argument("--sections", type=int, default=1, help="documentation sections per app")
    ap.add_argument("--per-section", type=int, default=2, help="tasks asked per section")
    ap.add_argument("--prompts", default="old,new", help="comma-separated: old, new")
    ap.add_argument("--gguf", type=Path, default=DEFAULT_GGUF)
    ap.add_argument("--rollouts", choices=("explorer", "none"), default="explorer")
    ap.add_argument("--max-steps", type=int, default=4)
    ap.add_argument("--cache", type=Path, default=None, help="keep writer replies here (re-runs reuse them)")
    ap.add_argument("--out", type=Path, default=None, help="keep the workspaces here")
    args = ap.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    writer = LlamaWriter(args.gguf, max_tokens=360 * args.per_section, cache=args.cache)
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-verified-"))
    summary: dict[str, Any] = {"model": args.gguf.name, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for name in args.prompts.split(","):
        summary[name] = run_variant(name, args, writer, root)
    summary["tokens"] = {"prompt": writer.prompt_tokens, "completion": writer.completion_tokens}
    summary["calls"] = {"made": writer.calls - writer.cached, "from_cache": writer.cached}
    summary["writer_load"] = [min(writer.loads, default=0), max(writer.loads, default=0)]
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
