"""Run the GUI on a real X server against a real running rollout and save a screenshot of every view.

The GUI gets its own sandbox display (Xvfb + openbox, ``QT_QPA_PLATFORM=xcb``); the Live view starts two explorer
rollouts on galculator (each in its own sandbox) that are written to a fresh workspace, which also holds a few
documents, tasks, examples and judge verdicts written through the workspace API (examples point at the real
trajectory; their votes are demo data, not a committee run). Screenshots are taken of the GUI's X display with
mss, i.e. what a person would see, into ``assets/screenshots/<view>.png``.

    .venv/bin/python benchmarks/gui_screenshots.py [--out assets/screenshots] [--keep WORKSPACE_DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _wait(app: object, cond: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")


def _pump(app: object, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def open_window(ws_path: Path, timeout: float) -> tuple[Any, Any]:
    """The QApplication and the main window on ``ws_path`` at 1440x900, once the workspace's counts are shown."""
    from studio.gui.qt_app import create_app
    from studio.gui.qt_main_window import MainWindow

    app = create_app()
    win = MainWindow(ws_path)
    win.setGeometry(0, 0, 1440, 900)
    win.show()
    _wait(app, lambda: win.counts is not None, timeout, "the workspace to open")
    return app, win


def shooter(app: Any, display: Any, out: Path, prefix: str = "", settle: float = 1.0) -> Callable[[str], None]:
    """``shot(name)``: let the GUI settle, grab the X display with mss and save ``out/<prefix><name>.png``."""

    def shot(name: str) -> None:
        _pump(app, settle)
        path = out / f"{prefix}{name}.png"
        display.grab().to_image().save(path)
        print(f"saved {path}")

    return shot


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    ap.add_argument("--keep", default="", help="workspace directory to create and keep (default: temporary)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from envs.sandbox import Sandbox

    gui_display = Sandbox(width=1440, height=900, name="gui").start()
    os.environ["DISPLAY"] = gui_display.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    ws_path = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="studio-shots-")) / "ws"
    try:
        return _run(gui_display, ws_path, out)
    finally:
        gui_display.close()


def _run(gui_display: object, ws_path: Path, out: Path) -> int:
    from tests.qt.conftest import build_workspace

    build_workspace(ws_path)

    from studio.gui.live_run import explore_task
    from studio.pipeline.rollout.episode import RolloutJob

    app, win = open_window(ws_path, 30)
    shot = shooter(app, gui_display, out, settle=0.8)

    live = win.show_view("live")
    task = explore_task("galculator")
    jobs = [
        RolloutJob(f"shot-{i}", task, "galculator", {"kind": "explorer", "seed": 11 + i}, 10, 1024, 700)
        for i in range(2)
    ]
    live.start(jobs)
    _wait(app, lambda: all(t.step >= 3 and t.frames > 10 for t in live.tiles.values()), 120, "live steps")
    shot("live")
    live.toggle_enlarged("shot-0")
    shot("live_enlarged")
    live.toggle_enlarged("shot-0")
    finished: list[object] = []
    live.run_finished.connect(finished.append)
    _wait(app, lambda: bool(finished), 180, "the rollouts to finish")

    # demo examples + votes on the real trajectory (written by a writer, as a pipeline would)
    from studio.workspace import Example, Verdict, Workspace

    with Workspace.open(ws_path) as ws:
        n = len(ws.steps_of("shot-0"))
        exs = [
            Example(
                trajectory_id="shot-0",
                start=i,
                end=min(n, i + 2),
                kind=kind,
                app="galculator",
                instruction=text,
            )
            for i, (kind, text) in enumerate(
                [
                    ("instruction", "Open the calculator's menu and close it again"),
                    ("replicate", "Replicate the following: click a digit, then '+'"),
                    ("instruction", "Enter a number in galculator"),
                ]
            )
        ]
        ws.add_examples(exs)
        ws.add_verdicts(
            [
                Verdict(
                    example_id=e.id,
                    judge=j,
                    criterion=c,
                    vote=(j == "judge-a" or k != 2),
                    rationale=f"{j}: the span {'does' if (j == 'judge-a' or k != 2) else 'does not'} "
                    f"match the instruction ({c})",
                )
                for k, e in enumerate(exs)
                for j in ("judge-a", "judge-b")
                for c in ("aligned", "coherent", "natural", "reasonable")
            ]
        )
    _pump(app, 2.5)  # the poll notices the new rows

    ov = win.show_view("overview")
    ov.load()
    shot("overview")
    docs = win.show_view("docs")
    _wait(app, lambda: docs.model.loaded > 0, 20, "documents")
    docs.table.selectRow(0)
    shot("documents_tasks")
    tv = win.show_view("trajectories")
    _wait(app, lambda: tv.model.loaded >= 4, 20, "trajectories")
    row = next(r for r in range(tv.model.loaded) if tv.model.row(r).id == "shot-0")
    tv.table.selectRow(row)
    _wait(app, lambda: tv.panel.filmstrip.count() > 0 and not tv.panel.screen.image.isNull(), 20, "steps")
    tv.panel.filmstrip.setCurrentRow(min(2, tv.panel.filmstrip.count() - 1))
    _pump(app, 1.0)
    shot("trajectories")
    tv.panel.detail.setCurrentIndex(1)
    shot("trajectories_a11y")
    ex = win.show_view("examples")
    _wait(app, lambda: ex.model.loaded >= 7, 20, "examples")
    row = next(
        r
        for r in range(ex.model.loaded)
        if ex.model.row(r).trajectory_id == "shot-0" and ex.model.row(r).status == "disputed"
    )
    ex.table.selectRow(row)
    _wait(app, lambda: ex.verdicts.rowCount() == 8 and ex.panel.filmstrip.count() > 0, 20, "verdicts")
    shot("examples")
    rv = win.show_view("retrieval")
    rv.query.setText("press button")
    rv.run_query()
    _wait(app, lambda: rv.results.rowCount() > 0, 30, "search results")
    shot("retrieval")
    st = win.show_view("settings")
    _wait(app, lambda: st.cfg is not None, 10, "settings")
    shot("settings")
    win.pool.report(RuntimeError("example: the judge model timed out"), context="demo notification")
    win.show_view("overview")
    shot("error_bar")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
