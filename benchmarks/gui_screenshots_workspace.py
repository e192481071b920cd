"""Screenshots of the GUI on a real workspace (e.g. the one `studio demo` made), on a real X display.

Unlike ``gui_screenshots.py`` (which adds illustrative votes to a fixture), everything shown here was produced by
the pipeline: tasks from the task writer, rollouts in sandboxes, examples from backward construction and the
committee's own verdicts. Saves ``assets/screenshots/real_<view>.png``.

    .venv/bin/python benchmarks/gui_screenshots_workspace.py WORKSPACE [--out assets/screenshots]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gui_screenshots import _wait, open_window, shooter  # noqa: E402 - the same helpers as the fixture screenshots


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace")
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ws_path = Path(tempfile.mkdtemp(prefix="studio-real-shots-")) / "ws"
    shutil.copytree(args.workspace, ws_path, ignore=shutil.ignore_patterns("write.lock"))

    from envs.sandbox import Sandbox

    display = Sandbox(width=1440, height=900, name="gui-real").start()
    os.environ["DISPLAY"] = display.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        app, win = open_window(ws_path, 300)
        shot = shooter(app, display, out, prefix="real_")

        ov = win.show_view("overview")
        ov.load()
        shot("overview")
        tv = win.show_view("trajectories")
        _wait(app, lambda: tv.model.loaded >= 1, 300, "trajectories")
        steps = [int(tv.model.data(tv.model.index(r, 5)) or 0) for r in range(tv.model.rowCount())]
        tv.table.selectRow(steps.index(max(steps)))  # the longest trajectory shows the most
        _wait(app, lambda: tv.panel.filmstrip.count() > 0, 300, "steps")
        tv.panel.filmstrip.setCurrentRow(min(1, tv.panel.filmstrip.count() - 1))
        shot("trajectories")
        ex = win.show_view("examples")
        _wait(app, lambda: ex.model.loaded >= 1, 300, "examples")
        ex.table.selectRow(0)
        _wait(app, lambda: ex.verdicts.rowCount() > 0, 300, "verdicts")
        shot("examples")
        win.close()
    finally:
        display.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
