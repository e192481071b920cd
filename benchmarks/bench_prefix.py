"""Prompt-prefix reuse in the local provider: the old prompt layout against the new one, in one run.

The committee asks a judge about several instructions written for the same span (the instruction and the
"Replicate" summary, and spans sharing their first steps), so consecutive judge prompts share the trajectory.
llama.cpp skips the tokens a prompt shares with what it evaluated last, and a ``LlamaRAMCache`` restores the
state of an older prompt with a longer shared prefix. Both help only when the shared text comes first.

Scenarios (same model, same three judge prompts per recorded trajectory, real JSON grammar):

* ``old layout``: ``judge.v2`` (instruction before the trajectory) with the JSON-schema instruction in a system
  message first (how the client sent it before), no state cache.
* ``new layout``: ``judge.v3`` (trajectory first) with the schema instruction appended at the end.
* ``new layout, other role between``: a backward-writer call on another trajectory runs between judge calls
  (roles share one loaded model), without and with the RAM state cache.

* ``--scorer``: the forced-choice judge's scorer instead (``studio.llm.yes_no.LocalScorer``): every candidate of
  labelled judge-set items scored one at a time, as the committee asks, each with and without the trajectory,
  without and with the model's prompt-state cache; prints both timings, the tokens evaluated and whether the
  scores are identical.

    python benchmarks/bench_prefix.py [--model local/qwen2.5-coder-1.5b] [--tasks 1]
    python benchmarks/bench_prefix.py --scorer --model local/smollm2 [--items galculator-add,mousepad-append-line]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "data" / "role_set.json"


def _judge_messages(layout: str, app: str, instruction: str, trajectory: str) -> list[dict]:
    from studio.llm.structured import schema_instruction
    from studio.pipeline.prompts import render_prompt
    from studio.pipeline.stages.committee import JudgeReply

    if layout == "old":
        msgs, _ = render_prompt("judge.v2", app=app, instruction=instruction, trajectory=trajectory)
        return [{"role": "system", "content": schema_instruction(JudgeReply)}, *msgs]
    msgs, _ = render_prompt("judge.v3", app=app, instruction=instruction, trajectory=trajectory)
    return [{"role": "user", "content": msgs[0]["content"] + "\n\n" + schema_instruction(JudgeReply)}]


def _backward_messages(app: str, trajectory: str) -> list[dict]:
    from studio.llm.structured import schema_instruction
    from studio.pipeline.prompts import render_prompt
    from studio.pipeline.stages.backward import INSTRUCTION_PROMPT, InstructionReply

    msgs, _ = render_prompt(INSTRUCTION_PROMPT, app=app, trajectory=trajectory)
    return [{"role": "user", "content": msgs[0]["content"] + "\n\n" + schema_instruction(InstructionReply)}]


MAX_TOKENS = 96


def _call(llm: Any, messages: list[dict], schema: Any) -> tuple[float, int]:
    from studio.llm.local_provider import translate_response_format
    from studio.llm.structured import json_schema_format

    t0 = time.perf_counter()
    out = llm.create_chat_completion(messages=messages, max_tokens=MAX_TOKENS, temperature=0.0, seed=1,
                                     response_format=translate_response_format(json_schema_format(schema)))  # fmt: skip
    return time.perf_counter() - t0, int(out["usage"]["prompt_tokens"])


def scorer_scenarios(model: str, item_ids: list[str]) -> None:
    """The forced-choice scorer without and with the prompt-state cache (same model, same items, one run)."""
    from studio.llm import local_provider
    from studio.llm.yes_no import LocalScorer
    from studio.pipeline.eval.judge_set import load_set
    from studio.pipeline.stages.backward import clean_steps, render_trajectory
    from studio.pipeline.stages.committee import COMPACT_OBS_LINES
    from studio.pipeline.stages.judges import LikelihoodScorer

    items = [i for i in load_set(ROOT / "assets" / "judge_set") if i.id in item_ids]
    print(f"model {model}, items {', '.join(i.id for i in items)}, load average {os.getloadavg()[0]:.1f}")
    print("\n| scorer | candidates | prompt tokens | evaluated tokens | seconds |\n|---|---|---|---|---|")
    scores: dict[str, list[float]] = {}
    for label, mb in (("no state cache (before)", "0"), ("prompt-state cache (after)", "1024")):
        os.environ["STUDIO_LOCAL_PROMPT_CACHE_MB"] = mb
        local_provider._loaded.clear()  # load again: the cache is set when the model is loaded
        local = LocalScorer(model)
        scorer = LikelihoodScorer(local)
        t0 = time.perf_counter()
        out = scores[label] = []
        for item in items:
            text = render_trajectory(clean_steps(item.steps), item.final_observation, max_obs_lines=COMPACT_OBS_LINES)
            for cand in item.candidates:  # one at a time, as the committee asks
                out.append(scorer.scores(item.app, text, [cand.instruction])[0])
        secs = time.perf_counter() - t0
        print(f"| {label} | {len(out)} | {local.prompt_tokens} | {local.evaluated_tokens} | {secs:.1f} |", flush=True)
    before, after = scores.values()
    print(
        f"\nlargest score difference {max(abs(a - b) for a, b in zip(before, after, strict=True)):.4f} nats, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="local/qwen2.5-coder-1.5b")
    ap.add_argument("--tasks", type=int, default=1, help="recorded trajectories judged (3 candidates each)")
    ap.add_argument("--max-tokens", type=int, default=MAX_TOKENS, help="generated tokens per call")
    ap.add_argument("--scorer", action="store_true", help="measure the forced-choice scorer instead")
    ap.add_argument("--items", default="galculator-add,mousepad-append-line", help="judge-set items (--scorer)")
    args = ap.parse_args()
    if args.scorer:
        scorer_scenarios(args.model, args.items.split(","))
        return
    globals()["MAX_TOKENS"] = args.max_tokens
    os.environ.setdefault("STUDIO_LOCAL_PROMPT_CACHE_MB", "0")  # scenarios switch the cache on themselves
    from bench_roles import changed, trajectory_text

    from studio.llm.local_provider import get_llama
    from studio.pipeline.stages.backward import InstructionReply
    from studio.pipeline.stages.committee import JudgeReply

    data = json.loads(DATA.read_text(encoding="utf-8"))
    tasks = sorted(data["tasks"], key=lambda t: -len(trajectory_text(t)))[: args.tasks]
    other = min(data["tasks"], key=lambda t: len(trajectory_text(t)))
    from studio.llm.local_provider import bounded_ram_cache

    llm = get_llama(args.model.split("/", 1)[1])
    scenarios = [("old layout", "old", False, False), ("new layout", "new", False, False),
                 ("new layout, other role between", "new", True, False),
                 ("new layout, other role between, RAM state cache", "new", True, True)]  # fmt: skip
    print(
        f"model {args.model}, {args.tasks} trajectory(ies) x 3 judge prompts, {args.max_tokens} tokens out, "
        f"threads {llm.n_threads}, load average {os.getloadavg()[0]:.1f}"
    )
    print("\n| scenario | judge calls | judge prompt tokens | judge seconds | s per judge call |")
    print("|---|---|---|---|---|")
    for label, layout, between, ram in scenarios:
        llm.reset()
        llm.set_cache(bounded_ram_cache(1 << 30) if ram else None)
        secs = 0.0
        toks = calls = 0
        for task in tasks:
            traj = trajectory_text(task)
            peer = next(t for t in data["tasks"] if t["app"] == task["app"] and t is not task)
            for instruction in (task["instruction"], peer["instruction"], changed(task["instruction"])):
                if between:
                    _call(llm, _backward_messages(other["app"], trajectory_text(other)), InstructionReply)
                dt, pt = _call(llm, _judge_messages(layout, task["app"], instruction, traj), JudgeReply)
                secs += dt
                toks += pt
                calls += 1
        print(f"| {label} | {calls} | {toks} | {secs:.1f} | {secs / calls:.1f} |", flush=True)
    llm.set_cache(None)


if __name__ == "__main__":
    main()
