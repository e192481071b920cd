"""Screenshots of every GUI view, taken on a real X display from a real workspace (e.g. a `make demo` one).

The workspace is copied first (the original is never written). The GUI gets its own sandbox display (Xvfb +
openbox, ``QT_QPA_PLATFORM=xcb``) at 1440x900; the Live view runs four real explorer rollouts, each app in its
own sandbox, recorded into the copy. Everything else shown was produced by the pipeline that made the
workspace: tasks from the task writer, trajectories, examples from backward construction, the committee's
verdicts, the ledger; the curation views (trim and make, before/after, all tasks, a pipeline's progress) are
shot by ``gui_screenshots_review.shoot_review_views`` on the same window. Screenshots are grabbed from the GUI's
X display with mss (what a person sees) into ``assets/screenshots/<view>.png``.

    .venv/bin/python benchmarks/gui_screenshots.py WORKSPACE [--out assets/screenshots] [--theme light|dark]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The apps of the Live screenshot's four sandboxes.
LIVE_APPS = ("galculator", "mousepad", "gnumeric", "xterm")


def _wait(app: Any, cond: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        app.processEvents()
        time.sleep(0.02)
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")


def _pump(app: Any, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
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


def shooter(app: Any, display: Any, out: Path, settle: float = 1.0) -> Callable[[str], None]:
    """``shot(name)``: let the GUI settle, grab the X display with mss and save ``out/<name>.png``."""

    def shot(name: str) -> None:
        _pump(app, settle)
        path = out / f"{name}.png"
        display.grab().to_image().save(path)
        print(f"saved {path}")

    return shot


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace", help="a real workspace (copied; the original is not written)")
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    ap.add_argument("--theme", choices=("light", "dark"), default="light")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ws_path = Path(tempfile.mkdtemp(prefix="studio-shots-")) / "ws"
    shutil.copytree(args.workspace, ws_path, ignore=shutil.ignore_patterns("write.lock", "run-progress.json"))
    from studio.workspace import Workspace

    Workspace.open(ws_path).close()  # migrate the copy to this studio's schema first
    os.environ["STUDIO_THEME"] = args.theme

    from envs.sandbox import Sandbox

    gui_display = Sandbox(width=1440, height=900, name="gui").start()
    os.environ["DISPLAY"] = gui_display.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        return _run(gui_display, ws_path, out)
    finally:
        gui_display.close()


def _live(app: Any, win: Any, shot: Callable[[str], None]) -> None:
    from studio.gui.live_run import explore_task
    from studio.pipeline.rollout.episode import RolloutJob

    live = win.show_view("live")
    jobs = [
        RolloutJob(f"shot-{app_name}", explore_task(app_name), app_name, {"kind": "explorer", "seed": 11 + i}, 12)
        for i, app_name in enumerate(LIVE_APPS)
    ]
    live.start(jobs)
    _wait(app, lambda: all(t.step >= 3 and t.frames >= 1 for t in live.tiles.values()), 300, "live steps")
    shot("live")
    first = jobs[0].trajectory_id
    live.follow(first)
    big = live.tiles[first]
    _wait(app, lambda: big.image.width() > 800, 30, "the followed sandbox's large frames")
    shot("live_follow")
    live.follow(None)
    finished: list[object] = []
    live.run_finished.connect(finished.append)
    live.stop()
    _wait(app, lambda: bool(finished), 180, "the rollouts to stop")


def _trajectories(app: Any, win: Any, shot: Callable[[str], None]) -> None:
    tv = win.show_view("trajectories")
    _wait(app, lambda: tv.model.loaded >= 1, 30, "trajectories")
    rows = [r for r in range(tv.model.loaded) if not tv.model.row(r).id.startswith("shot-")]
    row = max(rows or [0], key=lambda r: tv.model.row(r).n_steps)  # the demo's longest recorded run
    tv.table.selectRow(row)
    _wait(app, lambda: tv.panel.filmstrip.count() > 0 and not tv.panel.screen_view.image.isNull(), 30, "steps")
    tv.panel.filmstrip.setCurrentRow(min(1, tv.panel.filmstrip.count() - 1))
    _pump(app, 1.0)
    shot("trajectories")
    tv.panel.detail.setCurrentIndex(1)
    shot("trajectories_a11y")
    tv.panel.detail.setCurrentIndex(0)  # the Step tab: REASON, the action and what it changed on the screen
    tv.panel.filmstrip.setCurrentRow(tv.panel.filmstrip.count() // 2)
    shot("trajectories_changes")


def _examples(app: Any, win: Any, shot: Callable[[str], None]) -> None:
    ex = win.show_view("examples")
    _pump(app, 2.0)  # the view opens on the needs-review queue (empty when the committee agreed on everything)
    ex.status_box.setCurrentIndex(ex.status_box.findData(""))  # every example
    _wait(app, lambda: ex.model.loaded >= 1, 60, "examples")
    ex.table.selectRow(0)
    _wait(app, lambda: ex.verdicts.rowCount() > 0 and ex.panel.filmstrip.count() > 0, 30, "verdicts")
    shot("examples")
    ex.table.setFocus()
    ex.move_selection(1)  # J: the next example, as a reviewer goes through them
    _wait(app, lambda: ex.verdicts.rowCount() > 0 and ex.panel.filmstrip.count() > 0, 30, "verdicts")
    shot("review_workbench")


def _run(gui_display: object, ws_path: Path, out: Path) -> int:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gui_screenshots_review import longest_trajectory, shoot_review_views

    demo_run = longest_trajectory(ws_path)  # before the Live view adds its own runs
    app, win = open_window(ws_path, 60)
    shot = shooter(app, gui_display, out, settle=0.8)

    ov = win.show_view("overview")
    ov.load()
    shot("overview")
    _live(app, win, shot)
    _pump(app, 2.5)  # the poll notices the new trajectories
    docs = win.show_view("docs")
    _wait(app, lambda: docs.model.loaded > 0, 30, "documents")
    docs.table.selectRow(0)
    shot("documents_tasks")
    _trajectories(app, win, shot)
    _examples(app, win, shot)
    rv = win.show_view("retrieval")
    ex_model = win.views["examples"].model
    query = ex_model.row(0).instruction if ex_model.loaded else "open a menu"
    rv.query.setText(" ".join(query.split()[:6]))
    rv.run_query()
    _wait(app, lambda: rv.results.rowCount() > 0, 60, "search results")
    shot("retrieval")
    st = win.show_view("settings")
    _wait(app, lambda: st.cfg is not None, 20, "settings")
    shot("settings")
    dlg = win.open_export()
    dlg.format_box.setCurrentIndex(dlg.format_box.findData("ms-swift"))
    dlg.preset_box.setCurrentIndex(dlg.preset_box.findData("ui-tars"))
    _pump(app, 3.0)  # the preview is made on a worker
    shot("export_conventions")
    dlg.close()
    shoot_review_views(app, win, shot, ws_path, demo_run)  # trim, made example, before/after, tasks, progress
    win.pool.report(RuntimeError("example: the judge model timed out"), context="demo notification")
    win.show_view("overview")
    shot("error_bar")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
