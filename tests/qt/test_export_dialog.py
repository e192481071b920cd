"""The Export dialog offscreen: preview rows appear, the export runs through the worker and writes files, the
menu action opens it, errors are shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_export_rows import build_export_workspace


@pytest.fixture(scope="module")
def export_ws(tmp_path_factory: Any) -> Path:
    path = tmp_path_factory.mktemp("exportgui") / "ws"
    build_export_workspace(path)
    return path


def test_preview_and_export_through_the_worker(qtbot: Any, pool: Any, export_ws: Path, tmp_path: Path) -> None:
    from studio.gui.qt_export import ExportDialog

    dlg = ExportDialog(pool, export_ws)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.action_space_box.currentData() == "auto"  # as the CLI: the layout the actor acts with
    qtbot.waitUntil(lambda: '\\"action\\": ' in dlg.preview.toPlainText(), timeout=20000)  # element replies
    first = json.loads(dlg.preview.toPlainText().split("\n\n{")[0])
    assert first["split"] in ("train", "validation", "test") and first["messages"][0]["role"] == "user"
    dlg.action_space_box.setCurrentIndex(dlg.action_space_box.findData("pyautogui"))
    qtbot.waitUntil(lambda: "REASON: " in dlg.preview.toPlainText(), timeout=20000)

    dlg.format_box.setCurrentIndex(dlg.format_box.findData("openai"))
    dlg.observation_box.setCurrentIndex(dlg.observation_box.findData("both"))
    qtbot.waitUntil(lambda: "data:image/png;base64," in dlg.preview.toPlainText(), timeout=20000)

    out = tmp_path / "gui-export"
    dlg.out_edit.setText(str(out))
    dlg.start_export()
    assert dlg.running and not dlg.export_button.isEnabled()  # returned at once: the work is on the worker
    qtbot.waitUntil(lambda: not dlg.running, timeout=60000)
    assert dlg.summary is not None and dlg.summary.total_rows > 0
    assert (out / "train.jsonl").is_file() and (out / "README.md").is_file()
    assert dlg.progress.value() == dlg.progress.maximum()
    assert "wrote" in dlg.status.text()

    dlg.start_export()  # the directory now holds an export: refused without "replace"
    qtbot.waitUntil(lambda: not dlg.running, timeout=60000)
    assert "--overwrite" in dlg.status.text()
    dlg.overwrite_check.setChecked(True)
    dlg.start_export()
    qtbot.waitUntil(lambda: not dlg.running, timeout=60000)
    assert "wrote" in dlg.status.text()


def test_bad_options_are_shown_not_raised(qtbot: Any, pool: Any, export_ws: Path) -> None:
    from studio.gui.qt_export import ExportDialog

    dlg = ExportDialog(pool, export_ws)
    qtbot.addWidget(dlg)
    dlg.split_edit.setText("0.9,0.9")
    qtbot.waitUntil(lambda: "cannot preview" in dlg.preview.toPlainText(), timeout=5000)
    dlg.start_export()
    assert "fix the options" in dlg.status.text() and not dlg.running


def test_main_window_menu_opens_the_dialog(qtbot: Any, export_ws: Path) -> None:
    from studio.gui.qt_export import ExportDialog
    from studio.gui.qt_main_window import MainWindow

    w = MainWindow(export_ws, poll_ms=200)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.counts is not None, timeout=20000)
    w.export_action.trigger()
    dlg = w.export_dialog
    assert isinstance(dlg, ExportDialog) and dlg.isVisible()
    qtbot.waitUntil(lambda: '"messages"' in dlg.preview.toPlainText(), timeout=20000)
    dlg.close()
    w.timer.stop()
    w.pool.wait(10000)


def test_model_family_conventions_reach_the_preview(qtbot: Any, pool: Any, export_ws: Path) -> None:
    from studio.gui.qt_export import ExportDialog

    dlg = ExportDialog(pool, export_ws)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.format_box.setCurrentIndex(dlg.format_box.findData("ms-swift"))
    dlg.preset_box.setCurrentIndex(dlg.preset_box.findData("ui-tars"))
    qtbot.waitUntil(lambda: "Action: click(start_box=" in dlg.preview.toPlainText(), timeout=20000)
    opts = dlg.options()
    assert (opts.format, opts.coords, opts.action_syntax) == ("ms-swift", "0-1000", "uitars")
    dlg.coords_box.setCurrentIndex(dlg.coords_box.findData("resized"))
    dlg.max_pixels_spin.setValue(28 * 28 * 4)
    assert (dlg.options().coords, dlg.options().max_pixels) == ("resized", 3136)
    dlg.format_box.setCurrentIndex(dlg.format_box.findData("adp"))
    qtbot.waitUntil(lambda: '"class_": "api_action"' in dlg.preview.toPlainText(), timeout=20000)
