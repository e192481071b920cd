"""Calc's a11y table before and after its visible cells are read: rows, cell rows, read time (one run, side by side).

    .venv/bin/python benchmarks/bench_calc_cells.py [--reads 5] [--old-ref main]

"old" runs the AT-SPI reader as it is at git ``--old-ref`` (it stops at the sheet), "new" the working tree's; each
in its own sandbox with the same workbook (40 rows x 12 columns of values) open in Calc.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _book() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([f"Col{c}" for c in range(1, 13)])
    for r in range(2, 41):
        ws.append([r * c for c in range(1, 13)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _measure(label: str, reads: int) -> None:
    from envs.observation import A11yNode
    from envs.sandbox import Sandbox

    with Sandbox(name=f"calc-{label}").start() as sb:
        sb.write_file("~/grid.xlsx", _book())
        t = time.monotonic()
        sb.launch_app("libreoffice-calc", ["/home/user/grid.xlsx"])
        ready = time.monotonic() - t
        deadline = time.monotonic() + 60
        nodes: list[A11yNode] = []
        while time.monotonic() < deadline:  # until the sheet is in the table (and, new, its cells)
            nodes, _ = sb.a11y(max_nodes=1500, timeout=5.0)
            if any(n.role == "table cell" for n in nodes) or (label == "old" and any(n.role == "table" for n in nodes)):
                break
            time.sleep(0.5)
        times, counts, cells = [], [], []
        for _ in range(reads):
            t = time.monotonic()
            nodes, cut = sb.a11y(max_nodes=1500, timeout=5.0)
            times.append(time.monotonic() - t)
            counts.append(len(nodes))
            cells.append(sum(1 for n in nodes if n.role == "table cell"))
        sample = next((n for n in nodes if n.role == "table cell"), None)
        print(
            f"| {label} | {ready:.1f} | {statistics.median(counts)} | {statistics.median(cells)} | "
            f"{statistics.median(times):.2f} ({min(times):.2f}-{max(times):.2f}) | {cut} | "
            f"{'' if sample is None else f'{sample.name!r} {sample.text!r}'} |",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=5)
    ap.add_argument("--old-ref", default="main")
    args = ap.parse_args()
    import envs.a11y as a11y

    old_source = subprocess.run(
        ["git", "show", f"{args.old_ref}:envs/a11y_worker.py"], capture_output=True, text=True, check=True
    ).stdout
    print(f"load {os.getloadavg()[0]:.2f}")
    print(
        "| reader | Calc ready s | rows | cell rows | read s median (min-max) | truncated | a cell row (name, text) |"
    )
    print("|---|---|---|---|---|---|---|")
    new_argv = a11y.worker_argv_inside
    a11y.worker_argv_inside = lambda: [a11y.SYSTEM_PYTHON, "-I", "-c", old_source]  # type: ignore[assignment]
    try:
        _measure("old", args.reads)
    finally:
        a11y.worker_argv_inside = new_argv  # type: ignore[assignment]
    _measure("new", args.reads)
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
