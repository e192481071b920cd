"""What the checked writer's JSON-schema grammar costs a local model: decode speed of one task-writer call under
each reply schema, on the same prompt.

Run: ``.venv/bin/python benchmarks/bench_writer_grammar.py [--model smollm2] [--tokens 200] [--schemas ...]``.
Schemas: ``none`` (no grammar), ``plain`` (the plain writer's task list), ``checked`` (the checked writer's
schema as sent: :func:`studio.pipeline.stages.checked_tasks.reply_schema`), ``checked-full`` (the schema built
by :func:`envs.task_schema.writer_schema`; the same unless the reply schema slims it).
The prompt is evaluated once first (``prompt_s``); every measured call reuses it (llama.cpp keeps the prefix),
so the seconds are decoding under each grammar. Prints, per schema: grammar rules, seconds, completion tokens,
tokens/s, whether the reply parsed, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any


def schemas(n: int) -> dict[str, dict[str, Any] | None]:
    from envs.task_schema import writer_schema
    from studio.pipeline.stages.checked_tasks import reply_schema
    from studio.pipeline.stages.self_instruct import TaskList

    return {
        "none": None,
        "plain": TaskList.model_json_schema(),
        "checked": reply_schema(n).model_json_schema(),
        "checked-full": writer_schema(n),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2", help="a local model name (studio.llm.local_provider)")
    ap.add_argument("--tokens", type=int, default=200, help="max_tokens per call")
    ap.add_argument("--n", type=int, default=1, help="tasks asked per call")
    ap.add_argument("--schemas", default="none,plain,checked,checked-full")
    args = ap.parse_args()

    import llama_cpp

    from studio.llm.local_provider import default_threads, gguf_path
    from studio.pipeline.stages.checked_tasks import build_messages

    class Sec:
        id = "doc"
        source = "man:galculator"
        title = "galculator"
        section = "Basic arithmetic"
        text = (
            "Type a number with the digit buttons, press + and another number, then press = to see the sum in "
            "the display. Use AC to clear everything and C to clear the current entry. Ctrl+Q quits."
        )

    messages, _ = build_messages(Sec(), "galculator", args.n, [])
    llm = llama_cpp.Llama(model_path=str(gguf_path(args.model)), n_ctx=8192, n_threads=default_threads(), verbose=False)
    all_schemas = schemas(args.n)
    t0 = time.perf_counter()  # the shared prompt once: every measured call below reuses it (llama.cpp's prefix)
    llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.2, seed=0)
    print(json.dumps({"prompt_s": round(time.perf_counter() - t0, 1), "load": round(os.getloadavg()[0], 1)}))
    for name in args.schemas.split(","):
        schema = all_schemas[name]
        rules = 0
        if schema is not None:
            rules = len(
                llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)._grammar.splitlines()
            )
        fmt = {"type": "json_object", "schema": schema} if schema is not None else None
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        out = llm.create_chat_completion(
            messages=messages, response_format=fmt, max_tokens=args.tokens, temperature=0.2, seed=0
        )
        secs = time.perf_counter() - t0
        usage = out.get("usage") or {}
        toks = int(usage.get("completion_tokens", 0))
        text = out["choices"][0]["message"]["content"] or ""
        try:
            json.loads(text)
            parsed = True
        except ValueError:
            parsed = False
        print(
            json.dumps(
                {
                    "model": args.model,
                    "schema": name,
                    "grammar_rules": rules,
                    "seconds": round(secs, 1),
                    "completion_tokens": toks,
                    "tok_per_s": round(toks / secs, 2) if secs else None,
                    "parsed": parsed,
                    "finish": out["choices"][0].get("finish_reason"),
                    "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
                    "head": text[:160],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
