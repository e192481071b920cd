"""Screenshots of the curation views of #19, on a real X display from a real workspace (e.g. a `make demo` one):

* ``trim.png``: the Trajectories view with a span selected on the filmstrip and an instruction typed (trim and
  make), just before the example is made;
* ``examples_made.png``: that example in Examples & verdicts, made by a person, its span's screens before and
  after;
* ``compare.png``: a step's screen before and after its action, the change boxed;
* ``tasks.png``: every task with its check status, runs and score (an imported task added to the copy), Run it;
* ``overview_run.png``: the Overview while a pipeline runs (stage progress from ``run-progress.json``, written
  here by a :class:`~studio.pipeline.progress.ProgressFile` as ``studio run`` writes it).

The workspace is copied first (the original is never written). :func:`shoot_review_views` can also be called by
``gui_screenshots.py`` on its open window.

    .venv/bin/python benchmarks/gui_screenshots_review.py WORKSPACE [--out assets/screenshots]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


#: What the trim shot types for steps 1-2 (true of the demo run the README's shots come from: it pressed 9, then 1).
INSTRUCTION = "Enter 91 with the calculator's keypad"


def shoot_review_views(
    app: Any,
    win: Any,
    shot: Callable[[str], None],
    ws_path: Path,
    trajectory_id: str,
    instruction: str = INSTRUCTION,
) -> None:
    """Take the screenshots above on the open main window ``win``."""
    from gui_screenshots import _pump, _wait

    from studio.pipeline.progress import ProgressFile
    from studio.workspace import Task, Workspace

    with Workspace.open(ws_path) as ws:
        ws.add_tasks(
            [
                Task(
                    instruction="Compute 12 x 7 and leave the result on the display",
                    app="galculator",
                    origin="imported",
                    check_status="unverified",
                    check_reason="the no-op run already scored 1.0",
                )
            ]
        )
    tv = win.show_view("trajectories")
    _wait(app, lambda: tv.model.loaded >= 1, 20, "trajectories")
    tv.model.refresh()
    _wait(app, lambda: any(tv.model.row(r).id == trajectory_id for r in range(tv.model.loaded)), 20, "the run")
    row = next(r for r in range(tv.model.loaded) if tv.model.row(r).id == trajectory_id)
    tv.table.selectRow(row)
    _wait(app, lambda: tv.panel.filmstrip.count() >= 3, 20, "steps")
    n = tv.panel.filmstrip.count()
    tv.panel.show_compare(False)
    tv.trim.select_span(1, min(2, n - 2))  # a few steps, never the final screen
    tv.trim.author.setText("ada")
    tv.trim.instruction.setText(instruction)
    _pump(app, 1.0)
    shot("trim")
    tv.trim.make_button.click()
    _wait(app, lambda: tv.trim.status.text().startswith("made "), 60, "the made example")
    ex = win.show_view("examples")
    ex.status_box.setCurrentIndex(ex.status_box.findData(""))
    _wait(app, lambda: any(ex.model.row(r).origin == "human" for r in range(ex.model.loaded)), 30, "it listed")
    ex.table.selectRow(next(r for r in range(ex.model.loaded) if ex.model.row(r).origin == "human"))
    _wait(app, lambda: not ex.panel.compare.after.image.isNull(), 30, "its screens before and after")
    shot("examples_made")
    tv.panel.show_compare(True)
    tv.panel.filmstrip.setCurrentRow(min(2, n - 2))
    _wait(app, lambda: not tv.panel.compare.after.image.isNull(), 20, "the screens before and after")
    shot("compare")
    tv.panel.show_compare(False)

    docs = win.show_view("docs")
    docs.tabs.setCurrentWidget(docs.all_tasks)
    docs.all_tasks.reload()
    _wait(app, lambda: docs.all_tasks.model.loaded >= 2, 20, "tasks")
    docs.all_tasks.table.selectRow(0)
    shot("tasks")
    docs.tabs.setCurrentIndex(0)

    progress = ProgressFile(ws_path)
    for stage, total in (("docs", 2), ("tasks", 2), ("verify", 3)):
        progress.stage_started(stage, total)
        progress.advanced(stage, total)
        progress.stage_finished(SimpleNamespace(stage=stage, done=total, skipped=0, failed=0))
    progress.stage_started("rollouts", 6)
    progress.advanced("rollouts", 4, detail="done after 8 steps")
    progress.flush()
    win.show_view("overview")
    _pump(app, 2.5)
    shot("overview_run")
    progress.close()


def longest_trajectory(ws_path: Path) -> str:
    """The id of the trajectory with the most steps (the trim bar needs a few)."""
    from studio.workspace import Workspace

    with Workspace.open(ws_path, readonly=True) as ws:
        rows = ws.columns("trajectories", ["id", "n_steps"])
    return str(max(rows, key=lambda r: r["n_steps"] or 0)["id"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace", help="a real workspace (copied; the original is not written)")
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ws_path = Path(tempfile.mkdtemp(prefix="studio-review-shots-")) / "ws"
    shutil.copytree(args.workspace, ws_path, ignore=shutil.ignore_patterns("write.lock", "run-progress.json"))
    from studio.workspace import Workspace

    Workspace.open(ws_path).close()  # migrate the copy to this studio's schema first
    trajectory = longest_trajectory(ws_path)

    from gui_screenshots import open_window, shooter

    from envs.sandbox import Sandbox

    display = Sandbox(width=1440, height=900, name="gui-review").start()
    os.environ["DISPLAY"] = display.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        app, win = open_window(ws_path, 60)
        shoot_review_views(app, win, shooter(app, display, out), ws_path, trajectory)
        win.close()
    finally:
        display.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
