"""Measure the models layer: cache-hit overhead, local model tokens/s, time to first token, embeddings/s.

Run: ``.venv/bin/python benchmarks/bench_models.py [--quick]``. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from studio.config import ModelSpec
from studio.llm.client import ModelClient, import_litellm
from studio.llm.ledger import MemoryLedger


def report(name: str, value: float, unit: str, note: str = "") -> None:
    print(f"{name:<42} {value:>10.2f} {unit:<10} {note}")


def bench_cache_hit(tmp: Path, n: int) -> None:
    import os

    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    litellm = import_litellm()
    real = litellm.completion
    litellm.completion = lambda **kw: real(**kw, mock_response="cached answer")
    try:
        client = ModelClient(tmp / "cache", MemoryLedger())
        spec = ModelSpec(model="openai/gpt-4o-mini")
        msgs = [{"role": "user", "content": "x " * 2000}]
        client.complete("actor", spec, msgs)  # fill
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            res = client.complete("actor", spec, msgs)
            times.append(time.perf_counter() - t0)
            assert res.cache_hit
        report("cache hit (complete(), 4 KB prompt)", statistics.median(times) * 1e3, "ms", f"median of {n}")
        miss = []
        for i in range(min(n, 50)):
            t0 = time.perf_counter()
            client.complete("actor", spec, msgs, cache_salt=str(i))
            miss.append(time.perf_counter() - t0)
        report("mock_response miss (litellm path)", statistics.median(miss) * 1e3, "ms", "for comparison")
    finally:
        litellm.completion = real


def long_prompt(tokens: int) -> str:
    """An a11y-table-like prompt of about ``tokens`` SmolLM2 tokens."""
    from studio.llm.local_provider import get_llama

    llm = get_llama()
    rows = ["id\trole\tname\ttext\tposition\tsize"]
    i = 0
    while True:
        rows.append(f"{i}\tpush button\tButton {i}\t\t({10 * i}, {5 * i})\t(80, 24)")
        i += 1
        if i % 10 == 0 and len(llm.tokenize("\n".join(rows).encode())) >= tokens:
            return "\n".join(rows)


def bench_local_model(tmp: Path, runs: int) -> None:
    litellm = import_litellm()
    client = ModelClient(tmp / "cache2", MemoryLedger(), use_cache=False)
    spec = ModelSpec(model="local/smollm2", max_tokens=128, temperature=0.0)
    t0 = time.perf_counter()
    client.complete("actor", ModelSpec(model="local/smollm2", max_tokens=1), [{"role": "user", "content": "hi"}])
    report("local model load + first call", time.perf_counter() - t0, "s")
    rates = []
    for i in range(runs):
        msgs = [{"role": "user", "content": f"({i}) Write a long story about a text editor and a calculator."}]
        res = client.complete("actor", spec, msgs)
        rates.append(res.completion_tokens / res.latency_s)
    report("local model decode (128 tok, short prompt)", statistics.median(rates), "tok/s", f"median of {runs}")

    prompt = long_prompt(1500)
    ttfts, totals, ptoks = [], [], []
    for i in range(runs):
        msgs = [
            {"role": "user", "content": f"Run {i} {random.random()}. Which button saves?\n{prompt}"},
        ]
        t0 = time.perf_counter()
        first = None
        chunks = litellm.completion(model="local/smollm2", messages=msgs, max_tokens=16, stream=True)
        for c in chunks:
            if first is None and (c.choices[0].delta.content or ""):
                first = time.perf_counter() - t0
        totals.append(time.perf_counter() - t0)
        ttfts.append(first or totals[-1])
    from studio.llm.local_provider import get_llama

    ptoks.append(len(get_llama().tokenize(prompt.encode())))
    report("local TTFT, ~1,500-token prompt (stream)", statistics.median(ttfts), "s", f"prompt={ptoks[0]} tok")
    report("local prompt eval rate", ptoks[0] / statistics.median(ttfts), "tok/s", "prefill")


def bench_embeddings(quick: bool) -> None:
    from studio.llm.embedders import LexicalEmbedder, LocalSTEmbedder

    words = "open save file edit menu button calculator sum cell sheet text window close undo copy paste".split()
    rng = random.Random(0)
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 20))) for _ in range(2000)]
    lex = LexicalEmbedder()
    t0 = time.perf_counter()
    lex.embed(texts)
    report("lexical embedder (256-d)", len(texts) / (time.perf_counter() - t0), "texts/s")
    st = LocalSTEmbedder()
    t0 = time.perf_counter()
    st.embed(["warm up"])
    report("local ST load (all-MiniLM-L6-v2)", time.perf_counter() - t0, "s")
    n = 256 if quick else 1024
    t0 = time.perf_counter()
    st.embed(texts[:n])
    report("local ST embedder (384-d, CPU)", n / (time.perf_counter() - t0), "texts/s", f"n={n}")


def main() -> None:
    import os

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_cache_hit(tmp, 50 if args.quick else 300)
        bench_local_model(tmp, 2 if args.quick else 3)
        bench_embeddings(args.quick)


if __name__ == "__main__":
    main()
