"""Review workbench measurements for BENCHMARKS.md (Qt offscreen, a real workspace on disk).

Builds a workspace with N examples (default 10k) voted on by two judges who disagree on about a quarter of them
(the review queue), opens the main window on the Examples view, and reviews ``--reviews`` examples (default 100)
with the keyboard the way a person does: ``A`` (accept) or ``R`` (reject), each moving on to the next example.

Reports:
- UI latency per review action: time for one key press to be handled on the UI thread (the row's status changes
  and the selection moves on at once; saving happens on a worker), p50 / p95 / max;
- time to review all of them: from the first key press until every review is in the workspace;
- undo latency: Ctrl+Z until the reviews of the last action are gone from the workspace;
- trim and make: Make example pressed on a selected span until the example is in the workspace (and how long
  the click's handler held the UI thread).

The trajectory has four steps with 1280x800 screenshots, so every example shown also loads its screens before and
after and boxes what changed (on a worker), as the workbench does.

    .venv/bin/python benchmarks/bench_review.py [--examples 10000] [--reviews 100] [--workspace DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _screen(i: int) -> bytes:
    """A 1280x800 screenshot whose display region changes with ``i`` (what the before/after comparison diffs)."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1280, 800), (236, 236, 236))
    draw = ImageDraw.Draw(img)
    draw.rectangle((200, 100, 1080, 700), fill=(250, 250, 250), outline=(90, 90, 90))
    draw.rectangle((240, 140, 1040, 220), fill=(255, 255, 255), outline=(60, 60, 60))
    draw.text((980 - 20 * i, 165), str(7 * (i + 1)), fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def build(path: Path, n: int) -> None:
    from studio.workspace import Example, Step, Trajectory, Verdict, Workspace

    ws = Workspace.init(path)
    try:
        t = Trajectory(instruction="bench", app="galculator", policy="explorer")
        ws.start_trajectory(t)
        for i in range(4):  # real screenshots: the workbench shows each example's steps before and after
            ws.add_step(
                Step(trajectory_id=t.id, index=i, action_code=f"pyautogui.click({300 + 60 * i}, 400)"),
                screenshot=_screen(i),
            )
        ws.finish_trajectory(t.id, status="done", outcome="max_steps")
        for start in range(0, n, 2000):
            exs = [
                Example(
                    trajectory_id=t.id,
                    start=0,
                    end=2,
                    instruction=f"Compute {i} plus {i % 7} in galculator",
                    app="galculator",
                    kind="instruction" if i % 3 else "replicate",
                )
                for i in range(start, min(n, start + 2000))
            ]
            ws.add_examples(exs)
            verdicts = []
            for i, e in enumerate(exs):
                for judge, vote in (("judge-a", True), ("judge-b", i % 4 != 0)):  # every 4th: disputed
                    for crit in ("aligned", "coherent", "natural", "reasonable"):
                        verdicts.append(Verdict(example_id=e.id, judge=judge, criterion=crit, vote=vote))
            ws.add_verdicts(verdicts)
        ws.optimize()
    finally:
        ws.close()


def wait(app: object, cond: object, timeout: float = 120.0, what: str = "") -> None:
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        QCoreApplication.processEvents()
        time.sleep(0.002)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the GUI did not get there in {timeout} s: {what}")


def count_reviews(path: Path) -> int:
    from studio.workspace import Workspace

    with Workspace.open(path, readonly=True) as ws:
        return ws.count("reviews")


def count_examples(path: Path) -> int:
    from studio.workspace import Workspace

    with Workspace.open(path, readonly=True) as ws:
        return ws.count("examples")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--reviews", type=int, default=100)
    ap.add_argument("--workspace", type=Path, default=None)
    args = ap.parse_args()
    path = args.workspace or Path(tempfile.mkdtemp()) / "ws"
    t = time.perf_counter()
    if not (path / "studio.toml").exists():
        build(path, args.examples)
    build_s = time.perf_counter() - t

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from studio.gui.qt_app import create_app
    from studio.gui.qt_main_window import MainWindow

    app = create_app()
    win = MainWindow(path, poll_ms=1000)
    win.show()
    view = win.show_view("examples")
    wait(app, lambda: view.filter.queue and view.model.loaded > 0, 300, "the queue's first page")
    queue = view.model.total
    view.table.setFocus()
    QTest.keyClick(view.table, Qt.Key.Key_J)
    wait(app, lambda: view.current is not None, 60, "the first example selected")
    latencies = []
    t0 = time.perf_counter()
    for i in range(args.reviews):
        key = Qt.Key.Key_R if i % 5 == 4 else Qt.Key.Key_A
        k0 = time.perf_counter()
        QTest.keyClick(view.table, key)
        latencies.append(time.perf_counter() - k0)
        wait(app, lambda: view.model.loaded > view.table.currentIndex().row(), 60, "the next page")
    wait(app, lambda: len(view.undo_stack) >= args.reviews, 600, "every review saved")
    review_s = time.perf_counter() - t0
    stored = count_reviews(path)
    u0 = time.perf_counter()
    QTest.keyClick(view.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait(app, lambda: count_reviews(path) == stored - 1, 120, "the undo")
    undo_s = time.perf_counter() - u0
    # trim and make: a span of the trajectory made into an example by a person
    tv = win.show_view("trajectories")
    wait(app, lambda: tv.model.loaded == 1, 60, "the trajectory")
    tv.table.selectRow(0)
    wait(app, lambda: tv.panel.filmstrip.count() >= 4, 60, "its steps")
    tv.trim.select_span(1, 2)
    tv.trim.instruction.setText("Press two keys of the calculator")
    examples = count_examples(path)
    m0 = time.perf_counter()
    tv.trim.make_button.click()
    make_ui_ms = (time.perf_counter() - m0) * 1000
    wait(app, lambda: tv.trim.status.text().startswith("made "), 120, "the made example")
    make_s = time.perf_counter() - m0
    assert count_examples(path) == examples + 1
    win.timer.stop()
    win.pool.wait(10000)
    ms = sorted(x * 1000 for x in latencies)
    out = {
        "examples": args.examples,
        "queue": queue,
        "reviews": args.reviews,
        "stored": stored,
        "build_s": round(build_s, 1),
        "ui_ms_p50": round(statistics.median(ms), 2),
        "ui_ms_p95": round(ms[int(0.95 * (len(ms) - 1))], 2),
        "ui_ms_max": round(ms[-1], 2),
        "review_all_s": round(review_s, 2),
        "per_review_s": round(review_s / args.reviews, 3),
        "undo_s": round(undo_s, 2),
        "make_ui_ms": round(make_ui_ms, 2),
        "make_s": round(make_s, 2),
        "load": os.getloadavg()[0],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
