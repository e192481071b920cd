"""Backward construction with and without state changes, on a labelled judge set (issue #14 part 5).

For every item the backward writer writes one instruction for the whole recorded trajectory, once per way of
showing what the actions did (``--modes``: ``state`` = the state changes of ``envs.changes`` after each action,
``rows`` = the raw a11y rows that differ, the earlier layout, ``none`` = no changes at all). Each written
instruction is scored against the item's true instruction without a model:

* value recall: the share of the true instruction's values (numbers, quoted text, file names) the written one
  names (``studio.pipeline.stages.values``);
* identified: the true instruction is the closest of all the set's true instructions of that app to the written
  one (content-word Jaccard), i.e. a reader could tell which task it was.

    python benchmarks/bench_backward_changes.py assets/judge_set --model local/qwen2.5-coder-0.5b --limit 12
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def main() -> None:
    from studio.config import ModelSpec
    from studio.llm.client import ModelClient
    from studio.llm.ledger import MemoryLedger
    from studio.pipeline.eval.judge_set import load_set
    from studio.pipeline.prompts import bind_model
    from studio.pipeline.stages.backward import ask_backward, clean_steps, render_trajectory
    from studio.pipeline.stages.judges import content_words
    from studio.pipeline.stages.values import instruction_values, value_present

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("set", type=Path)
    ap.add_argument("--model", default="local/qwen2.5-coder-0.5b")
    ap.add_argument("--modes", default="state,rows,none")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--app", action="append")
    ap.add_argument("--max-tokens", type=int, default=96)
    args = ap.parse_args()

    items = load_set(args.set)
    truth = {i.id: next(c.instruction for c in i.candidates if c.label) for i in items}
    chosen = [i for i in items if not args.app or i.app in args.app]
    # a spread over apps: round-robin by app, then the first N
    by_app: dict[str, list] = {}
    for i in chosen:
        by_app.setdefault(i.app, []).append(i)
    spread = [x for group in zip(*by_app.values(), strict=False) for x in group]
    spread += [i for i in chosen if i not in spread]
    chosen = spread[: args.limit] if args.limit else spread
    spec = ModelSpec(model=args.model, temperature=0.0, max_tokens=args.max_tokens)
    model = bind_model(ModelClient(None, MemoryLedger(), use_cache=False), "backward_writer", spec, "backward")
    modes = args.modes.split(",")
    results: dict[str, list[dict]] = {m: [] for m in modes}
    for item in chosen:
        steps = clean_steps(item.steps)
        true = truth[item.id]
        values = instruction_values(true)
        same_app = {k: v for k, v in truth.items() if next(i.app for i in items if i.id == k) == item.app}
        for mode in modes:
            text = render_trajectory(steps, item.final_observation, changes=mode)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            ans = ask_backward(model, "instruction", text, len(steps), item.app)
            secs = time.perf_counter() - t0
            written = ans.instruction
            recall = (sum(value_present(v, written) for v in values) / len(values)) if values and written else None
            words = content_words(written)
            best = max(same_app, key=lambda k: jaccard(words, content_words(same_app[k]))) if written else ""
            row = {
                "item": item.id,
                "mode": mode,
                "written": written,
                "error": ans.error,
                "value_recall": recall,
                "identified": bool(written) and best == item.id,
                "seconds": round(secs, 1),
            }
            results[mode].append(row)
            print(json.dumps(row), flush=True)
    print(f"model {args.model}, {len(chosen)} items", flush=True)
    for mode, rows in results.items():
        recalls = [r["value_recall"] for r in rows if r["value_recall"] is not None]
        usable = sum(1 for r in rows if r["written"])
        ident = sum(1 for r in rows if r["identified"])
        mean = sum(recalls) / len(recalls) if recalls else 0.0
        secs = sum(r["seconds"] for r in rows)
        print(
            f"{mode:6} usable {usable}/{len(rows)}  identified {ident}/{len(rows)}  "
            f"value recall {mean:.2f} (over {len(recalls)} with values)  {secs:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
