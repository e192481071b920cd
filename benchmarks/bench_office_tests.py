"""What the browser and office tasks cost the integration tests: old (two fresh sandboxes per task: the solution
run, then the no-op run, as ``studio task run`` does) vs new (one sandbox: untouched 0.0, then the solution, as
``check_solvable`` and the evaluation suite do), task by task in one run.

    .venv/bin/python benchmarks/bench_office_tests.py [--suite assets/tasks] [--apps libreoffice-calc,chromium]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

APPS = "libreoffice-calc,libreoffice-writer,libreoffice-impress,chromium"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", type=Path, default=Path("assets/tasks"))
    ap.add_argument("--apps", default=APPS)
    ap.add_argument("--new-only", action="store_true", help="skip the old two-sandbox runs")
    args = ap.parse_args()

    from studio.commands.task import run_task
    from studio.pipeline.eval.runner import check_solvable

    apps = args.apps.split(",")
    files = sorted(p for p in args.suite.rglob("*.json") if p.parent.name in apps)
    print(f"load {os.getloadavg()[0]:.2f}; {len(files)} tasks")
    print("| task | old: solution run s | old: no-op run s | old total s | new: one sandbox s | ok |")
    print("|---|---|---|---|---|---|")
    totals = [0.0, 0.0]
    for f in files:
        old = "-"
        old_total = 0.0
        ok = True
        if not args.new_only:
            t = time.monotonic()
            solved = run_task(f, f.with_suffix(".actions"))
            t_sol = time.monotonic() - t
            t = time.monotonic()
            noop = run_task(f, None)
            t_noop = time.monotonic() - t
            old_total = t_sol + t_noop
            old = f"{t_sol:.1f} | {t_noop:.1f} | {old_total:.1f}"
            ok = solved["score"] == 1.0 and noop["score"] == 0.0
        t = time.monotonic()
        r = check_solvable(f)
        new = time.monotonic() - t
        ok = ok and r.ok
        totals[0] += old_total
        totals[1] += new
        if args.new_only:
            old = "- | - | -"
        print(f"| {f.stem} | {old} | {new:.1f} | {'yes' if ok else 'NO: ' + (r.error or str(r))} |", flush=True)
    print(f"| **all** | | | {totals[0]:.0f} | {totals[1]:.0f} | |")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
