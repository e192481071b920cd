"""Live grid frame rate: N real sandboxes (explorer rollouts on galculator) watched in the Live view.

Each measurement runs in a fresh process (Qt offscreen, real sandboxes, the rollouts recorded to a temporary
workspace as a GUI-started run is): it waits until every tile shows live frames, then for ``--seconds`` counts
the frames each tile drew, the steps the agents took, and how late a 10 ms timer on the UI thread fired (a
stall). A tile's frame rate is the distinct frames it painted (a frame handed over but replaced before the
UI drew it is counted apart, as ``received``); with the frame pump, ``looks`` counts every time a sandbox's
screen was checked (sent when it changed, else dropped as identical to the frame on show). ``--code DIR``
measures another checkout of the studio (e.g. ``/work/main``, the previous Live view) with the same script,
so old and new run side by side on the same machine state.

    .venv/bin/python benchmarks/bench_live_grid.py --sandboxes 4,8 --seconds 30 [--code /work/main --code .]
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


def measure(n: int, seconds: float, follow: bool) -> dict[str, Any]:
    """One run in this process: ``n`` sandboxes, ``seconds`` measured; returns the figures."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer

    from studio.gui import qt_live
    from studio.gui.live_run import explore_task
    from studio.gui.qt_app import create_app
    from studio.gui.qt_live import LiveView
    from studio.gui.qt_worker import WorkerPool
    from studio.pipeline.rollout.episode import RolloutJob
    from studio.workspace import Workspace

    painted: dict[str, int] = {}
    tile_class = qt_live.SandboxTile
    paint = tile_class.paintEvent

    def counting_paint(tile: Any, event: Any) -> None:
        """Count the distinct frames a tile really painted (frames a busy UI never drew do not count)."""
        key = tile.image.cacheKey()
        if key != getattr(tile, "_bench_key", None):
            tile._bench_key = key
            painted[tile.trajectory_id] = painted.get(tile.trajectory_id, 0) + 1
        paint(tile, event)

    tile_class.paintEvent = counting_paint
    app = create_app()
    ws = Path(tempfile.mkdtemp(prefix="bench-live-")) / "ws"
    Workspace.init(ws).close()
    pool = WorkerPool()
    view = LiveView(pool, None)
    view.workspace_path = ws
    view.resize(1440, 860)
    view.show()
    task = explore_task("galculator")
    jobs = [RolloutJob(f"grid-{i}", task, "galculator", {"kind": "explorer", "seed": i}, 100_000) for i in range(n)]

    def pump(cond: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            app.processEvents()
            time.sleep(0.005)
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")

    t_start = time.monotonic()
    view.start(jobs)
    pump(lambda: all(t.frames >= 3 and t.step >= 1 for t in view.tiles.values()), 300, "every sandbox live")
    ready_s = time.monotonic() - t_start
    if follow and hasattr(view, "follow"):
        view.follow("grid-0")
    delays: list[float] = []
    last = [time.monotonic()]

    def beat() -> None:
        now = time.monotonic()
        delays.append(now - last[0] - 0.010)
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(beat)
    frames0 = {tid: t.frames for tid, t in view.tiles.items()}
    painted0 = {tid: painted.get(tid, 0) for tid in view.tiles}
    pump_stats = getattr(getattr(view, "pump", None), "stats", None)  # the new Live view's frame pump
    looks0 = {tid: sum(v[::2]) for tid, v in pump_stats().items()} if pump_stats else {}
    steps0 = sum(t.step for t in view.tiles.values())
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    timer.start()
    pump(lambda: time.monotonic() - t0 >= seconds, seconds + 60, "the measurement")
    timer.stop()
    elapsed = time.monotonic() - t0
    received = {tid: (t.frames - frames0[tid]) / elapsed for tid, t in view.tiles.items()}
    fps = {tid: (painted.get(tid, 0) - painted0[tid]) / elapsed for tid in view.tiles}
    looks = {tid: (sum(v[::2]) - looks0.get(tid, 0)) / elapsed for tid, v in pump_stats().items()} if pump_stats else {}
    steps = sum(t.step for t in view.tiles.values()) - steps0
    load1 = os.getloadavg()[0]
    finished: list[Any] = []
    view.run_finished.connect(finished.append)
    view.stop()
    pump(lambda: bool(finished), 120, "the rollouts to stop")
    view.shutdown()
    pool.wait(10000)
    delays.sort()
    others = [v for k, v in fps.items() if not (follow and k == "grid-0")]
    return {
        "sandboxes": n,
        "follow": follow,
        "seconds": round(elapsed, 1),
        "ready_s": round(ready_s, 1),
        "received_fps_mean": round(sum(received.values()) / len(received), 1),
        "looks_per_s_mean": round(sum(looks.values()) / len(looks), 1) if looks else None,
        "looks_per_s_min": round(min(looks.values()), 1) if looks else None,
        "fps_min": round(min(others), 1),
        "fps_mean": round(sum(others) / len(others), 1),
        "fps_followed": round(fps["grid-0"], 1) if follow else None,
        "steps_per_s": round(steps / elapsed, 2),
        "ui_stall_max_ms": round(max(delays) * 1000, 1) if delays else None,
        "ui_stall_p99_ms": round(delays[int(len(delays) * 0.99)] * 1000, 1) if delays else None,
        "load": f"{load0:.1f}-{load1:.1f}",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sandboxes", default="4,8", help="comma-separated sandbox counts")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--code", action="append", default=[], help="studio checkout to measure (repeatable)")
    ap.add_argument("--follow", action="store_true", help="also measure with one sandbox followed large")
    ap.add_argument("--one", default="", help=argparse.SUPPRESS)  # internal: 'n,follow' in this process
    args = ap.parse_args()
    if args.one:
        n, follow = args.one.split(",")
        print(json.dumps(measure(int(n), args.seconds, follow == "1")), flush=True)
        return 0
    codes = [Path(c).resolve() for c in (args.code or [str(ROOT)])]
    rows = []
    for n in [int(x) for x in args.sandboxes.split(",")]:
        for follow in [False, True] if args.follow else [False]:
            for code in codes:
                env = {**os.environ, "PYTHONPATH": str(code), "QT_QPA_PLATFORM": "offscreen"}
                proc = subprocess.run(
                    [sys.executable, __file__, "--one", f"{n},{int(follow)}", "--seconds", str(args.seconds)],
                    cwd=code,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                if proc.returncode != 0:
                    print(f"{code} n={n}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
                    continue
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                row["code"] = str(code)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return 0 if rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
