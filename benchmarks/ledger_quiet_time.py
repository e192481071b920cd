"""Model time of a workspace run, per stage: as measured, and as the same tokens take on a quiet machine.

On a shared machine one model call can take 50x its quiet time, so wall times measured under load say little
about the design. This reads a workspace's ledger (``ledger.jsonl``: every model call with its tokens and
latency) and prices the tokens at the quiet rates measured on this 2-core VM (``bench_roles.QUIET_RATES``; a
prompt whose prefix llama.cpp reused costs less, so the estimate is an upper bound)::

    python benchmarks/ledger_quiet_time.py demo-workspace
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_roles import QUIET_RATES  # noqa: E402

STRUCTURED_STAGES = {"tasks", "backward", "committee"}


def main() -> None:
    from studio.llm.ledger import read_ledger

    ws = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-workspace")
    rows: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0])
    for r in read_ledger(ws / "ledger.jsonl"):
        if r.cache_hit or r.error:
            continue
        pr, gen, gen_json = QUIET_RATES.get(r.model, (50, 15, 8))
        g = gen_json if r.stage in STRUCTURED_STAGES else gen
        row = rows[f"{r.stage} ({r.model})"]
        row[0] += 1
        row[1] += r.prompt_tokens
        row[2] += r.completion_tokens
        row[3] += r.latency_s
        row[4] += r.prompt_tokens / pr + r.completion_tokens / g
    print("| stage (model) | calls | prompt tokens | completion tokens | model s here | model s quiet (estimate) |")
    print("|---|---|---|---|---|---|")
    total = [0.0] * 5
    for name, row in rows.items():
        print(f"| {name} | {row[0]:.0f} | {row[1]:.0f} | {row[2]:.0f} | {row[3]:.0f} | {row[4]:.0f} |")
        total = [a + b for a, b in zip(total, row, strict=True)]
    print(f"| **total** | {total[0]:.0f} | {total[1]:.0f} | {total[2]:.0f} | {total[3]:.0f} | {total[4]:.0f} |")


if __name__ == "__main__":
    main()
