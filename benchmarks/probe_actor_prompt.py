"""One element-actor call on a real first screen, for prompt variants (the probe of BENCHMARKS.md, "Offline actor
and the retrieval effect, measured").

Starts a sandbox with ``--app``, observes its first screen, builds the element prompt (``--prompt``: a shipped
version such as ``actor_elements.v1``; default the current one) with the task and, optionally, worked examples
(``--examples FILE``: a JSON list of ``{"instruction", "steps": [[reason, action code], ...], "changes": [...]}``,
packed in ``--layout`` ``reply`` or ``code``), calls the model once under the reply grammar and prints its reply
and the actions it parses to.

    python benchmarks/probe_actor_prompt.py --app galculator --task "Use the calculator to add 123 and 456." \\
        --examples ex.json --layout reply
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--app", required=True)
    ap.add_argument("--task", required=True)
    ap.add_argument("--model", default="local/qwen2.5-coder-1.5b")
    ap.add_argument("--prompt", default="", help="prompt version (default: the element actor's current one)")
    ap.add_argument("--examples", type=Path, default=None)
    ap.add_argument("--layout", default="reply", choices=("reply", "code"))
    args = ap.parse_args()

    from envs.sandbox import Sandbox
    from studio.config import ModelSpec
    from studio.pipeline.agent import elements, factory
    from studio.pipeline.agent.policies import StepContext
    from studio.pipeline.retrieval.index import IndexedExample
    from studio.pipeline.retrieval.render import pack_examples

    if args.prompt:
        elements.ELEMENTS_PROMPT_VERSION = args.prompt
    with Sandbox() as sb:
        sb.launch_app(args.app)
        time.sleep(2)
        obs = sb.observe()
    examples = ""
    if args.examples:
        items = json.loads(args.examples.read_text(encoding="utf-8"))
        exs = [
            IndexedExample(
                id=str(i),
                instruction=e["instruction"],
                steps=[(str(r), str(a)) for r, a in e["steps"]],
                changes=[str(c) for c in e.get("changes", [])],
            )
            for i, e in enumerate(items)
        ]
        examples = pack_examples(exs, 1200, args.layout)
    prompt = elements.element_prompt(StepContext(args.task, obs, examples_text=examples))
    complete = factory.completer(None, spec=ModelSpec(model=args.model), use_cache=False, schema=elements.ElementReply)
    t0 = time.perf_counter()
    text, usage = complete([{"role": "user", "content": prompt}])
    decision = elements.parse_element_reply(text, obs)
    print(prompt[-1500:])
    print(f"--- {time.perf_counter() - t0:.1f} s, {usage.get('prompt_tokens')} prompt tokens")
    print(text)
    print(decision.actions, decision.error)


if __name__ == "__main__":
    main()
