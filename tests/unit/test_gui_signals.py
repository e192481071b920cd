"""What the pipeline knows, as the GUI reads it (Qt-free): every task with its check status, runs and score
(imported ones too), the judges' accuracy and advisory marks, a task as a rollout job ("run it"), the
pipeline's stage progress file, and the changed regions between two screens."""

from __future__ import annotations

import io
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from studio.gui.compare import changed_regions
from studio.pipeline.progress import PROGRESS_NAME, ProgressFile, TeeObserver, read_progress
from studio.workspace import Task, Trajectory, Workspace

CHECK = {
    "config": [{"type": "launch_app", "parameters": {"name": "galculator"}}],
    "evaluator": {
        "func": "a11y_contains",
        "result": {"type": "accessibility_tree"},
        "expected": {"type": "rule", "rules": {"include": [{"text": "42"}]}},
    },
}


def _png(w: int, h: int, box: tuple[int, int, int, int] | None = None) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), (30, 30, 30))
    if box:
        ImageDraw.Draw(img).rectangle(box, fill=(250, 250, 250))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_changed_regions_box_what_changed() -> None:
    before = _png(640, 400)
    after = _png(640, 400, (300, 100, 379, 139))  # an 80x40 patch lit up
    boxes = changed_regions(before, after)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert x <= 300 and y <= 100 and x + w >= 380 and y + h >= 140  # covers the patch
    assert w <= 80 + 2 * 32 and h <= 40 + 2 * 32  # and not much more (cells of 32 px)
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 400), (30, 30, 30))
    ImageDraw.Draw(img).rectangle((10, 10, 49, 29), fill=(250, 250, 250))
    ImageDraw.Draw(img).rectangle((500, 300, 619, 379), fill=(250, 250, 250))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    two = changed_regions(before, buf.getvalue())
    assert len(two) == 2 and two[0][2] * two[0][3] > two[1][2] * two[1][3]  # apart: two boxes, largest first
    assert changed_regions(before, before) == []
    assert changed_regions(before, b"") == []
    assert changed_regions(before, _png(320, 200)) == [(0, 0, 320, 200)]  # resized: everything changed


def _workspace(path: Path) -> Workspace:
    ws = Workspace.init(path)
    text = (path / "studio.toml").read_text()
    start, end = text.index("\n[[roles.judges]]") + 1, text.index("\n[roles.query_writer]") + 1  # the committee
    text = (
        text[:start] + '[[roles.judges]]\nmodel = "local/qwen2.5-coder-1.5b"\naccuracy = 0.52\n\n'
        '[[roles.judges]]\nmodel = "openai/gpt-4o-mini"\naccuracy = 0.81\n\n'
        '[[roles.judges]]\nmodel = "local/qwen2.5-coder-0.5b"\n\n' + text[end:]
    )
    assert "accuracy = 0.81" in text
    (path / "studio.toml").write_text(text)
    ws.close()
    ws = Workspace.open(path)
    ws.add_tasks(
        [
            Task(
                id="t-proven",
                instruction="Multiply 6 by 7",
                app="galculator",
                check=CHECK,
                check_status="proven",
                check_reason="",
            ),
            Task(
                id="t-imported",
                instruction="Type 42",
                app="galculator",
                origin="imported",
                check=CHECK,
                check_status="unverified",
                check_reason="no-op scored 1.0",
            ),
            Task(id="t-plain", instruction="Explore the menus", app="galculator"),
        ]
    )
    for score, started in ((0.0, 1.0), (1.0, 2.0)):
        t = Trajectory(task_id="t-proven", instruction="Multiply 6 by 7", app="galculator", started=started)
        ws.start_trajectory(t)
        ws.finish_trajectory(t.id, status="done", outcome="done", score=score)
    ws.start_trajectory(Trajectory(task_id="t-imported", app="galculator"))  # still running: not a run yet
    return ws


def test_every_task_with_check_runs_and_score_and_the_judges(tmp_path: Path) -> None:
    from studio.gui.data_workspace import WorkspaceData

    _workspace(tmp_path / "ws").close()
    data = WorkspaceData(tmp_path / "ws")
    try:
        assert data.count_tasks() == 3
        rows = {t.id: t for t in data.tasks(0, 10)}
        assert (rows["t-proven"].check_text, rows["t-proven"].runs, rows["t-proven"].score) == ("proven", 2, 1.0)
        imported = rows["t-imported"]
        assert imported.origin == "imported" and imported.document_id == ""
        assert imported.check_text == "unverified: no-op scored 1.0" and imported.runs == 0 and imported.score is None
        assert rows["t-plain"].check_text == "unverified: no check"
        assert [t.id for t in data.tasks(1, 1)] == [list(rows)[1]]  # paged
        judges = {j.label: j for j in data.judges()}
        assert judges["local/qwen2.5-coder-1.5b"].mark == "acc 0.52 · advisory"  # below the default floor
        assert judges["openai/gpt-4o-mini"].mark == "acc 0.81" and not judges["openai/gpt-4o-mini"].advisory
        assert judges["local/qwen2.5-coder-0.5b"].mark == "not measured"
    finally:
        data.close()


def test_run_it_makes_the_pipelines_job(tmp_path: Path) -> None:
    from studio.errors import WorkspaceError
    from studio.gui.task_run import rollout_job

    ws = _workspace(tmp_path / "ws")
    try:
        job = rollout_job(ws, "t-proven", "explorer", 5)
        assert job.task.id == "t-proven" and job.evaluate and job.app == "galculator" and job.max_steps == 5
        assert job.task.evaluator.func == "a11y_contains" and job.policy["kind"] == "explorer"
        assert (job.width, job.height) == (ws.config.sandbox.width, ws.config.sandbox.height)
        plain = rollout_job(ws, "t-imported", "model", None)  # unverified: the bare instruction, not scored
        assert not plain.evaluate and plain.task.evaluator.func == "infeasible"
        assert plain.max_steps == ws.config.pipeline.max_steps and plain.policy["workspace"] == str(ws.path)
        with pytest.raises(WorkspaceError, match="no task"):
            rollout_job(ws, "nope", "explorer")
    finally:
        ws.close()


def test_progress_file_follows_the_stages(tmp_path: Path) -> None:
    assert read_progress(tmp_path) is None
    pf = ProgressFile(tmp_path)
    seen: list[str] = []

    class Echo:
        def stage_started(self, stage: str, total: int) -> None:
            seen.append(f"start {stage} {total}")

        def advanced(self, stage: str, n: int = 1, *, detail: str = "") -> None:
            seen.append(f"adv {stage}")

        def stage_finished(self, summary: object) -> None:
            seen.append("finish")

        def event(self, event: object) -> None:
            seen.append("event")

    tee = TeeObserver(Echo(), pf)
    tee.stage_started("backward", 3)
    for _ in range(2):
        tee.advanced("backward", detail="2 examples")
    tee.event(object())
    run = read_progress(tmp_path)
    assert run is not None and run.running and run.pid == os.getpid()
    stage = run.stages[0]
    assert stage.stage == "backward" and stage.total == 3 and stage.state == "running"
    # throttled: the file has the start for sure, the advances once half a second passed
    assert stage.done in (0, 1, 2)
    tee.stage_finished(SimpleNamespace(stage="backward", done=4, skipped=1, failed=0))
    run = read_progress(tmp_path)
    assert run is not None
    done = run.stages[0]
    assert (done.state, done.done, done.new, done.fraction) == ("finished", 2, 4, 1.0)
    pf.close()
    run = read_progress(tmp_path)
    assert run is not None and not run.running and run.finished is not None
    assert seen == ["start backward 3", "adv backward", "adv backward", "event", "finish"]
    (tmp_path / PROGRESS_NAME).write_text('{"pid": 1, "stages": [')  # torn
    assert read_progress(tmp_path) is None


def test_tasks_imported_with_the_cli_are_listed_with_their_status(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from envs.tasks import BUNDLED_TASKS_DIR
    from studio.cli import app
    from studio.gui.data_workspace import WorkspaceData

    Workspace.init(tmp_path / "ws").close()
    out = CliRunner().invoke(
        app, ["tasks", "import", str(BUNDLED_TASKS_DIR / "galculator"), "-w", str(tmp_path / "ws"), "--no-verify"]
    )
    assert out.exit_code == 0, out.output
    data = WorkspaceData(tmp_path / "ws")
    try:
        rows = data.tasks(0, 100)
        assert data.count_tasks() == len(rows) == 4
        assert {(t.origin, t.check_text, t.document_id, t.runs) for t in rows} == {("imported", "pending", "", 0)}
    finally:
        data.close()
