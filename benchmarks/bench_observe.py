"""Observation overhead of the sandbox: grab, PNG encode, settle thumbnail, a11y table, window list, start.

Prints median and p95 (milliseconds) per part and display size. Run:

    .venv/bin/python benchmarks/bench_observe.py [--sizes 1280x800,1920x1080] [--n 50] [--starts 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.sandbox import Sandbox  # noqa: E402


def _stats(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
    return statistics.median(s) * 1000, p95 * 1000


def _time(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_size(width: int, height: int, n: int, starts: int) -> list[tuple[str, float, float, str]]:
    rows: list[tuple[str, float, float, str]] = []
    start_samples: list[float] = []
    for _ in range(starts):
        t = time.perf_counter()
        with Sandbox(width=width, height=height, name="bench").start() as sb:
            sb.observe()
            start_samples.append(time.perf_counter() - t)
    rows.append(("start -> first observe", *_stats(start_samples), f"{starts} starts, a11y on, empty desktop"))
    with Sandbox(width=width, height=height, name="bench").start() as sb:
        sb.launch_app("mousepad")
        frame = sb.grab()
        rows.append(("grab (mss XShm)", *_stats(_time(sb.grab, n)), f"{len(frame.bgra) // 1024} KiB BGRA"))
        png = frame.to_png()
        rows.append(("PNG encode (level 1)", *_stats(_time(frame.to_png, n)), f"{len(png) // 1024} KiB"))
        rows.append(("settle thumbnail", *_stats(_time(frame.thumbnail, n)), "every 4th pixel, gray"))
        rows.append(("windows (python-xlib)", *_stats(_time(sb.windows, n)), f"{len(sb.windows())} windows"))
        nodes = sb.a11y()[0]
        rows.append(("a11y mousepad", *_stats(_time(sb.a11y, n)), f"{len(nodes)} nodes"))
        rows.append(("observe(a11y) mousepad", *_stats(_time(sb.observe, max(5, n // 5))), "grab+png+a11y+windows"))
    with Sandbox(width=width, height=height, name="bench").start() as sb:
        sb.launch_app("galculator")
        nodes = sb.a11y()[0]
        rows.append(("a11y galculator", *_stats(_time(sb.a11y, n)), f"{len(nodes)} nodes"))
    with Sandbox(width=width, height=height, name="bench").start() as sb:
        sb.launch_app("gnumeric")
        nodes = sb.a11y()[0]
        rows.append(("a11y gnumeric", *_stats(_time(sb.a11y, max(5, n // 5))), f"{len(nodes)} nodes"))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1280x800,1920x1080", help="comma-separated WxH list")
    ap.add_argument("--n", type=int, default=50, help="samples per measurement")
    ap.add_argument("--starts", type=int, default=5, help="sandbox starts to time")
    args = ap.parse_args()
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.lower().split("x"))
        print(f"\n## {w}x{h}  (median / p95 ms, n={args.n})")
        print(f"{'part':26s} {'median':>9s} {'p95':>9s}  note")
        for name, med, p95, note in bench_size(w, h, args.n, args.starts):
            print(f"{name:26s} {med:9.2f} {p95:9.2f}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
