"""``studio serve`` latency per call: in process, MCP over stdio, MCP over streamable HTTP, plain HTTP JSON.

The workspace holds N synthetic examples shaped like real rollouts (``bench_retrieval.fill_workspace``: four apps,
OSWorld-style a11y tables, 1-3 step spans), indexed with the workspace's default embedder (all-MiniLM-L6-v2 on
CPU), as ``studio serve`` would find it. Each transport runs as a real client against ``studio serve`` in a
subprocess (``python -m studio.cli serve``); the in-process row calls :class:`studio.serve.ExampleService` directly,
so the difference is the transport. Calls (held-out steps from the same generator, another seed):

* ``retrieve:observation`` -- BM25 over the observation (no model, no embedding);
* ``retrieve:instruction`` -- BM25 + dense search on the instruction (embeds the query with MiniLM);
* ``search``               -- ``search_examples`` with mode both (BM25 + dense, fused);
* ``trajectory``           -- ``get_trajectory`` with screenshot references;
* ``retrieve:both``        -- Algorithm 2 with the workspace's query_writer model (local SmolLM2-135M through
  llama.cpp), measured in process only and with few calls (``--model-calls``), instructions made unique so the
  model's response cache cannot answer.

    .venv/bin/python benchmarks/bench_serve.py                    # 10k examples, 40 calls per operation
    .venv/bin/python benchmarks/bench_serve.py --examples 1000 --calls 20 --model-calls 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TOKEN = "bench-token-0123456789abcdefghij"


def build(path: Path, n: int) -> tuple[int, float]:
    from bench_retrieval import fill_workspace

    from studio.llm.embedders import make_embedder
    from studio.pipeline.retrieval.index import build_index
    from studio.workspace import Workspace

    t0 = time.perf_counter()
    with Workspace.init(path) as ws:
        fill_workspace(ws, n)
        rep = build_index(ws, make_embedder(ws.config.roles.embedder), accepted_only=False)
    return rep.total, time.perf_counter() - t0


def cases(n: int) -> list[dict[str, Any]]:
    from bench_retrieval import held_out_cases

    out = []
    for c in held_out_cases(n, seed=4242):
        out.append(
            {
                "instruction": c.instruction,
                "observation": c.observation_text,
                "history": [{"reason": h.reason, "action": h.action_code} for h in c.history],
            }
        )
    return out


def summarize(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {
        "p50_ms": 1000 * statistics.median(s),
        "p95_ms": 1000 * s[min(len(s) - 1, round(0.95 * (len(s) - 1)))],
        "n": float(len(s)),
    }


def requests(cs: list[dict[str, Any]], tid: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    return {
        "retrieve:observation": [("retrieve_examples", {**c, "k": 5, "mode": "observation"}) for c in cs],
        "retrieve:instruction": [("retrieve_examples", {**c, "k": 10, "mode": "instruction"}) for c in cs],
        "search": [("search_examples", {"query": c["instruction"], "k": 5, "mode": "both"}) for c in cs],
        "trajectory": [("get_trajectory", {"id": tid, "screenshots": "refs"}) for _ in cs],
    }


def first_trajectory(path: Path) -> str:
    from studio.workspace import Trajectory, Workspace

    with Workspace.open(path, readonly=True) as ws:
        return ws.list(Trajectory, limit=1)[0].id


def measure_sync(call: Callable[[str, dict[str, Any]], Any], reqs: dict[str, list[Any]]) -> dict[str, Any]:
    out = {}
    for name, items in reqs.items():
        call(*items[0])  # warm-up (first embedding loads the model)
        times = []
        for op, args in items:
            t = time.perf_counter()
            call(op, args)
            times.append(time.perf_counter() - t)
        out[name] = summarize(times)
    return out


async def measure_async(
    call: Callable[[str, dict[str, Any]], Awaitable[Any]], reqs: dict[str, list[Any]]
) -> dict[str, Any]:
    out = {}
    for name, items in reqs.items():
        await call(*items[0])
        times = []
        for op, args in items:
            t = time.perf_counter()
            res = await call(op, args)
            times.append(time.perf_counter() - t)
            if getattr(res, "is_error", False):
                raise RuntimeError(f"{op} failed: {res.content[0].text}")
        out[name] = summarize(times)
    return out


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    env["STUDIO_SERVE_TOKEN"] = TOKEN
    return env


def bench_in_process(
    path: Path, reqs: dict[str, list[Any]], model_calls: int, threads: int | None = None
) -> dict[str, Any]:
    """``threads``: torch intra-op threads (``studio serve`` runs with one, via OMP_NUM_THREADS=1)."""
    from studio.serve.service import ExampleService, call

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    svc = ExampleService(path)
    try:
        t = time.perf_counter()
        call(svc, "retrieve_examples", {"instruction": "warm up", "observation": "", "mode": "instruction"})
        first = time.perf_counter() - t
        out = measure_sync(lambda op, a: call(svc, op, a), reqs)
        out["first call (loads MiniLM)"] = {"p50_ms": 1000 * first, "p95_ms": 1000 * first, "n": 1.0}
        if model_calls:
            items = next(iter(reqs.values()))[: model_calls + 1]
            times, model_s = [], []
            for i, (_op, args) in enumerate(items):
                unique = {**args, "instruction": f"{args['instruction']} ({uuid.uuid4().hex[:6]})", "mode": "both"}
                t = time.perf_counter()
                res = call(svc, "retrieve_examples", unique)
                if i:  # the first call loads the model
                    times.append(time.perf_counter() - t)
                    model_s.append(res["seconds"].get("query_writer", 0.0))
            out["retrieve:both (query_writer model)"] = summarize(times)
            out["  of which the model call"] = summarize(model_s)
    finally:
        svc.close()
    return out


def bench_stdio(path: Path, reqs: dict[str, list[Any]]) -> dict[str, Any]:
    import anyio
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "studio.cli", "serve", str(path)], env=child_env(), cwd=str(ROOT)
    )

    async def main() -> dict[str, Any]:
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (r, w), ClientSession(r, w) as s:
                await s.initialize()
                return await measure_async(lambda op, a: s.call_tool(op, a), reqs)

    return anyio.run(main)  # type: ignore[no-any-return]


def start_http(path: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio.cli", "serve", str(path), "--http", "--port", "0"],
        cwd=ROOT,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("serving on "):
            return proc, line.split()[2].removesuffix("/mcp")
    raise RuntimeError("studio serve --http did not start")


def bench_mcp_http(url: str, reqs: dict[str, list[Any]]) -> dict[str, Any]:
    import anyio
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def main() -> dict[str, Any]:
        async with (
            create_mcp_http_client(headers=auth) as client,
            streamable_http_client(f"{url}/mcp", http_client=client) as (r, w),
            ClientSession(r, w) as s,
        ):
            await s.initialize()
            return await measure_async(lambda op, a: s.call_tool(op, a), reqs)

    return anyio.run(main)  # type: ignore[no-any-return]


def bench_plain_http(url: str, reqs: dict[str, list[Any]]) -> dict[str, Any]:
    import httpx

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300) as c:

        def post(op: str, args: dict[str, Any]) -> Any:
            r = c.post(f"/api/{op}", json=args)
            r.raise_for_status()
            return r.json()

        return measure_sync(post, reqs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--model-calls", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        path = Path(tmp) / "ws"
        n, build_s = build(path, args.examples)
        print(f"workspace: {n} indexed examples (built + indexed with all-MiniLM in {build_s:.0f} s)", flush=True)
        reqs = requests(cases(args.calls), first_trajectory(path))
        import torch

        default_threads = torch.get_num_threads()
        results = {
            f"in process, torch {default_threads} threads": bench_in_process(path, reqs, 0, default_threads),
            "in process, 1 thread (as serve)": bench_in_process(path, reqs, args.model_calls, 1),
        }
        print("in process done", flush=True)
        results["MCP stdio"] = bench_stdio(path, reqs)
        print("stdio done", flush=True)
        for name, bench in (("MCP streamable HTTP", bench_mcp_http), ("HTTP JSON /api", bench_plain_http)):
            proc, url = start_http(path)  # a fresh server each: no query embedding cached by the one before
            try:
                results[name] = bench(url, reqs)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            print(f"{name} done", flush=True)
    ops = list(dict.fromkeys(op for r in results.values() for op in r))
    print(f"\n| operation ({n} examples) | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for op in ops:
        cells = []
        for r in results.values():
            v = r.get(op)
            cells.append(f"{v['p50_ms']:.1f} / {v['p95_ms']:.1f}" if v else "-")
        print(f"| {op} | " + " | ".join(cells) + " |")
    load_after = os.getloadavg()
    print(
        f"\n(p50 / p95 ms per call; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, "
        f"{os.cpu_count()} cores)"
    )
    if args.json:
        args.json.write_text(json.dumps({"examples": n, "results": results}, indent=2))


if __name__ == "__main__":
    main()
