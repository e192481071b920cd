"""GUI measurements for BENCHMARKS.md.

1. Start time: a fresh process opens the main window on a workspace with N examples (default 10k) and waits until
   the counts are shown and the first page of the Examples list is loaded ("usable"). Reports seconds from
   process start, and seconds from ``main()`` entry.
2. Live view: two real explorer rollouts on galculator; frames/s per visible sandbox and the UI-thread stall
   (max delay of a 10 ms QTimer) while they run. Needs Xvfb and the sandbox and runs Qt offscreen.

    .venv/bin/python benchmarks/bench_gui.py [--examples 10000] [--workspace DIR] [--skip-live]
    .venv/bin/python benchmarks/bench_gui.py --skip-start --live-seconds 600    # a soak run: fps, stalls, RSS
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_big_workspace(path: Path, n: int) -> None:
    from studio.workspace import Example, Trajectory, Verdict, Workspace

    ws = Workspace.init(path)
    try:
        t = Trajectory(instruction="bench", app="galculator", policy="explorer")
        ws.start_trajectory(t)
        batch = 2000
        for start in range(0, n, batch):
            exs = [
                Example(
                    trajectory_id=t.id,
                    start=0,
                    end=2,
                    instruction=f"Compute {i} plus {i % 7} in galculator",
                    app="galculator",
                    kind="instruction" if i % 3 else "replicate",
                )
                for i in range(start, min(n, start + batch))
            ]
            ws.add_examples(exs)
            ws.add_verdicts(
                [
                    Verdict(example_id=e.id, judge="judge-a", criterion="aligned", vote=bool(i % 4))
                    for i, e in enumerate(exs)
                ]
            )
        ws.optimize()
    finally:
        ws.close()


CHILD = r"""
import os, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[2])
from studio.gui.data_workspace import prewarm_imports
prewarm_imports()  # what `studio gui WORKSPACE` does before importing Qt
from studio.gui.qt_app import create_app
from studio.gui.qt_main_window import MainWindow
app = create_app()
win = MainWindow(sys.argv[1])
win.show_view("examples")
win.show()
app.processEvents()
t_window = time.perf_counter() - t0  # the window is on screen and answers input
ex = win.views["examples"]
while not (win.counts is not None and ex.model.loaded > 0):
    app.processEvents()
    time.sleep(0.002)
print(time.perf_counter() - t0, ex.model.total, t_window, flush=True)
win.timer.stop()
os._exit(0)
"""


def bench_start(ws: Path, runs: int = 3) -> dict[str, float]:
    times = []
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(ws), str(ROOT)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        wall = time.perf_counter() - t
        inner, total, shown = out.stdout.split()[:3]
        times.append((wall, float(inner), int(total), float(shown)))
    best = min(times)
    return {
        "start_wall_s": round(best[0], 3),
        "start_in_process_s": round(best[1], 3),
        "examples": best[2],
        "window_shown_s": round(best[3], 3),
    }


def stall_probe() -> tuple[Any, list[float]]:
    """A running 10 ms QTimer on the UI thread and the list of how late each tick came (ms): the UI stall."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    stalls: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        stalls.append(now - last[0] - 10)
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    return timer, stalls


def bench_index(ws: Path, append: int = 1000) -> dict[str, float]:
    """The GUI's example index on a copy of ``ws``: full build on a worker thread (and the UI-thread stall it
    causes, both share the GIL), a refresh with nothing new, and a refresh after ``append`` examples with a
    verdict each were written."""
    import shutil

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from studio.gui.data_workspace import open_data
    from studio.gui.qt_app import create_app
    from studio.gui.qt_worker import WorkerPool
    from studio.workspace import Example, Verdict, Workspace

    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / "ws"
        shutil.copytree(ws, copy)
        data = open_data(copy)
        app = create_app()
        pool = WorkerPool()
        timer, stalls = stall_probe()
        done: list[float] = []

        def build() -> float:
            t = time.perf_counter()
            data.index.refresh()
            return time.perf_counter() - t

        pool.submit(build, on_result=done.append)
        while not done:
            app.processEvents()
            time.sleep(0.001)
        timer.stop()
        t = time.perf_counter()
        data.index.refresh()
        noop_ms = (time.perf_counter() - t) * 1000
        with Workspace.open(copy) as w:
            exs = [Example(trajectory_id="bench", start=0, end=1, instruction=f"more {i}") for i in range(append)]
            w.add_examples(exs)
            w.add_verdicts([Verdict(example_id=e.id, judge="judge-a", criterion="aligned", vote=True) for e in exs])
        t = time.perf_counter()
        data.index.refresh()
        incremental_s = time.perf_counter() - t
        builds = data.index.builds
        data.close()
        pool.wait()
    return {
        "index_examples_after_append": len(data.index.rows),
        "index_build_s": round(done[0], 2),
        "index_build_ui_stall_max_ms": round(max(stalls), 1) if stalls else 0.0,
        "index_refresh_nothing_new_ms": round(noop_ms, 1),
        f"index_refresh_after_{append}_appended_s": round(incremental_s, 3),
        "index_full_builds": builds,
    }


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return round(kb / 1024, 1)


def bench_live(seconds: float = 15.0) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from studio.gui.live_run import ThreadExecutor, explore_task
    from studio.gui.qt_app import create_app
    from studio.gui.qt_live import LiveView
    from studio.gui.qt_worker import WorkerPool
    from studio.pipeline.rollout.episode import RolloutJob

    app = create_app()
    pool = WorkerPool()
    view = LiveView(pool, None, executor_factory=ThreadExecutor)
    view.resize(1200, 700)
    view.show()
    task = explore_task("galculator")
    view.start([RolloutJob(f"b{i}", task, "galculator", {"kind": "explorer", "seed": i}, 100_000) for i in range(2)])
    # wait for both sandboxes to stream
    deadline = time.monotonic() + 90
    while not all(t.frames > 0 for t in view.tiles.values()) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    timer, stalls = stall_probe()
    rss0 = _rss_mb()
    f0 = {k: t.frames for k, t in view.tiles.items()}
    s0 = {k: t.step for k, t in view.tiles.items()}
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.monotonic() - t0
    rss1 = _rss_mb()
    fps = {k: (t.frames - f0[k]) / elapsed for k, t in view.tiles.items()}
    steps = {k: t.step - s0[k] for k, t in view.tiles.items()}
    timer.stop()
    t_stop = time.monotonic()
    done: list[object] = []
    view.run_finished.connect(done.append)
    view.stop()
    while not done and time.monotonic() - t_stop < 30:
        app.processEvents()
        time.sleep(0.005)
    stop_s = time.monotonic() - t_stop
    pool.wait(10000)
    stalls.sort()
    return {
        "fps_min": round(min(fps.values()), 1),
        "fps_mean": round(sum(fps.values()) / len(fps), 1),
        "steps_in_window": sum(steps.values()),
        "ui_stall_max_ms": round(max(stalls), 1),
        "ui_stall_p99_ms": round(stalls[int(len(stalls) * 0.99)], 1),
        "stop_to_finished_s": round(stop_s, 2),
        "live_seconds": round(elapsed, 1),
        "rss_mb_at_start": rss0,
        "rss_mb_growth": round(rss1 - rss0, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--skip-start", action="store_true")
    ap.add_argument("--index", action="store_true", help="also measure the example index on the workspace")
    ap.add_argument("--workspace", type=Path, help="reuse this workspace (built on the first run if missing)")
    ap.add_argument("--live-seconds", type=float, default=15.0, help="how long the two rollouts are watched")
    ap.add_argument("--runs", type=int, default=3, help="start-time runs (the best is reported)")
    args = ap.parse_args()
    results: dict[str, object] = {}
    if not args.skip_start:
        with tempfile.TemporaryDirectory() as d:
            ws = args.workspace or Path(d) / "ws"
            if not ws.exists():
                t = time.perf_counter()
                build_big_workspace(ws, args.examples)
                results["build_s"] = round(time.perf_counter() - t, 1)
            results.update(bench_start(ws, args.runs))
            if args.index:
                results.update(bench_index(ws))
    if not args.skip_live:
        results.update(bench_live(args.live_seconds))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
