"""Model- and task-file-written text is shown as text, never interpreted as markup.

The model is hostile and task files come from strangers: an instruction, a check reason, a rationale or a
ledger's model name may hold rich console markup (``[link=file:///etc/passwd]``, ``[/]`` raises
``MarkupError``), terminal escapes (OSC 52 writes the clipboard), or HTML that Qt renders in tooltips and
labels (``<img src="file:///...">`` makes the host GUI read a host file). The CLI prints such text through
``studio.commands.plain``; the GUI through ``plain_label`` / ``plain_tooltip`` (``studio.gui.qt_common``) or
``html.escape`` in HTML it builds. File reads are seen through the canary's access time (relatime: the first
read after a change updates it); a control shows Qt really reads the file when text is taken as HTML.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

RICH = "[link=file:///etc/passwd]x[/link] [bold red]loud[/] [/]"
OSC52 = "\x1b]52;c;aGk=\x07"  # would write "hi" to the user's clipboard


class ReadProbe:
    """A PNG canary whose next read is visible: its access time is set before its modification time."""

    def __init__(self, path: Path) -> None:
        from PIL import Image

        Image.new("RGB", (4, 4), (255, 0, 0)).save(path)
        self.path = path
        self.arm()

    def arm(self) -> None:
        st = self.path.stat()
        os.utime(self.path, ns=(st.st_mtime_ns - 10**10, st.st_mtime_ns))
        self.atime = self.path.stat().st_atime_ns

    def was_read(self) -> bool:
        return self.path.stat().st_atime_ns != self.atime

    def html(self) -> str:
        return f'<img src="file://{self.path}"> <b>bold</b>'


def _run(args: list[str]) -> Any:
    from studio.cli import app

    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, (result.output, result.exception)
    assert "\x1b" not in result.output
    return result


# ---------------------------------------------------------------- CLI


def test_tasks_list_prints_markup_and_escapes_verbatim(tmp_path: Path) -> None:
    from studio.workspace import Task, Workspace

    reason = f"[/] {OSC52} [red]z"
    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_tasks([Task(id="t-[bold]1[/]", instruction=RICH, app="galculator", check_reason=reason)])
    out = _run(["tasks", "list", "-w", str(tmp_path / "ws")]).output
    assert RICH in out  # printed verbatim: no link, no style, no MarkupError
    assert "[/] ?]52;c;aGk=? [red]z" in out  # the escape shown as '?', never sent to the terminal
    assert "t-[bold]1[/]" in out


def test_costs_and_workspace_info_print_names_verbatim(tmp_path: Path) -> None:
    from studio.workspace import Workspace

    path = tmp_path / "ws[bold]"
    with Workspace.init(path) as ws:
        ws.add_ledger_records([{"stage": "rollout[/]", "role": "actor", "model": f"evil/{RICH}", "cost": 0.0}])
    costs = _run(["costs", str(path)]).output
    assert "rollout[/]" in costs and f"evil/{RICH}" in costs
    assert "ws[bold]" in _run(["info", str(path)]).output


def test_task_validate_shows_a_task_files_escapes_as_question_marks(tmp_path: Path) -> None:
    import json

    from studio.cli import app

    task = {
        "id": "x",
        "instruction": "hi",
        "config": [{"type": f"evil{OSC52}", "parameters": {}}],
        "evaluator": {"func": "bogus\x1b[31m"},
    }
    (tmp_path / "t.json").write_text(json.dumps(task), encoding="utf-8")
    result = CliRunner().invoke(app, ["task", "validate", str(tmp_path / "t.json")])
    assert result.exit_code == 1 and "\x1b" not in result.output and "\x07" not in result.output
    assert "evil?]52;c;aGk=?" in result.output and "bogus?[31m" in result.output


def test_pipeline_summary_and_progress_show_notes_verbatim(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from studio.commands import pipeline
    from studio.commands.pipeline import RichObserver

    class _Ws:
        path = "/nonexistent"

        def counts(self) -> dict[str, int]:
            return {"tasks": 1}

    monkeypatch.setenv("COLUMNS", "300")
    note = f"cluster: node refused: {RICH}{OSC52}"
    summary = SimpleNamespace(stage="rollouts", done=1, skipped=0, failed=1, elapsed_s=1.0, notes=[note])
    pipeline._print_summary(_Ws(), [summary], stopped=False)
    out = capsys.readouterr().out
    assert f"cluster: node refused: {RICH}?]52;c;aGk=?" in out and "\x1b" not in out

    progress = pipeline._progress()  # the columns `studio run` shows
    observer = RichObserver(progress)
    observer.stage_started("tasks", 2)
    observer.advanced("tasks", detail=f"[/]{OSC52}")  # a stage's detail (an app name, a status)
    console = Console(width=300, file=io.StringIO(), record=True)
    console.print(progress.get_renderable())
    assert "[/]?]52;c;aGk=?" in console.export_text()


# ---------------------------------------------------------------- GUI


@pytest.fixture
def probes(tmp_path: Path, qtbot: Any) -> tuple[ReadProbe, ReadProbe]:
    """A canary for the test and a control canary Qt is made to read (skips where reads leave no trace)."""
    from PySide6.QtWidgets import QLabel

    control = ReadProbe(tmp_path / "control.png")
    label = QLabel(control.html())  # Qt's default: text that looks like HTML is rendered, its images loaded
    qtbot.addWidget(label)
    label.grab()
    if not control.was_read():
        pytest.skip("this file system does not record reads (noatime): cannot observe file access")
    return ReadProbe(tmp_path / "canary.png"), control


def _show_tooltip(qtbot: Any, text: str) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QToolTip

    QToolTip.showText(QPoint(20, 20), text)
    qtbot.waitUntil(QToolTip.isVisible, timeout=10000)
    QToolTip.hideText()


def test_helpers_show_html_as_text_and_read_no_file(qtbot: Any, probes: tuple[ReadProbe, ReadProbe]) -> None:
    from PySide6.QtCore import Qt

    from studio.gui.qt_common import plain_label, plain_tooltip
    from tests.qt.conftest import shown_text

    canary, control = probes
    hostile = canary.html()
    label = plain_label(hostile)
    qtbot.addWidget(label)
    label.grab()
    assert label.textFormat() == Qt.TextFormat.PlainText and label.text() == hostile
    tip = plain_tooltip(hostile)
    assert "<img" not in tip and "&lt;img" in tip and shown_text(tip) == hostile
    _show_tooltip(qtbot, tip)
    assert not canary.was_read()
    control.arm()  # the same tooltip, unescaped, does read the file
    _show_tooltip(qtbot, control.html())
    assert control.was_read()


def test_live_tile_tooltip_shows_the_models_reason_as_text(qtbot: Any, probes: tuple[ReadProbe, ReadProbe]) -> None:
    from studio.gui.qt_live_tile import SandboxTile
    from tests.qt.conftest import shown_text

    canary, _control = probes
    tile = SandboxTile("t1", "galculator")
    qtbot.addWidget(tile)
    tile.task, tile.reason, tile.last_action = f"task {canary.html()}", canary.html(), "typewrite('<b>')"
    tile.refresh_text()
    tip = tile.toolTip()
    assert "<img" not in tip and shown_text(tip).startswith("\n".join(v for v in tile.lines().values() if v))
    _show_tooltip(qtbot, tip)
    tile.grab()
    assert not canary.was_read()


def _hostile_workspace(path: Path, html: str) -> None:
    from studio.workspace import Document, Example, Step, Task, Trajectory, Verdict, Workspace
    from tests.qt.conftest import png_bytes

    with Workspace.init(path) as ws:
        doc = Document(source="man galculator", section="USAGE", text="Click the digits.", app="galculator")
        ws.add_documents([doc])
        ws.add_tasks([Task(instruction=f"task {html}", app="galculator", document_id=doc.id, check_reason=html)])
        traj = Trajectory(instruction=f"traj {html}", app="galculator", policy="explorer", model="explorer")
        ws.start_trajectory(traj)
        ws.add_step(Step(trajectory_id=traj.id, index=0, reason=html, width=320, height=200), screenshot=png_bytes())
        ws.finish_trajectory(traj.id, status="done", outcome="done", score=1.0)
        ex = Example(trajectory_id=traj.id, start=0, end=1, instruction=f"example {html}", app="galculator")
        ws.add_examples([ex])
        ws.add_verdicts([Verdict(example_id=ex.id, judge="j", criterion="aligned", vote=True, rationale=html)])


def test_views_show_model_text_as_text_and_read_no_file(
    qtbot: Any, tmp_path: Path, probes: tuple[ReadProbe, ReadProbe]
) -> None:
    from PySide6.QtCore import Qt

    from studio.gui.qt_main_window import MainWindow

    canary, _control = probes
    html = canary.html()
    _hostile_workspace(tmp_path / "ws", html)
    canary.arm()
    w = MainWindow(tmp_path / "ws", poll_ms=200)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.counts is not None, timeout=20000)
    tooltips: list[str] = []

    docs = w.show_view("docs")  # a document's tasks (QTableWidget) and every task (lazy model)
    qtbot.waitUntil(lambda: docs.model.loaded == 1, timeout=10000)
    docs.table.selectRow(0)
    qtbot.waitUntil(lambda: docs.tasks.rowCount() == 1, timeout=10000)
    tooltips += [docs.tasks.item(0, c).toolTip() for c in range(docs.tasks.columnCount())]
    tasks = docs.all_tasks
    docs.tabs.setCurrentWidget(tasks)
    qtbot.waitUntil(lambda: tasks.model.rowCount() == 1, timeout=10000)
    tooltips += [tasks.model.data(tasks.model.index(0, c), Qt.ItemDataRole.ToolTipRole) or "" for c in range(7)]

    examples = w.show_view("examples")
    examples.status_box.setCurrentIndex(examples.status_box.findData(""))
    qtbot.waitUntil(lambda: examples.model.loaded == 1, timeout=10000)
    examples.table.selectRow(0)
    qtbot.waitUntil(lambda: examples.verdicts.rowCount() == 1, timeout=10000)
    examples.grab()
    assert not canary.was_read(), "the example's instruction, shown as HTML, made the GUI read a host file"
    assert examples.instruction.textFormat() == Qt.TextFormat.RichText  # HTML we build, its values escaped
    assert "&lt;img" in examples.instruction.text() and "<img" not in examples.instruction.text()
    tooltips.append(examples.verdicts.item(0, 3).toolTip())
    tooltips += [
        examples.model.data(examples.model.index(0, c), Qt.ItemDataRole.ToolTipRole) or ""
        for c in range(examples.model.columnCount())
    ]

    trajectories = w.show_view("trajectories")
    qtbot.waitUntil(lambda: trajectories.model.loaded == 1, timeout=10000)
    trajectories.table.selectRow(0)
    header = trajectories.panel.header
    qtbot.waitUntil(lambda: "traj" in header.text(), timeout=10000)
    assert "&lt;img" in header.text() and "<img" not in header.text()
    trajectories.grab()

    w.notifications.show_error(f"rollout failed: {html}", details=html)  # errors quote model text
    assert w.notifications.label.textFormat() == Qt.TextFormat.PlainText
    w.grab()

    shown = [t for t in tooltips if "img" in t]
    assert len(shown) >= 5  # instruction and reason tooltips of both task lists, the rationale, the example
    for tip in shown:
        assert "<img" not in tip and "&lt;img" in tip
        _show_tooltip(qtbot, tip)
    assert not canary.was_read()
    w.timer.stop()
    w.pool.wait(5000)
